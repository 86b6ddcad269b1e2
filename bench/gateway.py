#!/usr/bin/env python3
"""Benchmark the gateway, side by side with what it is measured against.

    .venv/bin/python bench/gateway.py                  # the full run (about 6 minutes)
    .venv/bin/python bench/gateway.py --quick          # 3-second runs
    .venv/bin/python bench/gateway.py --old 17adc03    # with today's WSGI gateway (a git ref) as reference
    .venv/bin/python bench/gateway.py --postgres postgres://postgres@127.0.0.1:5432/portico_gwbench
        # the new gateway on PostgreSQL as well (an existing database, emptied first)
    .venv/bin/python bench/gateway.py --profile        # where a worker's CPU goes under load (pyinstrument)

In one invocation, against the same loopback backends (two tiny asyncio
servers: one answers at once, one after 200 ms): direct; Debian's nginx as a
reverse proxy (skipped with a message if it is not installed); a bare Django
view proxying with requests, under gunicorn (gthread); the old gateway of a
git ref under its own gunicorn.conf.py (with --old); and the gateway under
`python -m portal.serve`, on SQLite and (with --postgres) PostgreSQL, the
counters in the local Redis under a prefix of their own. wrk is the load
generator. For each: rps, p50/p99, and the CPU time of the serving processes
per call. Every process started here is stopped at the end.

This file deliberately imports no Django: run as a script, its directory
comes first on sys.path, where "gateway" would be this file.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
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
try:
    from subscriptions import services
except ImportError:  # an older tree (--old)
    from gateway import services
# Limits far above what the bench reaches, so that every call goes through
# the counters as a real one does.
product = Product.objects.create(name="Bench", slug="bench", rate_limit_calls=10**6, rate_limit_period=1,
                                 quota_calls=10**9, quota_period=86400)
for suffix, port in (("fast", {fast}), ("slow", {slow})):
    api = Api.objects.create(name=suffix, slug=suffix, path=suffix, service_url=f"http://127.0.0.1:{{port}}", url_schemes="http")
    api.products.add(product)
    Operation.objects.create(api=api, method="GET", url_template="/score/{{id}}", display_name="Score")
user = get_user_model().objects.create_user("bench", "bench@example.com", "bench password long")
print(services.subscribe(user=user, product=product).primary_key)
"""

NGINX = """
daemon off;
worker_processes auto;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log error;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream backend {{ server 127.0.0.1:{fast}; keepalive 256; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def wrk(url: str, connections: int, seconds: int, key: str | None) -> dict:
    threads = 1 if connections == 1 else 2
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if key:
        cmd += ["-H", f"Ocp-Apim-Subscription-Key: {key}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    calls = int(re.search(r"(\d+) requests in", out).group(1))

    def pct(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    non2xx = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket_errors = sum(int(g) for g in m.groups()) if m else 0
    errors = f"{non2xx}/{socket_errors}"
    return {"rps": rps, "p50": pct(50), "p99": pct(99), "errors": errors, "calls": calls}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid, utime, stime = int(fields[1]), int(fields[11]), int(fields[12])
        children.setdefault(ppid, []).append(int(entry))
        stats[int(entry)] = (ppid, (utime + stime) / ticks)
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += stats.get(p, (0, 0.0))[1]
        todo.extend(children.get(p, []))
    return total


def measure(url: str, c: int, seconds: int, key: str | None, pid: int | None) -> dict:
    before = cpu_seconds(pid) if pid else 0.0
    result = wrk(url, c, seconds, key)
    if pid:
        result["cpu_ms"] = (cpu_seconds(pid) - before) * 1000 / max(result["calls"], 1)
    return result


def curl_until_200(url: str, key: str | None, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url]
        if key:
            cmd += ["-H", f"Ocp-Apim-Subscription-Key: {key}"]
        if subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout == "200":
            return
        time.sleep(0.2)
    raise SystemExit(f"{url} never answered 200")


class Site:
    """A migrated database with the bench's API, product and key, served from ``tree``."""

    def __init__(self, tree: Path, env: dict, fast: int, slow: int):
        self.tree, self.env = tree, env
        run = dict(cwd=tree, env=env, check=True)
        subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], **run)
        if env.get("DATABASE_URL"):
            subprocess.run([PYTHON, "manage.py", "flush", "--no-input", "-v0"], **run)
        out = subprocess.run(
            [PYTHON, "manage.py", "shell", "-c", SETUP.format(fast=fast, slow=slow)],
            capture_output=True,
            text=True,
            **run,
        ).stdout
        self.key = out.strip().splitlines()[-1]


class PgConnections:
    """The most connections PostgreSQL saw to the bench's database, sampled
    every 0.2 s while the block runs (is a hand-written pool still needed?)."""

    def __init__(self, url: str):
        self.url, self.most = url, 0

    def __enter__(self):
        import threading

        import psycopg

        self.name = self.url.rsplit("/", 1)[1].split("?")[0]
        self.stop = threading.Event()

        def sample():
            with psycopg.connect(self.url, autocommit=True) as conn:
                while not self.stop.wait(0.2):
                    row = conn.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                        [self.name],
                    ).fetchone()
                    self.most = max(self.most, row[0])

        self.thread = threading.Thread(target=sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="server processes of each Python target"
    )
    parser.add_argument("--seconds", type=int, default=None)
    parser.add_argument("--concurrency", default="1,32,256", help="comma-separated, for the fast backend")
    parser.add_argument("--no-slow", action="store_true", help="skip the 200 ms backend run")
    parser.add_argument(
        "--old", metavar="REF", help="also measure the gateway of this git ref (today's, under gunicorn)"
    )
    parser.add_argument(
        "--postgres", metavar="DATABASE_URL", help="also measure the gateway on this PostgreSQL database"
    )
    parser.add_argument(
        "--only", default="", help="comma-separated targets to run (direct,nginx,bare,old,gateway,granian,pg)"
    )
    parser.add_argument("--granian", action="store_true", help="also serve the gateway with granian instead of uvicorn")
    parser.add_argument("--profile", action="store_true", help="profile one gateway worker under load instead")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="extra environment")
    parser.add_argument("--backend", nargs=2, metavar=("PORT", "DELAY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backend:
        serve_backend(int(args.backend[0]), float(args.backend[1]))
        return
    seconds = args.seconds or (3 if args.quick else 10)
    only = set(filter(None, args.only.split(",")))

    def wanted(name: str) -> bool:
        return not only or name in only

    processes: list[subprocess.Popen] = []
    cleanup: list = []
    tmp = Path(tempfile.mkdtemp(prefix="portico-bench-"))
    fast, slow = free_port(), free_port()
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT / "bench"),
        DJANGO_SETTINGS_MODULE="gateway_bench_settings",
        PORTAL_VAR_DIR=str(tmp / "new"),
        DEBUG="0",
        SECRET_KEY="bench-only-secret-key-not-for-production-0123456789",
        BENCH_BACKEND=f"http://127.0.0.1:{fast}",
        WEB_CONCURRENCY=str(args.workers),
        ASGI_THREADS="4",
    )
    env.pop("DATABASE_URL", None)
    # Shared counters, as in production with several workers (a prefix of its
    # own; the keys expire by themselves).
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    env["CACHE_KEY_PREFIX"] = f"portico-bench-{os.getpid()}"
    env.update(item.split("=", 1) for item in args.set)

    def start(cmd, cwd, extra: dict, port: int) -> subprocess.Popen:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env | extra | {"PORT": str(port)})
        processes.append(proc)
        wait_port(port)
        return proc

    rows: list[tuple[str, int, dict]] = []

    def run_target(name: str, url: str, key: str | None, pid: int | None, slow_url: str | None = None) -> None:
        # Warm up: catalogs, key caches, connection pools of every worker.
        wrk(url, 64, max(3, 2 * args.workers), key)
        for c in [int(c) for c in args.concurrency.split(",") if c]:
            rows.append((name, c, measure(url, c, seconds, key, pid)))
        if slow_url and not args.no_slow:
            wrk(slow_url, 200, 2, key)
            rows.append((name + ", 200 ms backend", 200, measure(slow_url, 200, seconds, key, pid)))

    def stop(proc: subprocess.Popen) -> None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        processes.remove(proc)

    try:
        for port, delay in ((fast, 0), (slow, 0.2)):
            processes.append(subprocess.Popen([PYTHON, __file__, "--backend", str(port), str(delay)]))
        for port in (fast, slow):
            wait_port(port)
        backend_pid = processes[0].pid

        if args.profile:
            return profile(env, fast, slow, seconds, start, stop)

        if wanted("direct"):
            run_target(
                "direct", f"http://127.0.0.1:{fast}/score/1", None, backend_pid, f"http://127.0.0.1:{slow}/score/1"
            )

        nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
        if wanted("nginx") and nginx:
            port = free_port()
            prefix = tmp / "nginx"
            prefix.mkdir()
            (prefix / "nginx.conf").write_text(NGINX.format(prefix=prefix, fast=fast, port=port))
            proc = start([nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")], ROOT, {}, port)
            run_target("nginx", f"http://127.0.0.1:{port}/score/1", None, proc.pid)
            stop(proc)
        elif wanted("nginx"):
            print("nginx is not installed (apt-get install nginx): its row is skipped.")

        site = Site(ROOT, env, fast, slow)
        if wanted("bare"):
            port = free_port()
            proc = start(
                [GUNICORN, "-k", "gthread", "-w", str(args.workers), "--threads", "64", "-b", f"127.0.0.1:{port}"]
                + ["--log-level", "warning", "portal.wsgi"],
                ROOT,
                {},
                port,
            )
            run_target("bare Django view", f"http://127.0.0.1:{port}/bare/score/1", None, proc.pid)
            stop(proc)

        if args.old and wanted("old"):
            old = tmp / "old-tree"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(old), args.old], check=True
            )
            cleanup.append(lambda: subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)]))
            # The bench's settings, but not this file (named gateway) on the path.
            settings_dir = tmp / "old-settings"
            settings_dir.mkdir()
            for name in ("gateway_bench_settings.py", "gateway_bench_urls.py"):
                shutil.copy(ROOT / "bench" / name, settings_dir / name)
            old_env = {"PORTAL_VAR_DIR": str(tmp / "old"), "PYTHONPATH": f"{settings_dir}:{old}"}
            env_saved = env.copy()
            env.update(old_env)
            old_site = Site(old, env, fast, slow)
            port = free_port()
            proc = start([GUNICORN, "-c", "gunicorn.conf.py", "portal.wsgi"], old, {}, port)
            curl_until_200(f"http://127.0.0.1:{port}/gateway/fast/score/1", old_site.key)
            base = f"http://127.0.0.1:{port}/gateway"
            run_target("old gateway (WSGI)", f"{base}/fast/score/1", old_site.key, proc.pid, f"{base}/slow/score/1")
            stop(proc)
            env.clear()
            env.update(env_saved)

        def gateway(name: str, key: str, extra: dict, granian: bool = False) -> None:
            port = free_port()
            cmd = [PYTHON, "-m", "portal.serve"]
            if granian:
                cmd = [str(ROOT / ".venv" / "bin" / "granian"), "--interface", "asgi", "--loop", "uvloop"]
                cmd += ["--workers", str(args.workers), "--host", "127.0.0.1", "--port", str(port), "--no-ws"]
                cmd += ["--log-level", "warning", "--backlog", "2048", "portal.asgi:application"]
            proc = start(cmd, ROOT, extra, port)
            base = f"http://127.0.0.1:{port}/gateway"
            curl_until_200(f"{base}/fast/score/1", key)
            run_target(name, f"{base}/fast/score/1", key, proc.pid, f"{base}/slow/score/1")
            stop(proc)

        if wanted("gateway"):
            gateway("gateway", site.key, {})
        if args.granian and wanted("granian"):
            gateway("gateway under granian", site.key, {}, granian=True)
        if args.postgres and wanted("pg"):
            pg_env = {"DATABASE_URL": args.postgres}
            env_saved = env.copy()
            env.update(pg_env)
            pg_site = Site(ROOT, env, fast, slow)
            with PgConnections(args.postgres) as seen:
                gateway("gateway, PostgreSQL", pg_site.key, {})
            print(f"PostgreSQL connections to the bench database during the run: at most {seen.most}")
            env.clear()
            env.update(env_saved)

        report(rows, args)
    finally:
        for p in reversed(processes):
            p.send_signal(signal.SIGTERM)
        for p in processes:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        for undo in cleanup:
            undo()


def report(rows, args) -> None:
    load = os.getloadavg()
    print(f"\nload average before the table: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores")
    print(
        f"\n{'target':<36}{'conc':>5}{'rps':>10}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/call':>12}{'non-2xx/socket errors':>23}"
    )
    for name, c, r in rows:
        cpu = f"{r['cpu_ms']:.2f}" if "cpu_ms" in r else "-"
        print(f"{name:<36}{c:>5}{r['rps']:>10.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{cpu:>12}{r['errors']:>23}")
    by = {(n, c): r for n, c, r in rows}

    def ratio(a, b, c):
        if (a, c) in by and (b, c) in by:
            return f"{by[(a, c)]['rps'] / by[(b, c)]['rps']:.2f}x"
        return "n/a"

    print()
    for c in (32, 256):
        print(
            f"at {c:>3}: gateway / old gateway {ratio('gateway', 'old gateway (WSGI)', c)} (target >= 3x); "
            f"gateway / bare Django view {ratio('gateway', 'bare Django view', c)} (target >= 2x); "
            f"PostgreSQL / SQLite {ratio('gateway, PostgreSQL', 'gateway', c)} (target >= 0.85x)"
        )
    if ("gateway", 1) in by and ("direct", 1) in by:
        print(
            f"added p50 at 1 connection: {by[('gateway', 1)]['p50'] - by[('direct', 1)]['p50']:.2f} ms (target < 1 ms)"
        )
    slow_g, slow_d = ("gateway, 200 ms backend", 200), ("direct, 200 ms backend", 200)
    if slow_g in by and slow_d in by:
        print(
            f"200 ms backend, 200 connections: {by[slow_g]['rps'] / by[slow_d]['rps']:.0%} of direct (target >= 90%), "
            f"p99 {by[slow_g]['p99']:.0f} ms (target < 300 ms)"
        )


def profile(env, fast, slow, seconds, start, stop) -> None:
    """One gateway process under pyinstrument while wrk loads it at 32 connections."""
    site = Site(ROOT, env, fast, slow)
    port = free_port()
    out = Path(tempfile.mkdtemp(prefix="portico-profile-")) / "profile.txt"
    proc = start(
        [PYTHON, "-m", "pyinstrument", "-r", "text", "-o", str(out), "-m", "portal.serve"],
        ROOT,
        {"WEB_CONCURRENCY": "1"},
        port,
    )
    url = f"http://127.0.0.1:{port}/gateway/fast/score/1"
    curl_until_200(url, site.key)
    result = measure(url, 32, seconds, site.key, proc.pid)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    print(f"one process, 32 connections: {result['rps']:.0f} rps, {result.get('cpu_ms', 0):.2f} ms CPU per call")
    print(out.read_text() if out.exists() else "(no profile written)")


if __name__ == "__main__":
    main()
