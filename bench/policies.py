#!/usr/bin/env python3
"""What policies cost the gateway: the same calls with and without a typical
chain, side by side in one run; and a cache hit against the backend call it
replaces.

    .venv/bin/python bench/policies.py                 # 3,000 calls per side
    .venv/bin/python bench/policies.py --calls 500     # quicker
    .venv/bin/python bench/policies.py --redis redis://127.0.0.1:6379/0
        # counters and cache in Redis, under a key prefix of this run's own

The chain: set-header from a secret named value, cors, rate-limit-by-key
(a limit never reached) and a cache-lookup that misses (every call has its
own query value). Calls go through the real gateway in-process (Django's
handler, the data-plane pipeline on its event loop), to a backend in another
process on loopback, so that CPU time measured here (process_time) is the
gateway's alone. Plain and policed calls alternate in blocks, so both see
the same machine. A fresh SQLite database in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BACKEND = r"""
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
DELAY = float(sys.argv[2]) / 1000
BODY = b'{"Results": {"output1": {"value": {"Values": [["1", "1", "2", "2", "0", "2", "0", "1"]]}}}}'
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes
    def log_message(self, *a): pass
    def do_GET(self):
        if DELAY:
            time.sleep(DELAY)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""

CHAIN = """<policies>
    <inbound>
        <base />
        <set-header name="Authorization" exists-action="override"><value>Bearer {{backend-key}}</value></set-header>
        <cors><allowed-origins><origin>https://app.example</origin></allowed-origins></cors>
        <rate-limit-by-key calls="1000000" renewal-period="60" counter-key="@(context.Subscription.Id)" />
        <cache-lookup vary-by-developer="false" vary-by-developer-groups="false">
            <vary-by-query-parameter>n</vary-by-query-parameter>
        </cache-lookup>
    </inbound>
    <backend><base /></backend>
    <outbound><base /></outbound>
</policies>"""

CACHED = """<policies>
    <inbound><base /><cache-lookup vary-by-developer="false" vary-by-developer-groups="false" /></inbound>
    <backend><base /></backend>
    <outbound><base /><cache-store duration="600" /></outbound>
</policies>"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000, help="calls per side")
    parser.add_argument("--redis", help="REDIS_URL for counters and cache (default: local memory)")
    parser.add_argument("--backend-ms", type=float, default=5.0, help="the slower backend's answer time")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="portico-polbench-")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
            "PORTAL_VAR_DIR": tmp,
            "GATEWAY_RECORD_ASYNC": "1",
            "GATEWAY_ENFORCE_SCHEME": "0",
            "LOG_LEVEL": "ERROR",
        }
    )
    if args.redis:
        os.environ.update({"REDIS_URL": args.redis, "CACHE_KEY_PREFIX": f"polbench{os.getpid()}"})
    fast, slow = free_port(), free_port()
    backends = [
        subprocess.Popen([sys.executable, "-c", BACKEND, str(fast), "0"]),
        subprocess.Popen([sys.executable, "-c", BACKEND, str(slow), str(args.backend_ms)]),
    ]
    time.sleep(0.5)
    try:
        run(args, f"http://127.0.0.1:{fast}", f"http://127.0.0.1:{slow}")
    finally:
        for backend in backends:
            backend.terminate()
            backend.wait(timeout=10)
    sys.stdout.flush()
    os._exit(0)  # the gateway's loop thread and its pooled connections end with the process


def run(args, backend_url: str, slow_url: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import User

    from apis.models import Api, Operation, Product
    from policies.models import NamedValue, Policy
    from subscriptions import services

    product = Product.objects.create(name="Bench", slug="bench")
    user = User.objects.create_user("bench", "bench@example.com", "bench bench bench")
    key = services.subscribe(user=user, product=product, name="bench").primary_key
    apis = {}
    for name in ("plain", "policed", "cached", "slow", "slowcached"):
        url = slow_url if name.startswith("slow") else backend_url
        api = Api.objects.create(name=name, slug=name, path=name, service_url=url, url_schemes="http,https")
        api.products.add(product)
        Operation.objects.create(api=api, method="GET", url_template="/score", display_name="Score")
        apis[name] = api
    nv = NamedValue(name="backend-key", secret=True)
    nv.set_value("not-a-real-key-but-long-enough-to-look-like-one")
    nv.save()
    Policy.objects.create(api=apis["policed"], document=CHAIN)
    Policy.objects.create(api=apis["cached"], document=CACHED)
    Policy.objects.create(api=apis["slowcached"], document=CACHED)

    client = Client(HTTP_HOST="127.0.0.1")
    headers = {"Ocp-Apim-Subscription-Key": key, "Origin": "https://app.example"}

    def one(path: str) -> None:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.status_code, response.content[:200])

    # Warm up both paths (router, key cache, compiled policies, connections).
    for n in range(50):
        one(f"/gateway/plain/score?n={n}")
        one(f"/gateway/policed/score?n={n}")
    cpu = {"plain": 0.0, "policed": 0.0}
    wall = {"plain": 0.0, "policed": 0.0}
    block = 100
    for start in range(0, args.calls, block):
        for name in ("plain", "policed"):
            c0, w0 = time.process_time(), time.perf_counter()
            for n in range(start, min(start + block, args.calls)):
                one(f"/gateway/{name}/score?n=run{n}")
            cpu[name] += time.process_time() - c0
            wall[name] += time.perf_counter() - w0

    # Cache hits against the forwarded calls they replace (same gateway,
    # same backends): an instant loopback backend, and one that takes
    # --backend-ms to answer.
    timings: dict[str, list[float]] = {"hit": [], "instant": [], "slow hit": [], "slow": []}
    one("/gateway/cached/score")  # stored
    one("/gateway/slowcached/score")
    for n in range(min(args.calls, 500)):
        for name, path in (
            ("hit", "/gateway/cached/score"),
            ("instant", f"/gateway/plain/score?n=miss{n}"),
            ("slow hit", "/gateway/slowcached/score"),
            ("slow", f"/gateway/slow/score?n=miss{n}"),
        ):
            w0 = time.perf_counter()
            one(path)
            timings[name].append(time.perf_counter() - w0)

    from gateway import records
    from gateway.models import Call

    records.recorder.flush()
    cached = Call.objects.filter(outcome=Call.CACHED).count()

    per = {k: v / args.calls * 1e6 for k, v in cpu.items()}
    print(f"store: {'Redis ' + args.redis if args.redis else 'local memory'}; {args.calls} calls per side")
    print(f"{'':34}{'no policies':>14}{'typical chain':>16}{'added':>10}")
    print(f"{'CPU per call (µs)':34}{per['plain']:>14.0f}{per['policed']:>16.0f}{per['policed'] - per['plain']:>10.0f}")
    wp, wq = (wall[k] / args.calls * 1e6 for k in ("plain", "policed"))
    print(f"{'wall time per call (µs)':34}{wp:>14.0f}{wq:>16.0f}{wq - wp:>10.0f}")
    med = {k: statistics.median(v) * 1e6 for k, v in timings.items()}
    print()
    print(f"{'median wall time (µs)':34}{'cache hit':>14}{'forwarded':>16}{'ratio':>10}")
    print(
        f"{'instant loopback backend':34}{med['hit']:>14.0f}{med['instant']:>16.0f}{med['instant'] / med['hit']:>9.1f}x"
    )
    label = f"backend answering in {args.backend_ms:g} ms"
    print(f"{label:34}{med['slow hit']:>14.0f}{med['slow']:>16.0f}{med['slow'] / med['slow hit']:>9.1f}x")
    print(f"calls recorded as cached: {cached}")


if __name__ == "__main__":
    main()
