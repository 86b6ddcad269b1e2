"""The console under the production server: `python -m portal.serve` (uvicorn, portal.asgi).

The console runs inside a portal request and calls the gateway of the same
portal. These tests start the real server, with its real configuration,
against a fresh SQLite database, and send from the console over real HTTP.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings

BASE = Path(django_settings.BASE_DIR)
PYTHON = sys.executable

SETUP = """
import json
from django.contrib.auth import get_user_model, SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from apis import demo
from apis.models import Api, Operation, Product
from subscriptions.models import Subscription
from mlservice import demo as ml_demo
api = demo.load()
service = ml_demo.load(api)
user = get_user_model().objects.create_user("erin", "erin@example.com", "erin's long password")
unlimited = Product.objects.get(slug="unlimited")
api.products.add(unlimited)  # no rate limit, for many calls at once
Subscription.objects.create(user=user, product=unlimited, name="Load", state="active")
echo = Api.objects.create(name="Echo", path="echo", service_url="%(backend)s", subscription_required=False)
op = Operation.objects.create(api=echo, method="GET", url_template="/things/{name}", display_name="Get thing")
session = SessionStore()
session[SESSION_KEY], session[BACKEND_SESSION_KEY] = str(user.pk), "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(json.dumps({"session": session.session_key, "echo_op": op.pk,
                  "rrs_op": api.operations.get(display_name="RRS Execute").pk,
                  "ws": service.workspace_id, "svc": service.service_id, "key": service.primary_key}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory, request):
    """A migrated database with the demo, a developer and an echo API, and the env to serve it."""
    tiny = request.getfixturevalue("module_tiny_server")
    var = tmp_path_factory.mktemp("var")
    port = free_port()
    env = os.environ | {
        "PORTAL_VAR_DIR": str(var),
        "STATIC_ROOT": str(var / "static"),
        "PORT": str(port),
        "SITE_URL": f"http://127.0.0.1:{port}",
        "DEBUG": "0",
        "SECRET_KEY": "test-secret-key-for-the-console-server-test-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "GATEWAY_ENFORCE_SCHEME": "0",
        "CONSOLE_TIMEOUT": "10",
    }
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    run = dict(cwd=BASE, env=env, check=True, capture_output=True, text=True)
    subprocess.run([PYTHON, "manage.py", "migrate", "--no-input", "-v0"], **run)
    subprocess.run([PYTHON, "manage.py", "collectstatic", "--no-input", "-v0"], **run)
    out = subprocess.run([PYTHON, "manage.py", "shell", "-c", SETUP % {"backend": tiny.url + "/x/y"}], **run).stdout
    info = json.loads(out.strip().splitlines()[-1])
    return {"env": env, "port": port, "url": f"http://127.0.0.1:{port}", "tiny": tiny, **info}


@pytest.fixture(scope="module")
def module_tiny_server():
    import threading
    from http.server import ThreadingHTTPServer

    from tests.console.conftest import Handler

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    server.server_close()


def serve(site, **env):
    """python -m portal.serve, waiting until it answers."""
    proc = subprocess.Popen(
        [PYTHON, "-m", "portal.serve"],
        cwd=BASE,
        env=site["env"] | env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(site["url"] + "/apis/", timeout=5)
            return proc
        except requests.RequestException:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read()) from None
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the server did not start")


def stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        proc.kill()


def developer(site) -> requests.Session:
    s = requests.Session()
    s.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))
    s.cookies.set(django_settings.SESSION_COOKIE_NAME, site["session"])
    s.get(f"{site['url']}/console/{site['echo_op']}/", timeout=10)  # sets the CSRF cookie
    s.headers.update({"X-CSRFToken": s.cookies["csrftoken"], "HX-Request": "true"})
    return s


def test_a_send_needs_no_second_server_thread(site):
    """One worker with one thread: in-process, the Send cannot wait for itself."""
    proc = serve(site, WEB_CONCURRENCY="1", ASGI_THREADS="1")
    try:
        s = developer(site)
        started = time.monotonic()
        answer = s.post(f"{site['url']}/console/{site['echo_op']}/send/", {"p_name": "solo"}, timeout=15)
        assert time.monotonic() - started < 5
        assert answer.status_code == 200
        assert "200 OK" in answer.text and "/x/y/things/solo" in answer.text
    finally:
        stop(proc)


def test_over_http_the_same_server_no_longer_deadlocks_either(site):
    """The former control experiment: under gunicorn with one thread, a Send over
    the network waited for itself and timed out. The gateway now answers on the
    event loop, not on a portal thread, so over HTTP the Send gets through too."""
    proc = serve(site, WEB_CONCURRENCY="1", ASGI_THREADS="1", CONSOLE_TRANSPORT="http", CONSOLE_TIMEOUT="5")
    try:
        started = time.monotonic()
        answer = developer(site).post(f"{site['url']}/console/{site['echo_op']}/send/", {"p_name": "x"}, timeout=15)
        assert time.monotonic() - started < 5
        assert answer.status_code == 200
        assert "200 OK" in answer.text and "/x/y/things/x" in answer.text
    finally:
        stop(proc)


def test_many_walkthrough_sends_at_once_under_the_production_configuration(site):
    # portal/serve.py as it is; one developer may send 32 at once here (2 by
    # default), to load the server.
    proc = serve(site, CONSOLE_SENDS_PER_DEVELOPER="32")
    data = {
        "p_workspace": site["ws"],
        "p_service": site["svc"],
        "p_apiversion": "2.0",
        "p_details": "true",
        "h_name": ["Content-Type", "Authorization"],
        "h_value": ["application/json", f"Bearer {site['key']}"],
        "subscription": "1:primary",
        "body": json.dumps(
            {
                "Inputs": {"input1": {"ColumnNames": ["Col2"], "Values": [["This is a good day"]]}},
                "GlobalParameters": {},
            }
        ),
    }
    try:
        s = developer(site)
        url = f"{site['url']}/console/{site['rrs_op']}/send/"
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda _: s.post(url, data, timeout=30), range(32)))
        assert [a.status_code for a in answers] == [200] * 32
        assert all("200 OK" in a.text for a in answers), answers[0].text[:2000]
    finally:
        stop(proc)
