"""Catalog pages at scale: 1,000 APIs and 20,000 operations.

Prints, for the APIs list, an API page and an operation page, the median and
95th-percentile render time over repeated requests and the number of SQL
queries each page runs. Target: each under 50 ms, with a constant number of
queries.

    .venv/bin/python bench/catalog.py            # a throw-away SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portico_bench .venv/bin/python bench/catalog.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
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

from apis.models import Api, Operation, Parameter, Product, Response  # noqa: E402

APIS, OPS_PER_API, RUNS = 1000, 20, 50
VERBS = ["GET", "POST", "PUT", "DELETE"]


def load() -> None:
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    if Api.objects.count() >= APIS:
        return
    started = time.perf_counter()
    products = [Product.objects.create(name=f"Product {i}", slug=f"product-{i}") for i in range(10)]
    apis = Api.objects.bulk_create(
        Api(
            name=f"API {i:04d}",
            slug=f"api-{i:04d}",
            path=f"api-{i:04d}",
            service_url="http://127.0.0.1:9",
            description=f"Benchmark API number {i} with a few words of description.",
        )
        for i in range(APIS)
    )
    through = Api.products.through
    through.objects.bulk_create(through(api_id=a.pk, product_id=products[i % 10].pk) for i, a in enumerate(apis))
    ops = Operation.objects.bulk_create(
        Operation(
            api=a,
            method=VERBS[j % 4],
            url_template=f"/things{j}/{{id}}?version={{v}}",
            display_name=f"Operation {j}",
            slug=f"operation-{j}",
            order=j,
        )
        for a in apis
        for j in range(OPS_PER_API)
    )
    Parameter.objects.bulk_create(
        Parameter(operation=o, name=name, location=loc, required=True, order=k)
        for o in ops
        for k, (name, loc) in enumerate([("id", "template"), ("v", "query")])
    )
    Response.objects.bulk_create(Response(operation=o, status_code=200, description="OK") for o in ops)
    print(f"loaded {APIS} APIs, {len(ops)} operations in {time.perf_counter() - started:.1f} s")


def measure(client: Client, url: str) -> tuple[float, float, int]:
    client.get(url)  # warm caches and templates
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200, url
    # Read now: the next request resets the connection's query log.
    queries = len(ctx.captured_queries)
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], queries


def main() -> None:
    load()
    # Keep one connection across requests, as a server process does, so that
    # the captured queries are the page's own.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    client = Client()
    api = Api.objects.get(slug="api-0500")
    op = api.operations.get(slug="operation-10")
    print(f"database: {connection.vendor}; {Api.objects.count()} APIs, {Operation.objects.count()} operations")
    print(f"{'page':<28}{'p50 ms':>9}{'p95 ms':>9}{'queries':>9}")
    for name, url in [
        ("APIs list", "/apis/"),
        ("APIs list, search", "/apis/?q=API+05"),
        ("APIs list, product filter", "/apis/?product=product-3"),
        ("API page", api.get_absolute_url()),
        ("operation page", op.get_absolute_url()),
        ("products list", "/products/"),
    ]:
        p50, p95, queries = measure(client, url)
        print(f"{name:<28}{p50:>9.1f}{p95:>9.1f}{queries:>9}")


if __name__ == "__main__":
    main()
