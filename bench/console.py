"""The Try It console's own cost, and the page with a 5 MB response.

Console overhead: from the Send request reaching Django to the fragment
leaving it, minus the gateway call's own time (what the console's Server-Timing
header calls gateway: the in-process gateway plus its backend). Measured with
Django's test client through every middleware, the real in-process gateway
and a real backend on a loopback port answering 10 KB of JSON.
Target: under 5 ms at p50.

5 MB response: the server's time and the fragment's size (the page shows the
first 256 KB and offers the rest as a download), and, when Chromium is there,
how long the browser takes to swap the fragment in and lay it out.

    .venv/bin/python bench/console.py            # a throw-away SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portico_bench .venv/bin/python bench/console.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
import timeit
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
if not os.getenv("DATABASE_URL"):
    # A throw-away var/ directory: the SQLite file with the project's own options (WAL, busy timeout).
    os.environ["PORTAL_VAR_DIR"] = tempfile.mkdtemp()
os.environ["DEBUG"] = "0"
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("GATEWAY_ENFORCE_SCHEME", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
os.environ.setdefault("STATIC_ROOT", tempfile.mkdtemp())
os.environ.setdefault("SITE_URL", "http://127.0.0.1:8000")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from apis.models import Api, Operation  # noqa: E402

RUNS = 300
TEN_KB = json.dumps([{"id": i, "name": f"item {i}", "ok": True, "score": i * 1.5} for i in range(170)]).encode()
ROW = b'{"name": "row", "value": 12345.678, "ok": true},'
FIVE_MB = b"[" + ROW * (5 * 1024 * 1024 // len(ROW)) + b"null]"


class Backend(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes: without this, Nagle and delayed
    # ACKs add 40 ms to the gateway's side of every call.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = FIVE_MB if "/big" in self.path else TEN_KB
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timings(response) -> dict[str, float]:
    parts = dict(item.strip().split(";dur=") for item in response["Server-Timing"].split(","))
    return {k: float(v) for k, v in parts.items()}


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Backend)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    backend = f"http://127.0.0.1:{server.server_port}"

    api, _ = Api.objects.update_or_create(
        path="bench-console", defaults={"name": "Console bench", "service_url": backend, "subscription_required": False}
    )
    small, _ = Operation.objects.get_or_create(
        api=api, method="GET", url_template="/items/{id}", defaults={"display_name": "Items"}
    )
    big, _ = Operation.objects.get_or_create(
        api=api, method="GET", url_template="/big", defaults={"display_name": "Big"}
    )
    user, _ = get_user_model().objects.get_or_create(username="bench")
    client = Client(HTTP_HX_REQUEST="true")
    client.force_login(user)

    send = f"/console/{small.pk}/send/"
    data = {"p_id": "42", "h_name": ["Accept"], "h_value": ["application/json"]}
    for _ in range(20):  # warm up: imports, template compilation, connection pools
        client.post(send, data)
    if os.getenv("PROFILE"):
        import cProfile
        import pstats

        with cProfile.Profile() as prof:
            for _ in range(50):
                client.post(send, data)
        pstats.Stats(prof).sort_stats(os.getenv("PROFILE_SORT", "cumulative")).print_stats(45)
        return
    overhead, wall, gateway, parts = [], [], [], {}
    cpu = []
    for _ in range(RUNS):
        started, cpu_started = time.perf_counter(), time.thread_time()
        response = client.post(send, data)
        total = (time.perf_counter() - started) * 1000
        # CPU time of this thread: the whole request through Django, but not the
        # gateway, which runs on the console's send thread. It does not grow
        # when other processes compete for the cores, as wall-clock time does.
        cpu.append((time.thread_time() - cpu_started) * 1000)
        assert response.status_code == 200 and b"200 OK" in response.content, response.content[:500]
        t = timings(response)
        wall.append(total)
        gateway.append(t["gateway"])
        for name in ("build", "read", "save", "render"):
            parts.setdefault(name, []).append(t[name])
        overhead.append(total - t["gateway"])
    print(f"Console overhead, 10 KB JSON response, {RUNS} sends (in-process gateway, {connection.vendor}):")
    print(
        f"  overhead p50 {percentile(overhead, 50):6.2f} ms   p95 {percentile(overhead, 95):6.2f} ms   (target p50 < 5 ms)"
    )
    print(f"  gateway  p50 {percentile(gateway, 50):6.2f} ms   total p50 {percentile(wall, 50):6.2f} ms")
    print(f"  CPU time of the request thread p50 {percentile(cpu, 50):6.2f} ms   p95 {percentile(cpu, 95):6.2f} ms")
    print("  inside the view, p50: " + ", ".join(f"{k} {percentile(v, 50):.2f} ms" for k, v in parts.items()))

    # How fast this machine is right now: scale the figures above by it.
    # (sum(range(10000)) takes about 0.1 ms on an idle, recent laptop core.)
    reference = min(timeit.repeat("sum(range(10000))", number=100, repeat=5)) / 100 * 1000
    print(f"  machine reference: sum(range(10000)) {reference:.3f} ms, load average {os.getloadavg()[0]:.1f}")

    # The live preview runs on every pause in typing: the URL, the raw request and
    # the code in the language picked, highlighted by Pygments.
    preview = f"/console/{small.pk}/preview/"
    figures = []
    for language in ("curl", "python", "java", "powershell"):
        times = []
        for _ in range(60):
            started = time.perf_counter()
            response = client.post(preview, data | {"snippet": language})
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        figures.append(f"{language} {percentile(times, 50):.2f} ms")
    print("Live preview with its code snippet, p50 of 60: " + ", ".join(figures))

    big_send = f"/console/{big.pk}/send/"
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        response = client.post(big_send, {"h_name": [], "h_value": []})
        runs.append(((time.perf_counter() - started) * 1000, timings(response), len(response.content)))
    total, t, size = sorted(runs)[len(runs) // 2]
    fragment = response.content.decode()
    assert "Download it whole" in fragment
    print(f"5 MB JSON response ({len(FIVE_MB) / 1e6:.1f} MB):")
    print(
        f"  server: total {total:.0f} ms, of which gateway {t['gateway']:.0f} ms, console {total - t['gateway']:.0f} ms"
    )
    print(f"  fragment sent to the page: {size / 1024:.0f} KB (first 256 KB shown, the rest a download link)")
    browser_render(fragment)
    server.shutdown()


def browser_render(fragment: str) -> None:
    chromium = os.getenv("CHROMIUM") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        print("  browser: Chromium not found, skipped")
        return
    from playwright.sync_api import sync_playwright

    css = (Path(__file__).resolve().parent.parent / "static/css/portico.css").read_text()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--headless=new", "--no-sandbox"])
        page = browser.new_page()
        page.set_content(f"<style>{css}</style><div id=r></div>")
        times = [
            page.evaluate(
                """(html) => { const t0 = performance.now(); const r = document.getElementById('r');
                r.innerHTML = html; r.getBoundingClientRect(); document.body.offsetHeight;
                return performance.now() - t0; }""",
                fragment,
            )
            for _ in range(5)
        ]
        # Is the page still responsive afterwards? Time a click-to-handler round trip.
        page.evaluate(
            "document.body.insertAdjacentHTML('beforeend', '<button id=b onclick=\"window.hit=performance.now()\">b</button>')"
        )
        t0 = page.evaluate("performance.now()")
        page.click("#b")
        latency = page.evaluate("window.hit") - t0
        browser.close()
    print(
        f"  browser: swap + layout of the fragment p50 {statistics.median(times):.0f} ms; a click afterwards handled in {latency:.0f} ms"
    )


if __name__ == "__main__":
    main()
