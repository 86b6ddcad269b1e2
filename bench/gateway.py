#!/usr/bin/env python3
"""Benchmark the gateway against a direct call and a bare requests proxy view.

    .venv/bin/python bench/gateway.py               # the full run (about 2 minutes)
    .venv/bin/python bench/gateway.py --quick       # 3-second runs
    .venv/bin/python bench/gateway.py --workers 2 --threads 128
    .venv/bin/python bench/gateway.py --set DATABASE_URL=postgres://postgres@127.0.0.1:5432/portico_gwbench
        # PostgreSQL (the production setup): an existing database, emptied first

Everything runs on loopback: two tiny asyncio backends (one answers at once,
one after 200 ms), the portal under gunicorn (gunicorn.conf.py, with a fresh
SQLite database in a temporary directory, counters in the local Redis under a
prefix of their own), and wrk as the load generator.
Each run is bounded by wrk's duration; every process started here is stopped
at the end.

This file deliberately imports no Django: run as a script, its directory
comes first on sys.path, where "gateway" would be this file.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
BODY = b'{"Results": {"output1": {"value": {"Values": [["1", "1", "2", "2", "0", "2", "0", "1"]]}}}}'


# --- the backends -----------------------------------------------------------


class Backend(asyncio.Protocol):
    delay = 0.0

    def connection_made(self, transport):
        self.transport, self.buffer = transport, b""

    def data_received(self, data):
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            if length:
                self.buffer = self.buffer[int(length.group(1)) :]
            answer = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(BODY)).encode()
                + b"\r\n\r\n"
                + BODY
            )
            if self.delay:
                asyncio.get_running_loop().call_later(self.delay, self._write, answer)
            else:
                self.transport.write(answer)

    def _write(self, answer):
        if not self.transport.is_closing():
            self.transport.write(answer)


def serve_backend(port: int, delay: float) -> None:
    Backend.delay = delay

    async def main():
        server = await asyncio.get_running_loop().create_server(Backend, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# --- orchestration ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


SETUP = """
from django.contrib.auth import get_user_model
from apis.models import Api, Operation, Product
from subscriptions import services
# Limits far above what the bench reaches, so that every call goes through
# the counters as a real one does.
product = Product.objects.create(name="Bench", slug="bench", rate_limit_calls=5000, rate_limit_period=1,
                                 quota_calls=10**9, quota_period=86400)
for suffix, port in (("fast", {fast}), ("slow", {slow})):
    api = Api.objects.create(name=suffix, slug=suffix, path=suffix, service_url=f"http://127.0.0.1:{{port}}", url_schemes="http")
    api.products.add(product)
    Operation.objects.create(api=api, method="GET", url_template="/score/{{id}}", display_name="Score")
user = get_user_model().objects.create_user("bench", "bench@example.com", "bench password long")
print(services.subscribe(user=user, product=product).primary_key)
"""


def wrk(url: str, connections: int, seconds: int, key: str | None) -> dict:
    threads = 1 if connections == 1 else 2
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if key:
        cmd += ["-H", f"Ocp-Apim-Subscription-Key: {key}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = 0
    for pattern in (r"Non-2xx or 3xx responses:\s+(\d+)", r"Socket errors:.*?timeout (\d+)"):
        m = re.search(pattern, out)
        errors += int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+)", out)
    if m:
        errors += sum(int(g) for g in m.groups())
    return {"rps": rps, "p50": pct(50), "p99": pct(99), "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seconds", type=int, default=None)
    parser.add_argument("--concurrency", default="1,32,256", help="comma-separated, for the fast backend")
    parser.add_argument("--no-slow", action="store_true", help="skip the 200 ms backend run")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="extra environment")
    parser.add_argument("--backend", nargs=2, metavar=("PORT", "DELAY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backend:
        serve_backend(int(args.backend[0]), float(args.backend[1]))
        return
    seconds = args.seconds or (3 if args.quick else 10)

    processes: list[subprocess.Popen] = []
    tmp = tempfile.mkdtemp(prefix="portico-bench-")
    fast, slow, web = free_port(), free_port(), free_port()
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT / "bench"),
        DJANGO_SETTINGS_MODULE="gateway_bench_settings",
        PORTAL_VAR_DIR=tmp,
        DEBUG="0",
        SECRET_KEY="bench-only-secret-key-not-for-production-0123456789",
        BENCH_BACKEND=f"http://127.0.0.1:{fast}",
        PORT=str(web),
    )
    env.pop("DATABASE_URL", None)
    # Shared counters, as in production with several workers (a prefix of its
    # own; the keys expire by themselves).
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    env["CACHE_KEY_PREFIX"] = f"portico-bench-{os.getpid()}"
    env.update(item.split("=", 1) for item in args.set)
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    if args.threads:
        env["GUNICORN_THREADS"] = str(args.threads)
    try:
        for port, delay in ((fast, 0), (slow, 0.2)):
            processes.append(subprocess.Popen([PYTHON, __file__, "--backend", str(port), str(delay)]))
        subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        if env.get("DATABASE_URL"):
            subprocess.run([PYTHON, "manage.py", "flush", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
        key = (
            subprocess.run(
                [PYTHON, "manage.py", "shell", "-c", SETUP.format(fast=fast, slow=slow)],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        processes.append(subprocess.Popen([GUNICORN, "-c", "gunicorn.conf.py", "portal.wsgi"], cwd=ROOT, env=env))
        for port in (fast, slow, web):
            wait_port(port)
        base = f"http://127.0.0.1:{web}"
        # Every worker must have booted (Django loaded) before measuring; then
        # warm up their catalogs, sessions and connections.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            out = subprocess.run(
                [
                    "curl",
                    "-s",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    "-H",
                    f"Ocp-Apim-Subscription-Key: {key}",
                    f"{base}/gateway/fast/score/1",
                ],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout
            if out == "200":
                break
            time.sleep(0.2)
        workers = int(env.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1))
        wrk(f"{base}/gateway/fast/score/1", 64, max(3, 2 * workers), key)
        wrk(f"{base}/gateway/slow/score/1", 64, 2, key)
        wrk(f"{base}/bare/score/1", 32, 2, None)

        rows = []
        for c in [int(c) for c in args.concurrency.split(",") if c]:
            rows.append(("direct", c, wrk(f"http://127.0.0.1:{fast}/score/1", c, seconds, None)))
            rows.append(("bare proxy view", c, wrk(f"{base}/bare/score/1", c, seconds, None)))
            rows.append(("gateway", c, wrk(f"{base}/gateway/fast/score/1", c, seconds, key)))
        if not args.no_slow:
            rows.append(("gateway, 200 ms backend", 200, wrk(f"{base}/gateway/slow/score/1", 200, seconds, key)))

        print(f"\n{'target':<26}{'conc':>5}{'rps':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
        for name, c, r in rows:
            print(f"{name:<26}{c:>5}{r['rps']:>10.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['errors']:>8}")
        by = {(n, c): r for n, c, r in rows}
        if len(by) < 10:
            return
        print(
            f"\nadded p50 at concurrency 1: {by[('gateway', 1)]['p50'] - by[('direct', 1)]['p50']:.2f} ms"
            f"\ngateway / bare proxy throughput at 32: {by[('gateway', 32)]['rps'] / by[('bare proxy view', 32)]['rps']:.0%}"
            f", at 256: {by[('gateway', 256)]['rps'] / by[('bare proxy view', 256)]['rps']:.0%}"
            f"\nslow backend: {by[('gateway, 200 ms backend', 200)]['rps'] / 1000:.0%} of the ideal 1000 rps"
        )
    finally:
        for p in reversed(processes):
            p.send_signal(signal.SIGTERM)
        for p in processes:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main()
