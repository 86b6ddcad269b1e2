"""`make run`, for real: the product's main way to run, as a visitor and an operator see it.

Two `make run`s of this checkout on two ports, each with its own PORTAL_VAR_DIR
and an empty HOME: DEBUG is off unless asked for (the portal's own 404 page,
static files by whitenoise, plain http on 127.0.0.1), nothing is shared
between the two, and a killed batch worker is replaced while the portal
stays up.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a make-run admin password"
# What the test runner's own environment must not hand to `make run`.
CLEARED = (
    "DEBUG",
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "SITE_URL",
    "STATIC_ROOT",
    "CACHE_KEY_PREFIX",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "PORTICO_PORT",
    "AZURITE_BLOB_PORT",
    "AZURITE_LOCATION",
    "XDG_RUNTIME_DIR",
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
)


def free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def portal_port() -> int:
    """A free port whose Azurite port (PORT + 2000, as the Makefile derives it) is free too."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 2000 < 65536 and free(port + 2000):
            return port
    raise RuntimeError("no free pair of ports")


class Run:
    def __init__(self, tmp: Path, name: str, home: Path) -> None:
        self.port = portal_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.var = tmp / name
        self.log = (tmp / f"{name}.log").open("w")
        env = {k: v for k, v in os.environ.items() if k not in CLEARED} | {
            "PORT": str(self.port),
            "PORTAL_VAR_DIR": str(self.var),
            "PORTAL_ADMIN_PASSWORD": PASSWORD,
            "HOME": str(home),
        }
        self.process = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_until_up(self, timeout: float = 150) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                if requests.get(self.url + "/apis/", timeout=5).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        raise AssertionError("make run did not answer in time:\n" + self.output())

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()[-4000:]

    def processes(self) -> dict[int, str]:
        """Our processes (pid: command line) that belong to this run, found by its PORTAL_VAR_DIR."""
        found = {}
        marker = f"PORTAL_VAR_DIR={self.var}\0".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if marker in (entry / "environ").read_bytes():
                    found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
        return found

    def worker_pids(self) -> set[int]:
        return {
            pid
            for pid, cmd in self.processes().items()
            if "manage.py mlworker" in cmd and "--supervise" not in cmd and "/bin/sh" not in cmd
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)  # Ctrl-C, as a person stops it
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        for pid in self.processes():  # anything honcho left behind
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.ConnectionError:
        return False


def azurite_answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/devstoreaccount1?comp=list", timeout=5).status_code > 0
    except requests.ConnectionError:
        return False


def wait_for(predicate, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    if not (ROOT / "node_modules" / ".bin" / "azurite-blob").exists():
        pytest.skip("Azurite is not installed: run `npm ci`, as `make test` does.")
    tmp = tmp_path_factory.mktemp("make-run")
    home = tmp / "home"
    home.mkdir()
    first, second = Run(tmp, "first", home), Run(tmp, "second", home)
    try:
        first.wait_until_up()
        second.wait_until_up()
        yield first, second, home
    finally:
        second.stop()
        first.stop()


def test_an_unknown_page_is_the_portals_own_404(runs):
    first, _, _ = runs
    response = requests.get(first.url + "/no/such/page/", timeout=10)
    assert response.status_code == 404
    assert "There is nothing at this address" in response.text
    # Not Django's technical 404, which lists the URL patterns and settings.
    assert "URLconf" not in response.text and "DEBUG = True" not in response.text


def test_static_files_are_served_by_whitenoise(runs):
    first, _, _ = runs
    page = requests.get(first.url + "/", timeout=10).text
    stylesheet = re.search(r'href="(/static/css/[^"]+\.css)"', page).group(1)
    assert stylesheet != "/static/css/portico.css"  # the hashed name of collectstatic's manifest
    response = requests.get(first.url + stylesheet, timeout=10)
    assert response.status_code == 200 and "text/css" in response.headers["Content-Type"]


def test_logging_in_works_on_plain_http(runs):
    first, _, _ = runs
    session = requests.Session()
    page = session.get(first.url + "/accounts/login/", timeout=10, allow_redirects=False)
    assert page.status_code == 200  # no redirect to https
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        first.url + "/accounts/login/",
        {"csrfmiddlewaretoken": token, "username": "admin", "password": PASSWORD},
        headers={"Referer": first.url + "/accounts/login/"},
        timeout=30,
        allow_redirects=False,
    )
    assert response.status_code == 302 and response.headers["Location"] == "/accounts/profile/"


def test_two_runs_share_no_port_socket_or_data(runs):
    first, second, home = runs
    assert first.port != second.port
    for run in (first, second):
        assert (run.var / "portico.sqlite3").exists()
        assert (run.var / "azurite").is_dir()  # each run's own Azurite data
        # Its own Azurite, on the port derived from its PORT, answers (any HTTP status);
        # it may start a moment after the portal does.
        assert wait_for(lambda port=run.port + 2000: azurite_answers(port)), run.output()
    # Nothing of either run in the (shared) home directory: no control socket there.
    assert [p.relative_to(home) for p in home.rglob("*") if p.is_socket()] == []


def test_a_killed_worker_is_replaced_while_the_portal_stays_up(runs):
    first, _, _ = runs
    assert wait_for(lambda: len(first.worker_pids()) == 1), first.processes()
    (killed,) = first.worker_pids()
    os.kill(killed, signal.SIGKILL)
    assert wait_for(lambda: first.worker_pids() - {killed}, timeout=30), first.output()
    assert answers(first.url + "/apis/")
    assert first.process.poll() is None


def test_stopping_one_run_leaves_the_other_serving(runs):
    first, second, _ = runs
    second.stop()
    assert not answers(second.url + "/apis/")
    assert answers(first.url + "/apis/")
    assert first.process.poll() is None
