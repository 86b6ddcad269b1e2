"""Rolling raw call records up, and retention.

Hours are rolled up in order, one UTC day at a time, each day in one
transaction that also moves the watermark, so an interrupted run never leaves
an hour half counted and the dashboard (which reads rollups before the
watermark and raw records after it) never counts a call twice. For each day:
HOUR rows from the raw records, TOTAL rows and the DAY rows from the HOUR rows
(so a day can be re-summed after its raw records are gone).

Only hours that ended ``lag`` ago are rolled up: the gateway writes a record
when its call ends, possibly from a background batch, so the newest minutes
may still be filling. The rows are written with INSERT ... SELECT: the
database aggregates and writes without a round trip through Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from gateway.models import Call
from monitoring.analytics import DIMENSIONS, EXTREMES, SUMS, EpochBucket, P, floor_to, raw_aggregates, rollup_aggregates
from monitoring.models import BACKEND_BINS, TOTAL_BINS, CallRollup, RollupState

DEFAULT_LAG = timedelta(minutes=5)
DAY = timedelta(days=1)
FIELDS = [*SUMS, *TOTAL_BINS, *BACKEND_BINS]


@dataclass
class Result:
    hours: int = 0
    rows: int = 0
    raw_deleted: int = 0
    rollups_deleted: int = 0
    rolled_until: datetime | None = None


def insert(kind: str, qs: QuerySet, dimensions: list[str]) -> int:
    """INSERT the rows of a values(t, ...).annotate(s_...) query as rollups."""
    sql, params = qs.query.sql_with_params()
    table = CallRollup._meta.db_table
    if connection.vendor == "postgresql":
        bucket = 'to_timestamp(sub."t")'
    else:
        bucket = "datetime(sub.\"t\", 'unixepoch')"
    columns = ["kind", "bucket", *DIMENSIONS, *FIELDS, *EXTREMES]
    values = [
        "%s",
        bucket,
        *[(f'sub."{d}"' if d in dimensions else "NULL") for d in DIMENSIONS],
        *[f'COALESCE(sub."{P}{f}", 0)' for f in FIELDS],
        *[f'sub."{P}{e}"' for e in EXTREMES],
    ]
    statement = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} FROM ({sql}) sub"
    with connection.cursor() as cursor:
        cursor.execute(statement, [kind, *params])
        return cursor.rowcount


def roll_day(start: datetime, end: datetime) -> int:
    """Roll up [start, end), which lies within one UTC day."""
    day = floor_to(start, 86400)
    hours = CallRollup.objects.filter(kind=CallRollup.HOUR, bucket__gte=start, bucket__lt=end).order_by()
    CallRollup.objects.filter(kind__in=[CallRollup.HOUR, CallRollup.TOTAL], bucket__gte=start, bucket__lt=end).delete()
    raw = Call.objects.filter(created__gte=start, created__lt=end).order_by()
    rows = insert(
        CallRollup.HOUR,
        raw.annotate(t=EpochBucket(F("created"), 3600)).values("t", *DIMENSIONS).annotate(**raw_aggregates()),
        DIMENSIONS,
    )
    rows += insert(
        CallRollup.TOTAL,
        hours.annotate(t=EpochBucket(F("bucket"), 3600)).values("t", "outcome").annotate(**rollup_aggregates()),
        ["outcome"],
    )
    CallRollup.objects.filter(kind=CallRollup.DAY, bucket=day).delete()
    whole_day = CallRollup.objects.filter(kind=CallRollup.HOUR, bucket__gte=day, bucket__lt=day + DAY).order_by()
    rows += insert(
        CallRollup.DAY,
        whole_day.annotate(t=EpochBucket(F("bucket"), 86400)).values("t", *DIMENSIONS).annotate(**rollup_aggregates()),
        DIMENSIONS,
    )
    return rows


def roll_up(now: datetime | None = None, lag: timedelta = DEFAULT_LAG, rebuild: bool = False) -> Result:
    now = now or timezone.now()
    until = floor_to(now - lag, 3600)
    result = Result()
    start = None if rebuild else RollupState.watermark()
    if start is None:
        first = Call.objects.order_by("created").values_list("created", flat=True).first()
        # A rebuild starts at the oldest raw record kept: the rollups of hours
        # already pruned stay (prune cuts at whole hours, so none is partial).
        start = floor_to(first, 3600) if first else until
    while start < until:
        end = min(floor_to(start, 86400) + DAY, until)
        with transaction.atomic():
            result.rows += roll_day(start, end)
            RollupState.objects.update_or_create(pk=1, defaults={"rolled_until": end})
        result.hours += int((end - start).total_seconds() // 3600)
        start = end
    if start >= until:
        RollupState.objects.update_or_create(pk=1, defaults={"rolled_until": max(start, until)})
    result.rolled_until = RollupState.watermark()
    return result


def prune(now: datetime | None = None, result: Result | None = None) -> Result:
    """Delete raw records past CALL_RETENTION_DAYS (only those already rolled
    up) and rollups past ROLLUP_RETENTION_DAYS."""
    now = now or timezone.now()
    result = result or Result()
    watermark = RollupState.watermark()
    if watermark is not None:
        cutoff = floor_to(min(now - timedelta(days=settings.CALL_RETENTION_DAYS), watermark), 3600)
        result.raw_deleted, _ = Call.objects.filter(created__lt=cutoff).delete()
    cutoff = now - timedelta(days=settings.ROLLUP_RETENTION_DAYS)
    result.rollups_deleted, _ = CallRollup.objects.filter(bucket__lt=cutoff).delete()
    return result
