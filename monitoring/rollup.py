"""Rolling raw call records up into hourly aggregates, and retention.

Hours are rolled up in order, a day at a time, each day in one transaction
that also moves the watermark, so an interrupted run never leaves an hour
half counted and the dashboard (which reads rollups before the watermark and
raw records after it) never counts a call twice. Only hours that ended
``lag`` ago are rolled up: the gateway writes a record when its call ends,
possibly from a background batch, so the newest minutes may still be filling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from gateway.models import Call
from monitoring.analytics import DIMENSIONS, P, EpochBucket, floor_to, raw_aggregates
from monitoring.models import BACKEND_BINS, TOTAL_BINS, CallRollup, RollupState

DEFAULT_LAG = timedelta(minutes=5)
CHUNK = timedelta(days=1)
FIELDS = ["calls", "total_ms", "backend_ms", "backend_calls", "bytes_in", "bytes_out", *TOTAL_BINS, *BACKEND_BINS]
EXTREMES = ["total_min", "total_max", "backend_min", "backend_max"]


@dataclass
class Result:
    hours: int = 0
    rows: int = 0
    raw_deleted: int = 0
    rollups_deleted: int = 0
    rolled_until: datetime | None = None


def roll_up(now: datetime | None = None, lag: timedelta = DEFAULT_LAG, rebuild: bool = False) -> Result:
    now = now or timezone.now()
    until = floor_to(now - lag, 3600)
    result = Result()
    start = None if rebuild else RollupState.watermark()
    if start is None:
        first = Call.objects.order_by("created").values_list("created", flat=True).first()
        start = floor_to(first, 3600) if first else until
        if rebuild:
            CallRollup.objects.all().delete()
    while start < until:
        end = min(start + CHUNK, until)
        with transaction.atomic():
            CallRollup.objects.filter(bucket__gte=start, bucket__lt=end).delete()
            rows = (
                Call.objects.filter(created__gte=start, created__lt=end)
                .order_by()
                .annotate(t=EpochBucket(F("created"), 3600))
                .values("t", *DIMENSIONS)
                .annotate(**raw_aggregates())
            )
            batch = [
                CallRollup(
                    bucket=datetime.fromtimestamp(row["t"], UTC),
                    **{d: row[d] for d in DIMENSIONS},
                    **{name: row[P + name] or 0 for name in FIELDS},
                    **{name: row[P + name] for name in EXTREMES},
                )
                for row in rows.iterator(chunk_size=5000)
            ]
            CallRollup.objects.bulk_create(batch, batch_size=2000)
            RollupState.objects.update_or_create(pk=1, defaults={"rolled_until": end})
        result.rows += len(batch)
        result.hours += int((end - start).total_seconds() // 3600)
        start = end
    result.rolled_until = start
    if result.rolled_until == until:
        RollupState.objects.update_or_create(pk=1, defaults={"rolled_until": until})
    return result


def prune(now: datetime | None = None, result: Result | None = None) -> Result:
    """Delete raw records past CALL_RETENTION_DAYS (only those already rolled
    up) and rollups past ROLLUP_RETENTION_DAYS."""
    now = now or timezone.now()
    result = result or Result()
    watermark = RollupState.watermark()
    if watermark is not None:
        cutoff = min(now - timedelta(days=settings.CALL_RETENTION_DAYS), watermark)
        result.raw_deleted, _ = Call.objects.filter(created__lt=cutoff).delete()
    cutoff = now - timedelta(days=settings.ROLLUP_RETENTION_DAYS)
    result.rollups_deleted, _ = CallRollup.objects.filter(bucket__lt=cutoff).delete()
    return result
