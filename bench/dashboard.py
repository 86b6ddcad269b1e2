"""The monitoring dashboard at scale: 5,000,000 call records on PostgreSQL.

Loads 10 APIs x 5 operations (50 operations), 3 products, 100 developers with
one subscription each, and 5,000,000 calls spread over the last 7 days (COPY,
with the call table's indexes dropped during the load and rebuilt after).
Each subscription mostly calls a handful of operations, as real clients do.
Then it rolls the records up (``rollup_calls``) and times, through Django's
test client (the full view: form, queries, SVG, template):

- the dashboard page, last 7 days, no filter and with a filter (target < 1 s);
- the developer usage panel of the busiest developer (target < 200 ms);
- for comparison, the 7-day page read from raw records only.

    createdb -h 127.0.0.1 -U postgres portico_monbench
    .venv/bin/python bench/dashboard.py            # DATABASE_URL defaults to that database
    .venv/bin/python bench/dashboard.py --calls 500000 --reload

A second run reuses the loaded data (pass --reload to start again).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portico_monbench")
os.environ["DEBUG"] = "0"
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("STATIC_ROOT", tempfile.mkdtemp())

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from apis.models import Api, Operation, Product  # noqa: E402
from gateway.models import Call  # noqa: E402
from gateway.records import COLUMNS  # noqa: E402
from monitoring.models import CallRollup, RollupState  # noqa: E402
from subscriptions.models import Subscription  # noqa: E402

APIS, OPS_PER_API, DEVELOPERS, DAYS = 10, 5, 100, 7
STATUS = {"success": 200, "unauthorized": 401, "throttled": 429, "quota": 403, "no_match": 404, "backend_error": 502}
# (outcome, weight): most calls succeed; rejections carry no backend time.
OUTCOMES = [
    ("success", 900),
    ("throttled", 40),
    ("backend_error", 20),
    ("quota", 10),
    ("unauthorized", 20),
    ("no_match", 10),
]
NULL = "\\N"  # COPY's text format


def catalog() -> tuple[list[Operation], list[Subscription]]:
    if not Api.objects.filter(path="mon-bench-0").exists():
        products = [
            Product.objects.create(
                name=n,
                slug=f"mon-bench-{n.lower()}",
                rate_limit_calls=r,
                rate_limit_period=60 if r else None,
                quota_calls=q,
                quota_period=7 * 86400 if q else None,
            )
            for n, r, q in (("Starter", 5, 100), ("Pro", 600, 500_000), ("Unlimited", None, None))
        ]
        for i in range(APIS):
            api = Api.objects.create(name=f"Bench API {i}", path=f"mon-bench-{i}", service_url="http://127.0.0.1:9")
            api.products.add(products[i % 3], products[2])
            for j in range(OPS_PER_API):
                Operation.objects.create(
                    api=api,
                    method=["GET", "POST"][j % 2],
                    url_template=f"/things{j}/{{id}}",
                    display_name=f"Op {i}.{j}",
                )
        user_model = get_user_model()
        start = timezone.now() - timedelta(days=DAYS + 3)
        for d in range(DEVELOPERS):
            user = user_model.objects.create_user(f"dev{d:03d}", f"dev{d:03d}@example.com", None)
            sub = Subscription(
                user=user, product=products[d % 3], name=f"App {d:03d}", state=Subscription.ACTIVE, started=start
            )
            sub.save()
        user_model.objects.create_superuser("benchboss", "benchboss@example.com", None)
    ops = list(Operation.objects.filter(api__path__startswith="mon-bench-").select_related("api").order_by("id"))
    subs = list(Subscription.objects.filter(name__startswith="App ").select_related("product", "user").order_by("id"))
    return ops, subs


def load_calls(total: int, ops: list[Operation], subs: list[Subscription], *, since=None, bulk: bool = True) -> None:
    """``total`` calls spread over the last DAYS days, or from ``since`` to now."""
    rng = random.Random(42 if since is None else int(time.time()))
    now = timezone.now()
    span = DAYS * 86400 if since is None else (now - since).total_seconds()
    # Each subscription calls 6 operations of its product's APIs, the first far more than the others.
    apis_of = {}
    for sub in subs:
        allowed = set(sub.product.apis.values_list("id", flat=True))
        choices = [o for o in ops if o.api_id in allowed]
        apis_of[sub.pk] = rng.sample(choices, 6)
    weights_ops = [40, 20, 15, 10, 10, 5]
    sub_weights = [1 / (i + 1) ** 0.5 for i in range(len(subs))]  # a few busy developers
    outcomes, outcome_weights = zip(*OUTCOMES, strict=True)

    indexes = []
    if bulk:
        # Rebuilding the indexes once is much faster than updating them row by row.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'gateway_call' AND indexname NOT LIKE '%%pkey'"
            )
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
    started = time.perf_counter()
    prefix = "b" if since is None else f"t{int(time.time())}"
    batch = 200_000
    with connection.cursor() as cursor:
        raw = cursor.cursor
        written = 0
        while written < total:
            n = min(batch, total - written)
            out = io.StringIO()
            picked_subs = rng.choices(subs, weights=sub_weights, k=n)
            picked_outcomes = rng.choices(outcomes, weights=outcome_weights, k=n)
            for k in range(n):
                outcome = picked_outcomes[k]
                sub = picked_subs[k]
                op = rng.choices(apis_of[sub.pk], weights=weights_ops)[0]
                created = now - timedelta(seconds=rng.random() * span)
                if outcome == "unauthorized":
                    sub_id = prod_id = user_id = NULL
                else:
                    sub_id, prod_id, user_id = sub.pk, sub.product_id, sub.user_id
                op_id = NULL if outcome == "no_match" else op.pk
                forwarded = outcome in ("success", "backend_error")
                backend = rng.lognormvariate(3.4, 0.6) if forwarded else None
                total_ms = (backend or 0) + rng.uniform(0.3, 4)
                out.write(
                    f"{created.isoformat()}\t{prefix}{written + k:09d}\t{op.api_id}\t{op_id}\t{prod_id}\t{sub_id}\t{user_id}\t"
                    f"{op.method}\t/gateway/{op.api.path}/things/{k % 1000}\t{STATUS[outcome]}\t{outcome}\t{total_ms:.3f}\t"
                    f"{NULL if backend is None else f'{backend:.3f}'}\t{rng.randint(80, 2000) if forwarded else 0}\t"
                    f"{rng.randint(200, 8000)}\t127.0.0.1\t\n"  # no policy
                )
            with raw.copy(f"COPY gateway_call ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                copy.write(out.getvalue())
            written += n
            if bulk:
                print(f"  {written:,} calls ({time.perf_counter() - started:.0f} s)", flush=True)
    loaded = time.perf_counter()
    with connection.cursor() as cursor:
        for _, definition in indexes:
            cursor.execute(definition)
    if bulk:
        print(
            f"Loaded {total:,} calls in {loaded - started:.0f} s, rebuilt {len(indexes)} indexes in {time.perf_counter() - loaded:.0f} s"
        )


def vacuum() -> None:
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE gateway_call")
        cursor.execute("VACUUM ANALYZE monitoring_callrollup")


def timed(client: Client, url: str, runs: int) -> tuple[list[float], int, int]:
    # Warm up (connection, template loading, the database's buffers), and count
    # the queries on a run of their own so that recording them costs no time.
    client.get(url)
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        client.get(url)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return times, len(queries), len(response.content)


def report(label: str, times: list[float], queries: int, size: int, target: float | None) -> None:
    median = statistics.median(times)
    verdict = "" if target is None else ("  OK" if median < target else f"  OVER the {target:.0f} ms target")
    print(
        f"{label:<58} median {median:7.0f} ms  max {max(times):7.0f} ms  {queries:3d} queries  {size / 1024:5.0f} kB{verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reload", action="store_true", help="Delete the calls and rollups and load them again.")
    parser.add_argument("--skip-raw", action="store_true", help="Skip timing the raw-only 7-day page (slow by design).")
    args = parser.parse_args()
    assert connection.vendor == "postgresql", "This benchmark is for PostgreSQL (set DATABASE_URL)."
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    ops, subs = catalog()
    if args.reload:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE gateway_call, monitoring_callrollup, monitoring_rollupstate")
    have = Call.objects.count()
    if have < args.calls:
        if have:
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE gateway_call, monitoring_callrollup, monitoring_rollupstate")
        load_calls(args.calls, ops, subs)
        RollupState.objects.all().delete()
        CallRollup.objects.all().delete()
        vacuum()
    # Steady state: calls keep arriving at the same rate up to now, and the
    # rollup runs with its default lag, so the newest hour is read raw.
    newest = Call.objects.order_by("-created").values_list("created", flat=True).first()
    newest = max(newest, RollupState.watermark() or newest)  # never into hours already rolled up
    gap = (timezone.now() - newest).total_seconds()
    rate = args.calls / (DAYS * 86400)
    if gap * rate >= 1:
        load_calls(int(gap * rate), ops, subs, since=newest, bulk=False)
    print(f"{Call.objects.count():,} calls, {len(subs)} subscriptions, {len(ops)} operations")

    t = time.perf_counter()
    call_command("rollup_calls", "--no-prune", stdout=io.StringIO())
    vacuum()
    watermark = RollupState.watermark()
    print(
        f"rollup_calls: {time.perf_counter() - t:.1f} s, {CallRollup.objects.count():,} rollup rows (hour, day and per-outcome), watermark {watermark:%Y-%m-%d %H:%M}"
    )
    print(
        f"raw calls after the watermark (read raw by every view): {Call.objects.filter(created__gte=watermark).count():,}"
    )

    staff = get_user_model().objects.get(username="benchboss")
    client = Client()
    client.force_login(staff)
    busiest = subs[0]
    for label, url, target in [
        ("dashboard, last 7 days", "/monitoring/?range=7d", 1000),
        ("dashboard, last 7 days, one subscription", f"/monitoring/?range=7d&subscription={busiest.pk}", 1000),
        (
            "dashboard, last 7 days, one API, throttled",
            f"/monitoring/?range=7d&api={ops[0].api_id}&outcome=throttled",
            1000,
        ),
        ("dashboard, last 24 hours", "/monitoring/?range=24h", 1000),
        ("dashboard, last 30 days", "/monitoring/?range=30d", 1000),
        ("dashboard, last hour (raw records)", "/monitoring/?range=1h", 1000),
        ("CSV export, last 7 days", "/monitoring/export.csv?range=7d", None),
    ]:
        report(label, *timed(client, url, args.runs), target)

    developer = Client()
    developer.force_login(busiest.user)
    week = Call.objects.filter(subscription=busiest, created__gte=timezone.now() - timedelta(days=7)).count()
    report(
        f"usage panel, busiest developer ({week:,} calls this week)",
        *timed(developer, "/monitoring/usage/", args.runs * 4),
        200,
    )

    if not args.skip_raw:
        # What the 7-day page costs without rollups: move the watermark away.
        state = RollupState.objects.get(pk=1)
        kept = state.rolled_until
        RollupState.objects.filter(pk=1).update(rolled_until=None)
        try:
            report(
                "dashboard, last 7 days, raw records only (no rollups)",
                *timed(client, "/monitoring/?range=7d", 1),
                None,
            )
        finally:
            RollupState.objects.filter(pk=1).update(rolled_until=kept)


if __name__ == "__main__":
    main()
    print(
        "load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"
    )
