"""Gateway latency while one address floods the log-in page with wrong passwords.

    .venv/bin/python bench/login_flood.py [--calls 300] [--flooders 16]

Each scenario starts its own server (python -m portal.serve, as make run) on a free
port with its own SQLite database in a temporary folder, then measures
gateway calls (the guide's RRS request through /gateway/, one at a time):

* quiet: nobody logs in;
* flood, protected: FLOODERS threads post wrong passwords to /accounts/login/
  as fast as they can, with the defaults (django-axes lockouts, the
  per-address limit on attempts);
* flood, unprotected: the same flood with both turned off (limits of 10^9),
  as before issue 12: every attempt hashes a password.

The quiet run is the reference, measured in the same run on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BODY = json.dumps(
    {"Inputs": {"input1": {"ColumnNames": ["Col2"], "Values": [["This is a good day"]]}}, "GlobalParameters": {}}
)
SETUP = """
import json
from django.contrib.auth import get_user_model
from apis import demo
from apis.models import Product
from mlservice import demo as ml_demo
from subscriptions.models import Subscription
api = demo.load()
service = ml_demo.load(api)
user = get_user_model().objects.create_user("erin", "erin@example.com", "erin's long password")
unlimited = Product.objects.get(slug="unlimited")
api.products.add(unlimited)
sub = Subscription.objects.create(user=user, product=unlimited, name="Load", state="active")
print(json.dumps({"key": sub.primary_key, "ws": service.workspace_id, "svc": service.service_id,
                  "api_key": service.primary_key, "path": api.path}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def flood(base: str, stop: threading.Event, counts: dict, lock: threading.Lock) -> None:
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=30).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    n = 0
    while not stop.is_set():
        n += 1
        response = session.post(
            f"{base}/accounts/login/",
            {"csrfmiddlewaretoken": token, "username": f"victim{n % 50}@example.com", "password": f"guess {n}"},
            headers={"Referer": f"{base}/accounts/login/"},
            timeout=60,
        )
        with lock:
            counts[response.status_code] = counts.get(response.status_code, 0) + 1


def scenario(name: str, calls: int, flooders: int, extra_env: dict) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-login-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")} | {
        "PORTAL_VAR_DIR": str(tmp),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": base,
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "GATEWAY_RECORD_ASYNC": "1",
        **extra_env,
    }
    python = sys.executable
    run = dict(cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    subprocess.run([python, "manage.py", "migrate", "-v0"], **run)
    subprocess.run([python, "manage.py", "collectstatic", "--no-input", "-v0"], **run)
    info = json.loads(
        subprocess.run([python, "manage.py", "shell", "-c", SETUP], **run).stdout.strip().splitlines()[-1]
    )
    server = subprocess.Popen(
        [python, "-m", "portal.serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = (
        f"{base}/gateway/{info['path']}/workspaces/{info['ws']}/services/{info['svc']}/execute"
        "?api-version=2.0&details=true"
    )
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {info['api_key']}",
        "Ocp-Apim-Subscription-Key": info["key"],
    }
    stop, lock, counts = threading.Event(), threading.Lock(), {}
    threads: list[threading.Thread] = []
    try:
        for _ in range(200):
            try:
                requests.get(f"{base}/apis/", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.1)
        session = requests.Session()
        for _ in range(20):  # warm up
            assert session.post(url, data=BODY, headers=headers, timeout=30).status_code == 200
        if flooders:
            threads = [threading.Thread(target=flood, args=(base, stop, counts, lock)) for _ in range(flooders)]
            for thread in threads:
                thread.start()
            time.sleep(2)
        latencies, errors = [], 0
        started = time.perf_counter()
        for _ in range(calls):
            t = time.perf_counter()
            response = session.post(url, data=BODY, headers=headers, timeout=60)
            latencies.append(time.perf_counter() - t)
            errors += response.status_code != 200
        wall = time.perf_counter() - started
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        attempts = sum(counts.values())
        refused = counts.get(429, 0)
        print(
            f"{name:<22} {percentile(latencies, 50) * 1000:>7.1f} {percentile(latencies, 99) * 1000:>8.1f} "
            f"{errors:>6}  {attempts / (wall + 2) if flooders else 0:>9.0f}  {refused / max(attempts, 1):>8.0%}"
        )
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--flooders", type=int, default=16)
    args = parser.parse_args()
    print(
        f"gateway RRS calls one at a time ({args.calls} per scenario), {args.flooders} threads flooding the log-in "
        f"page; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'scenario':<22} {'p50 ms':>7} {'p99 ms':>8} {'errors':>6}  {'logins/s':>9}  {'got 429':>8}")
    scenario("quiet (reference)", args.calls, 0, {})
    scenario("flood, protected", args.calls, args.flooders, {})
    unprotected = {"AXES_FAILURE_LIMIT": "1000000000", "ACCOUNTS_ATTEMPTS_PER_MINUTE": "1000000000"}
    scenario("flood, unprotected", args.calls, args.flooders, unprotected)


if __name__ == "__main__":
    main()
