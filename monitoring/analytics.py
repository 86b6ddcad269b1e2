"""The figures behind the monitoring dashboard and the developer usage panel.

Everything is aggregated in the database: GROUP BY on time buckets computed
from the epoch (the same arithmetic on SQLite and PostgreSQL), with latency
histograms summed alongside the counts (``monitoring.histogram``). Ranges
longer than ``RAW_MAX`` read whole hours from ``CallRollup`` up to the rollup
watermark and only the edges from raw records (``plan``), so a 7-day view over
millions of calls touches a few thousand rows.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, F, Func, IntegerField, Max, Min, Q, QuerySet, Sum
from django.utils import timezone

from apis.models import Api, Operation, Product
from gateway import limits
from gateway.models import Call
from monitoring import histogram
from monitoring.models import BACKEND_BINS, TOTAL_BINS, CallRollup, RollupState
from subscriptions.models import Subscription

# Ranges up to this long read raw records only, in buckets as small as a minute.
RAW_MAX = timedelta(hours=3)
MAX_RANGE = timedelta(days=92)
BUCKET_SIZES = [60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400]
MAX_BUCKETS = 200
LATEST = 50
HOUR = timedelta(hours=1)

OUTCOMES = [value for value, _ in Call.OUTCOMES]
OUTCOME_LABELS = dict(Call.OUTCOMES)
# Calls the limits let through: the ones the rate limit and quota count.
ADMITTED = [outcome for outcome in OUTCOMES if outcome not in Call.UNCOUNTED]
DIMENSIONS = ["api_id", "operation_id", "product_id", "subscription_id", "user_id", "outcome"]
SUMS = ["calls", "total_ms", "backend_ms", "backend_calls", "bytes_in", "bytes_out"]
EXTREMES = ["total_min", "total_max", "backend_min", "backend_max"]


# --- Time ------------------------------------------------------------------


def bucket_size(start: datetime, end: datetime, *, hourly: bool) -> int:
    """The smallest chart bucket, in seconds, that keeps the chart readable
    (at most MAX_BUCKETS bars) and, when rollups are read, whole hours."""
    span = (end - start).total_seconds()
    for size in BUCKET_SIZES:
        if hourly and size < 3600:
            continue
        if span / size <= MAX_BUCKETS:
            return size
    return BUCKET_SIZES[-1]


def floor_to(moment: datetime, seconds: int) -> datetime:
    epoch = math.floor(moment.timestamp() / seconds) * seconds
    return datetime.fromtimestamp(epoch, UTC)


def ceil_to(moment: datetime, seconds: int) -> datetime:
    epoch = math.ceil(moment.timestamp() / seconds) * seconds
    return datetime.fromtimestamp(epoch, UTC)


def plan(
    start: datetime, end: datetime, watermark: datetime | None, *, hourly: bool
) -> list[tuple[str, datetime, datetime]]:
    """Which source answers which part of [start, end): ("rollup", a, b) for
    whole hours already rolled up, ("raw", a, b) for the rest."""
    if not hourly or watermark is None:
        return [("raw", start, end)]
    first = ceil_to(start, 3600)
    last = min(floor_to(end, 3600), floor_to(watermark, 3600))
    return three_parts(start, end, first, last, inner="rollup", edges="raw")


def three_parts(start, end, first, last, *, inner: str, edges: str) -> list[tuple[str, datetime, datetime]]:
    """[start, end) as [first, last) read from `inner`, and the edges around it from `edges`."""
    if first >= last:
        return [(edges, start, end)]
    parts = []
    if start < first:
        parts.append((edges, start, first))
    parts.append((inner, first, last))
    if last < end:
        parts.append((edges, last, end))
    return parts


def split_days(start: datetime, end: datetime, watermark: datetime) -> list[tuple[str, datetime, datetime]]:
    """Whole hours [start, end) as HOUR and DAY rollups: a DAY row for each
    day inside the range, and for the watermark's day when the range reaches
    the watermark (that day's row covers it up to the watermark exactly)."""
    first_day = ceil_to(start, 86400)
    last_day = floor_to(end, 86400)
    if end == watermark and floor_to(watermark, 86400) >= first_day:
        last_day = end  # the partial DAY row of the watermark's day
    return three_parts(start, end, first_day, last_day, inner="d", edges="h")


def sources_for(
    filters: Filters, watermark: datetime | None, hourly: bool, *, tables: bool
) -> list[tuple[str, datetime, datetime]]:
    """The sources of the charts (tables=False) or of the tables (tables=True).
    Charts of views filtered only by outcome read the TOTAL rows (a few per
    hour); tables of long ranges read DAY rows for whole days."""
    result = []
    for source, a, b in plan(filters.start, filters.end, watermark, hourly=hourly):
        if source == "raw":
            result.append((source, a, b))
        elif tables:
            result += split_days(a, b, watermark)
        else:
            by_dimension = any(name != "outcome" for name in filters.lookups())
            result.append(("h" if by_dimension else "t", a, b))
    return result


class EpochBucket(Func):
    """Start of the fixed-size bucket a timestamp falls in, as Unix seconds:
    buckets of any size (15 minutes, 6 hours), where Trunc only knows calendar
    units, computed the same way on both databases."""

    output_field = IntegerField()

    def __init__(self, expression, seconds: int):
        self.seconds = int(seconds)
        super().__init__(expression)

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"((CAST(strftime('%%s', {sql}) AS INTEGER) / {self.seconds}) * {self.seconds})", params

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(FLOOR(EXTRACT(EPOCH FROM {sql}) / {self.seconds}) * {self.seconds})::bigint", params

    def as_sql(self, compiler, connection, **extra):  # other backends: not supported
        raise NotImplementedError("EpochBucket supports SQLite and PostgreSQL")


# --- Aggregation -------------------------------------------------------------


# Aggregates are named with a prefix: an alias may not shadow a field name.
P = "s_"
_TOTAL_KEYS = [P + name for name in TOTAL_BINS]
_BACKEND_KEYS = [P + name for name in BACKEND_BINS]


def rows(qs: QuerySet) -> list[dict]:
    """The rows of an aggregate query as plain dicts, straight from the
    cursor: Django's per-value converters cost more than the query itself
    on the few thousand rows of a long range."""
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def raw_aggregates(backend: bool = True) -> dict:
    aggs = {
        "calls": Count("id"),
        "total_ms": Sum("total_ms"),
        "backend_ms": Sum("backend_ms"),
        "backend_calls": Count("backend_ms"),
        "bytes_in": Sum("bytes_in"),
        "bytes_out": Sum("bytes_out"),
        "total_min": Min("total_ms"),
        "total_max": Max("total_ms"),
        "backend_min": Min("backend_ms"),
        "backend_max": Max("backend_ms"),
    }
    for names, column in ((TOTAL_BINS, "total_ms"), (BACKEND_BINS if backend else [], "backend_ms")):
        for i, name in enumerate(names):
            low, high = histogram.bounds(i)
            condition = Q(**{f"{column}__gte": low}) if i else Q(**{f"{column}__isnull": False})
            if i < len(histogram.EDGES):
                condition &= Q(**{f"{column}__lt": high})
            aggs[name] = Count("id", filter=condition)
    return {P + name: agg for name, agg in aggs.items()}


def rollup_aggregates(backend: bool = True) -> dict:
    aggs = {P + name: Sum(name) for name in SUMS + TOTAL_BINS + (BACKEND_BINS if backend else [])}
    for name in EXTREMES:
        aggs[P + name] = (Min if name.endswith("min") else Max)(name)
    return aggs


@dataclass
class Stats:
    calls: int = 0
    success: int = 0
    total_ms: float = 0.0
    backend_ms: float = 0.0
    backend_calls: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    total_hist: list[int] = field(default_factory=histogram.empty)
    backend_hist: list[int] = field(default_factory=histogram.empty)
    total_min: float | None = None
    total_max: float | None = None
    backend_min: float | None = None
    backend_max: float | None = None

    def add_row(self, row: dict) -> None:
        """Add one aggregate row (read with ``rows()``: plain numbers)."""
        calls = int(row[P + "calls"] or 0)
        self.calls += calls
        if row.get("outcome") == Call.SUCCESS:
            self.success += calls
        self.total_ms += row[P + "total_ms"] or 0
        self.backend_ms += row[P + "backend_ms"] or 0
        self.backend_calls += int(row[P + "backend_calls"] or 0)
        self.bytes_in += int(row[P + "bytes_in"] or 0)
        self.bytes_out += int(row[P + "bytes_out"] or 0)
        histogram.add(self.total_hist, [row[name] or 0 for name in _TOTAL_KEYS])
        if _BACKEND_KEYS[0] in row:
            histogram.add(self.backend_hist, [row[name] or 0 for name in _BACKEND_KEYS])
        self._extremes(row[P + "total_min"], row[P + "total_max"], row[P + "backend_min"], row[P + "backend_max"])

    def _extremes(self, tmin, tmax, bmin, bmax) -> None:
        if tmin is not None and (self.total_min is None or tmin < self.total_min):
            self.total_min = tmin
        if tmax is not None and (self.total_max is None or tmax > self.total_max):
            self.total_max = tmax
        if bmin is not None and (self.backend_min is None or bmin < self.backend_min):
            self.backend_min = bmin
        if bmax is not None and (self.backend_max is None or bmax > self.backend_max):
            self.backend_max = bmax

    @property
    def errors(self) -> int:
        return self.calls - self.success

    @property
    def success_rate(self) -> float | None:
        return 100 * self.success / self.calls if self.calls else None

    @property
    def p50(self) -> float | None:
        return histogram.percentile(self.total_hist, 50, self.total_min, self.total_max)

    @property
    def p95(self) -> float | None:
        return histogram.percentile(self.total_hist, 95, self.total_min, self.total_max)

    @property
    def backend_p50(self) -> float | None:
        return histogram.percentile(self.backend_hist, 50, self.backend_min, self.backend_max)

    @property
    def backend_p95(self) -> float | None:
        return histogram.percentile(self.backend_hist, 95, self.backend_min, self.backend_max)


@dataclass
class Filters:
    start: datetime
    end: datetime
    api_id: int | None = None
    operation_id: int | None = None
    product_id: int | None = None
    subscription_id: int | None = None
    user_id: int | None = None
    outcome: str | None = None

    def lookups(self) -> dict:
        return {name: getattr(self, name) for name in DIMENSIONS if getattr(self, name) not in (None, "")}


@dataclass
class Row:
    key: object
    label: str
    stats: Stats
    detail: str = ""


@dataclass
class Report:
    filters: Filters
    bucket_seconds: int
    buckets: list[datetime]
    by_outcome: dict[str, list[int]]
    latency: dict[str, list[float | None]]
    bandwidth: dict[str, list[int]]
    total: Stats
    outcome_totals: dict[str, int]
    by_api: list[Row]
    by_operation: list[Row]
    by_product: list[Row]
    by_subscription: list[Row]
    latest: list[Call]
    sources: list[tuple[str, datetime, datetime]]

    @property
    def rolled_up(self) -> tuple[datetime, datetime] | None:
        spans = [(a, b) for source, a, b in self.sources if source != "raw"]
        return (min(a for a, _ in spans), max(b for _, b in spans)) if spans else None


def source_queryset(source: str, start: datetime, end: datetime, filters: Filters) -> tuple[QuerySet, str]:
    if source == "raw":
        qs = Call.objects.filter(created__gte=start, created__lt=end, **filters.lookups())
        return qs.order_by(), "created"
    qs = CallRollup.objects.filter(kind=source, bucket__gte=start, bucket__lt=end, **filters.lookups())
    return qs.order_by(), "bucket"


def combined(sources: list[tuple[str, datetime, datetime]]) -> list[tuple[str, list[tuple[str, datetime, datetime]]]]:
    """The raw parts one by one, and every rollup part in one query: rows of
    several kinds and ranges of the same table, aggregated together, come back
    once per group instead of once per part."""
    raw = [("raw", [part]) for part in sources if part[0] == "raw"]
    rolled = [part for part in sources if part[0] != "raw"]
    return raw + ([("rollup", rolled)] if rolled else [])


def parts_queryset(source: str, parts: list[tuple[str, datetime, datetime]], filters: Filters) -> tuple[QuerySet, str]:
    if source == "raw":
        return source_queryset("raw", parts[0][1], parts[0][2], filters)
    where = Q()
    for kind, start, end in parts:
        where |= Q(kind=kind, bucket__gte=start, bucket__lt=end)
    return CallRollup.objects.filter(where, **filters.lookups()).order_by(), "bucket"


def aggregates(source: str, backend: bool = True) -> dict:
    return raw_aggregates(backend) if source == "raw" else rollup_aggregates(backend)


def dashboard(filters: Filters) -> Report:
    hourly = filters.end - filters.start > RAW_MAX
    size = bucket_size(filters.start, filters.end, hourly=hourly)
    watermark = RollupState.watermark()
    sources = sources_for(filters, watermark, hourly, tables=False)
    table_sources = sources_for(filters, watermark, hourly, tables=True)

    per_bucket: dict[int, dict[str, Stats]] = defaultdict(lambda: defaultdict(Stats))
    for source, parts in combined(sources):
        qs, time_field = parts_queryset(source, parts, filters)
        for row in rows(
            qs.annotate(t=EpochBucket(F(time_field), size)).values("t", "outcome").annotate(**aggregates(source))
        ):
            per_bucket[row["t"]][row["outcome"]].add_row(row)
    # The tables show total latency only: their queries leave the backend histogram out.
    per_combo: dict[tuple, Stats] = defaultdict(Stats)
    for source, parts in combined(table_sources):
        qs, _ = parts_queryset(source, parts, filters)
        for row in rows(qs.values(*DIMENSIONS).annotate(**aggregates(source, backend=False))):
            per_combo[tuple(row[d] for d in DIMENSIONS)].add_row(row)

    first = floor_to(filters.start, size)
    buckets = []
    moment = first
    while moment < filters.end:
        buckets.append(moment)
        moment += timedelta(seconds=size)
    keys = [int(b.timestamp()) for b in buckets]

    by_outcome = {o: [per_bucket[k][o].calls if k in per_bucket else 0 for k in keys] for o in OUTCOMES}
    merged = []
    for k in keys:
        stats = Stats()
        for s in per_bucket.get(k, {}).values():
            merge(stats, s)
        merged.append(stats)
    latency = {
        "p50": [s.p50 for s in merged],
        "p95": [s.p95 for s in merged],
        "backend p50": [s.backend_p50 for s in merged],
        "backend p95": [s.backend_p95 for s in merged],
    }
    bandwidth = {"in": [s.bytes_in for s in merged], "out": [s.bytes_out for s in merged]}

    total = Stats()
    outcome_totals = dict.fromkeys(OUTCOMES, 0)
    groups: dict[str, dict] = {
        d: defaultdict(Stats) for d in ("api_id", "operation_id", "product_id", "subscription_id")
    }
    for combo, stats in per_combo.items():
        values = dict(zip(DIMENSIONS, combo, strict=True))
        outcome_totals[values["outcome"]] = outcome_totals.get(values["outcome"], 0) + stats.calls
        for d in groups:
            merge(groups[d][values[d]], stats)
    # Every call is in exactly one product group (or none): their sum is the total.
    for stats in groups["product_id"].values():
        merge(total, stats)

    return Report(
        filters=filters,
        bucket_seconds=size,
        buckets=buckets,
        by_outcome=by_outcome,
        latency=latency,
        bandwidth=bandwidth,
        total=total,
        outcome_totals=outcome_totals,
        by_api=label_rows(groups["api_id"], Api, lambda a: (a.name, ""), none="No API matched"),
        by_operation=label_rows(
            groups["operation_id"],
            Operation,
            lambda o: (o.display_name, f"{o.api.name} · {o.method}"),
            related=["api"],
            none="No operation matched",
        ),
        by_product=label_rows(groups["product_id"], Product, lambda p: (p.name, ""), none="No product (no valid key)"),
        by_subscription=label_rows(
            groups["subscription_id"],
            Subscription,
            lambda s: (s.name, f"{s.user.get_username()} · {s.product.name}"),
            related=["user", "product"],
            none="No subscription (no valid key)",
        ),
        latest=latest_calls(filters),
        sources=sources + table_sources,
    )


def merge(into: Stats, other: Stats) -> Stats:
    into.calls += other.calls
    into.success += other.success
    into.total_ms += other.total_ms
    into.backend_ms += other.backend_ms
    into.backend_calls += other.backend_calls
    into.bytes_in += other.bytes_in
    into.bytes_out += other.bytes_out
    histogram.add(into.total_hist, other.total_hist)
    if other.backend_calls and any(other.backend_hist):
        histogram.add(into.backend_hist, other.backend_hist)
    into._extremes(other.total_min, other.total_max, other.backend_min, other.backend_max)
    return into


def label_rows(groups: dict, model, describe, related: list[str] | None = None, none: str = "(none)") -> list[Row]:
    ids = [k for k in groups if k is not None]
    qs = model.objects.select_related(*related) if related else model.objects.all()
    objects = qs.in_bulk(ids)
    rows = []
    for key, stats in groups.items():
        if key is None:
            label, detail = none, ""
        elif key in objects:
            label, detail = describe(objects[key])
        else:
            label, detail = f"#{key} (deleted)", ""
        rows.append(Row(key, label, stats, detail))
    rows.sort(key=lambda r: (-r.stats.calls, r.label))
    return rows


def latest_calls(filters: Filters, limit: int = LATEST) -> list[Call]:
    qs = Call.objects.filter(created__gte=filters.start, created__lt=filters.end, **filters.lookups())
    return list(qs.select_related("api", "operation", "subscription", "user").order_by("-created", "-id")[:limit])


# --- Developer usage -------------------------------------------------------------


@dataclass
class SubscriptionUsage:
    subscription: Subscription
    today: int
    week: int
    quota_limit: int | None
    quota_used: int | None
    quota_period: int | None
    quota_resets: datetime | None
    rate_limit: int | None
    rate_period: int | None
    rate_used: int | None
    recent: list[Call]

    @property
    def quota_left(self) -> int | None:
        if self.quota_limit is None or self.quota_used is None:
            return None
        return max(0, self.quota_limit - self.quota_used)

    @property
    def quota_percent(self) -> int:
        if not self.quota_limit or self.quota_used is None:
            return 0
        return min(100, round(100 * self.quota_used / self.quota_limit))


def quota_window(subscription: Subscription, now: datetime) -> tuple[datetime, datetime]:
    """The quota window now falls in, as the gateway counts it."""
    window = limits.quota_window(subscription.quota_start, now.timestamp(), subscription.product.quota_period)
    return datetime.fromtimestamp(window.start, UTC), datetime.fromtimestamp(window.end, UTC)


def count_calls(
    subscription_id: int, start: datetime, end: datetime, watermark: datetime | None, outcomes: list[str] | None = None
) -> int:
    """Calls of one subscription in [start, end): whole rolled-up hours from
    HOUR rollups, the rest from raw records, as the dashboard does. A busy
    subscription's week is a few thousand rollup rows instead of hundreds of
    thousands of records."""
    total = 0
    for source, a, b in plan(start, end, watermark, hourly=True):
        if source == "raw":
            qs = Call.objects.filter(subscription_id=subscription_id, created__gte=a, created__lt=b)
            if outcomes:
                qs = qs.filter(outcome__in=outcomes)
            total += qs.count()
        else:
            qs = CallRollup.objects.filter(
                kind=CallRollup.HOUR, subscription_id=subscription_id, bucket__gte=a, bucket__lt=b
            )
            if outcomes:
                qs = qs.filter(outcome__in=outcomes)
            total += qs.aggregate(n=Sum("calls"))["n"] or 0
    return int(total)


def usage_for(user, now: datetime | None = None, recent: int = 10) -> list[SubscriptionUsage]:
    """Per subscription of this user only (never anyone else's calls)."""
    now = now or timezone.now()
    end = now + timedelta(microseconds=1)  # calls made at this very instant count
    local = timezone.localtime(now)
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    week = today - timedelta(days=today.weekday())
    watermark = RollupState.watermark()
    result = []
    subscriptions = Subscription.objects.filter(user=user).select_related("product").order_by("created", "id")
    for sub in subscriptions:
        product = sub.product
        quota_limit = quota_used = quota_period = quota_resets = None
        if product.has_quota:
            quota_limit, quota_period = product.quota_calls, product.quota_period
            window_start, quota_resets = quota_window(sub, now)
            quota_used = count_calls(sub.pk, window_start, end, watermark, ADMITTED)
        rate_limit = rate_period = rate_used = None
        if product.has_rate_limit:
            rate_limit, rate_period = product.rate_limit_calls, product.rate_limit_period
            rate_used = count_calls(sub.pk, now - timedelta(seconds=rate_period), end, watermark, ADMITTED)
        latest = list(
            Call.objects.filter(subscription=sub).select_related("operation").order_by("-created", "-id")[:recent]
        )
        result.append(
            SubscriptionUsage(
                subscription=sub,
                today=count_calls(sub.pk, today, end, watermark),
                week=count_calls(sub.pk, week, end, watermark),
                quota_limit=quota_limit,
                quota_used=quota_used,
                quota_period=quota_period,
                quota_resets=quota_resets,
                rate_limit=rate_limit,
                rate_period=rate_period,
                rate_used=rate_used,
                recent=latest,
            )
        )
    return result


def developers() -> QuerySet:
    return get_user_model().objects.filter(subscriptions__isnull=False).distinct().order_by("username")
