"""RRS latency for one row (the guide's request): p50/p99 at concurrency 1 and 16.

    .venv/bin/python bench/rrs.py [--requests 2000] [--server gunicorn|runserver]

Starts its own server on a free port with its own SQLite database in a
temporary folder (DEBUG off, gunicorn gthread by default: 2 workers x 8
threads), loads the demo web service with `load_demo --json`, then measures
POST .../execute?api-version=2.0&details=true end to end from a client with
keep-alive connections (one requests.Session per client thread).
"""

from __future__ import annotations

import argparse
import json
import os
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(url: str, key: str, concurrency: int, total: int) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    errors = [0]
    per_thread = total // concurrency
    lock = threading.Lock()

    def client() -> None:
        session = requests.Session()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
        mine = []
        for _ in range(per_thread):
            t = time.perf_counter()
            response = session.post(url, data=BODY, headers=headers, timeout=30)
            mine.append(time.perf_counter() - t)
            if response.status_code != 200:
                errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - start, errors[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--server", choices=["gunicorn", "runserver"], default="gunicorn")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-rrs-"))
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
        "PORTAL_VAR_DIR": str(tmp),
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    demo = json.loads(
        subprocess.run(
            [python, "manage.py", "load_demo", "--json"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        ).stdout
    )
    if args.server == "gunicorn":
        command = [
            str(Path(python).parent / "gunicorn"),
            "portal.wsgi",
            "-k",
            "gthread",
            "-w",
            "2",
            "--threads",
            "8",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ]
    else:
        command = [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}/ml/workspaces/{demo['workspace_id']}/services/{demo['service_id']}/execute?api-version=2.0&details=true"
    try:
        for _ in range(100):
            try:
                requests.get(url, timeout=5)  # 405 in AzureML's error shape once up
                break
            except requests.RequestException:
                time.sleep(0.1)
        check = requests.post(
            url,
            data=BODY,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {demo['api_key']}"},
            timeout=10,
        )
        assert check.json()["Results"]["output1"]["value"]["Values"][0][1:] == [
            "1",
            "1",
            "2",
            "2",
            "0",
            "2",
            "0",
            "1",
        ], check.text
        run(url, demo["api_key"], 4, 200)  # warm up
        print(
            f"server: {args.server}; one-row RRS requests, {args.requests} per run; load average {os.getloadavg()[0]:.1f}"
        )
        print(f"{'concurrency':>11}  {'p50 ms':>7}  {'p99 ms':>7}  {'req/s':>7}  errors")
        for concurrency in (1, 16):
            total = args.requests if concurrency > 1 else max(200, args.requests // 4)
            latencies, wall, errors = run(url, demo["api_key"], concurrency, total)
            print(
                f"{concurrency:>11}  {percentile(latencies, 50) * 1000:>7.2f}  {percentile(latencies, 99) * 1000:>7.2f}  "
                f"{len(latencies) / wall:>7.0f}  {errors}"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
