"""The gateway under the production server (`python -m portal.serve`: uvicorn,
portal.asgi), as a caller on the network sees it: odd paths, broken streams,
records on shutdown, and keys revoked while other processes have them cached."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings

BASE = Path(django_settings.BASE_DIR)
PYTHON = sys.executable
REDIS_URL = os.getenv("REDIS_URL") or "redis://127.0.0.1:6379/0"
CHUNK = b"z" * 65536

SETUP = """
import json
from django.contrib.auth import get_user_model
from apis.models import Api, Operation, Product
from subscriptions import services
product = Product.objects.create(name="Plenty", slug="plenty", rate_limit_calls=10000, rate_limit_period=60,
                                 quota_calls=100000, quota_period=86400)
api = Api.objects.create(name="Echo", slug="echo", path="echo", service_url="%(backend)s")
api.products.add(product)
for template in ("/ok", "/chunked", "/cut"):
    Operation.objects.create(api=api, method="GET", url_template=template, display_name=template)
user = get_user_model().objects.create_user("erin", "erin@example.com", "erin's long password")
sub = services.subscribe(user=user, product=product, name="App")
print(json.dumps({"key": sub.primary_key, "secondary": sub.secondary_key, "sub": sub.pk}))
"""


class Backend(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        try:
            if self.path.endswith("/chunked"):  # 1 MiB, no Content-Length
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for _ in range(16):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
                self.wfile.write(b"0\r\n\r\n")
            elif self.path.endswith("/cut"):  # says 384 KiB (streamed), sends 128 KiB and hangs up
                self.send_response(200)
                self.send_header("Content-Length", str(6 * len(CHUNK)))
                self.end_headers()
                for _ in range(2):
                    self.wfile.write(CHUNK)
                self.wfile.flush()
                self.close_connection = True
            else:
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    backend = ThreadingHTTPServer(("127.0.0.1", 0), Backend)
    backend.daemon_threads = True
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    var = tmp_path_factory.mktemp("var")
    env = os.environ | {
        "PORTAL_VAR_DIR": str(var),
        "DEBUG": "0",
        "SECRET_KEY": "test-secret-key-for-the-gateway-server-test-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "GATEWAY_ENFORCE_SCHEME": "0",
        "CACHE_KEY_PREFIX": f"gw-server-test-{uuid.uuid4().hex}",
    }
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("REDIS_URL", None)
    run = dict(cwd=BASE, env=env, check=True, capture_output=True, text=True)
    subprocess.run([PYTHON, "manage.py", "migrate", "--no-input", "-v0"], **run)
    backend_url = f"http://127.0.0.1:{backend.server_port}/base"
    out = subprocess.run([PYTHON, "manage.py", "shell", "-c", SETUP % {"backend": backend_url}], **run).stdout
    info = json.loads(out.strip().splitlines()[-1])
    yield {"env": env, "db": var / "portico.sqlite3", **info}
    backend.shutdown()


def serve(site, **env):
    port = free_port()
    proc = subprocess.Popen(
        [PYTHON, "-m", "portal.serve"],
        cwd=BASE,
        env=site["env"] | {"PORT": str(port), "WEB_CONCURRENCY": "1"} | env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/gateway/", timeout=5)
            return proc, url
        except requests.RequestException:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read()) from None
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the server did not start")


def stop(proc) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:  # pragma: no cover
        proc.kill()


def shell(site, code: str) -> None:
    """Run code in another process, as an administrator's change would be."""
    subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", code], cwd=BASE, env=site["env_used"], check=True, capture_output=True
    )


def records(site, where: str = "1=1", *params) -> list[tuple]:
    with sqlite3.connect(site["db"]) as db:
        return db.execute(
            f"SELECT request_id, status, outcome, path FROM gateway_call WHERE {where}", params
        ).fetchall()


def wait_for_record(site, request_id: str) -> tuple:
    for _ in range(100):
        found = records(site, "request_id = ?", request_id)
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no record {request_id}")


@pytest.fixture(scope="module")
def server(site):
    proc, url = serve(site, GATEWAY_MAX_RESPONSE_BYTES=str(512 * 1024))
    yield url
    stop(proc)


def raw_get(url: str, path: str, key: str | None = None) -> http.client.HTTPResponse:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", path, headers={"Ocp-Apim-Subscription-Key": key} if key else {})
    return conn.getresponse()


@pytest.mark.parametrize("path", ["/gateway/echo/%0A", "/gateway/echo/ok%0A", "/gateway/%FF/ok", "/gateway/echo/%ZZ"])
def test_an_undecodable_or_newline_path_gets_the_gateways_json_404_and_a_record(site, server, path):
    response = raw_get(server, path, site["key"])
    assert response.status == 404
    assert response.getheader("Content-Type") == "application/json"
    assert json.loads(response.read()) == {"statusCode": 404, "message": "Resource not found"}
    request_id = response.getheader("X-Portico-Request-Id")
    assert wait_for_record(site, request_id)[1:] == (404, "no_match", path)


def test_a_stream_past_the_size_limit_aborts_the_callers_connection(site, server):
    response = raw_get(server, "/gateway/echo/chunked", site["key"])
    assert response.status == 200  # the status went out before the limit was passed
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    record = wait_for_record(site, response.getheader("X-Portico-Request-Id"))
    assert record[2] == "backend_error"


def test_a_stream_the_backend_breaks_off_aborts_the_callers_connection(site, server):
    response = raw_get(server, "/gateway/echo/cut", site["key"])
    assert response.status == 200 and response.getheader("Content-Length") == str(6 * len(CHUNK))
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    assert wait_for_record(site, response.getheader("X-Portico-Request-Id"))[2] == "backend_error"


def test_a_clean_shutdown_writes_every_queued_record(site):
    proc, url = serve(site)
    session = requests.Session()
    ids = [
        session.get(url + "/gateway/echo/ok", headers={"Ocp-Apim-Subscription-Key": site["key"]}).headers[
            "X-Portico-Request-Id"
        ]
        for _ in range(150)
    ]
    stop(proc)  # at once: the last records are still queued
    # uvicorn shuts down cleanly, then re-raises the SIGTERM (so no atexit hook runs).
    assert "Application shutdown complete" in proc.stderr.read()
    written = {r[0] for r in records(site, "path = '/gateway/echo/ok'")}
    assert set(ids) <= written


@pytest.fixture
def with_redis(site):
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except Exception:
        if os.getenv("CI") or os.getenv("REDIS_URL"):
            raise
        pytest.skip(f"No Redis at {REDIS_URL}")
    site["env_used"] = site["env"] | {"REDIS_URL": REDIS_URL}
    return site["env_used"]


def test_a_revoked_key_stops_working_at_once_in_every_process_that_cached_it(site, with_redis):
    servers = [serve(site, REDIS_URL=REDIS_URL) for _ in range(2)]
    sub = site["sub"]

    def statuses(key: str) -> list[int]:
        return [
            requests.get(url + "/gateway/echo/ok", headers={"Ocp-Apim-Subscription-Key": key}, timeout=10).status_code
            for _, url in servers
        ]

    try:
        assert statuses(site["key"]) == [200, 200]  # now cached in both
        shell(site, f"from subscriptions.models import Subscription; Subscription.objects.get(pk={sub}).suspend()")
        assert statuses(site["key"]) == [401, 401]
        shell(site, f"from subscriptions.models import Subscription; Subscription.objects.get(pk={sub}).reactivate()")
        assert statuses(site["key"]) == [200, 200]
        shell(
            site,
            f"from subscriptions.models import Subscription; Subscription.objects.get(pk={sub}).regenerate('primary')",
        )
        assert statuses(site["key"]) == [401, 401]
        assert statuses(site["secondary"]) == [200, 200]
        shell(site, f"from subscriptions.models import Subscription; Subscription.objects.get(pk={sub}).cancel()")
        assert statuses(site["secondary"]) == [401, 401]
    finally:
        for proc, _ in servers:
            stop(proc)
