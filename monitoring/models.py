"""Rollups of the gateway's call records, for dashboards over long ranges.

Three kinds of rows, each with counts, sums and two latency histograms (total
and backend, see ``monitoring.histogram``):

- HOUR: per hour and per combination of API, operation, product,
  subscription, developer and outcome that had calls in that hour;
- DAY: the same per day (the day holding the watermark covers it up to the
  watermark), for the tables of long ranges;
- TOTAL: per hour and outcome only, for the charts of unfiltered views.

``RollupState`` holds the watermark: every hour before it is rolled up, so a
range is read from rollups up to the watermark and from raw records after it,
and no call is counted twice or missed.
"""

from __future__ import annotations

from django.db import models

from gateway.models import Call
from monitoring import histogram

TOTAL_BINS = [f"t{i:02d}" for i in range(histogram.BINS)]
BACKEND_BINS = [f"b{i:02d}" for i in range(histogram.BINS)]


class CallRollup(models.Model):
    HOUR, DAY, TOTAL = "h", "d", "t"
    KINDS = [(HOUR, "hour"), (DAY, "day"), (TOTAL, "hour, all calls by outcome")]

    kind = models.CharField(max_length=1, choices=KINDS, default=HOUR)
    bucket = models.DateTimeField(help_text="Start of the hour or day (UTC).")
    # Plain ids rather than foreign keys: a rollup outlives the rows it
    # summarises (a deleted subscription keeps its history), and the raw
    # records' own foreign keys already set these to NULL on deletion.
    api_id = models.BigIntegerField(null=True)
    operation_id = models.BigIntegerField(null=True)
    product_id = models.BigIntegerField(null=True)
    subscription_id = models.BigIntegerField(null=True)
    user_id = models.BigIntegerField(null=True)
    outcome = models.CharField(max_length=16)
    calls = models.BigIntegerField(default=0)
    total_ms = models.FloatField(default=0)
    backend_ms = models.FloatField(default=0)
    backend_calls = models.BigIntegerField(default=0)
    bytes_in = models.BigIntegerField(default=0)
    bytes_out = models.BigIntegerField(default=0)
    # The extremes bound the histogram's estimate: a percentile of a few
    # calls of the same latency is then that latency, not a bin's midpoint.
    total_min = models.FloatField(null=True)
    total_max = models.FloatField(null=True)
    backend_min = models.FloatField(null=True)
    backend_max = models.FloatField(null=True)
    for _name in TOTAL_BINS + BACKEND_BINS:
        locals()[_name] = models.IntegerField(default=0)
    del _name

    class Meta:
        indexes = [
            models.Index(fields=["kind", "bucket"], name="rollup_kind_bucket"),
            models.Index(fields=["api_id", "bucket"], name="rollup_api_bucket"),
            models.Index(fields=["operation_id", "bucket"], name="rollup_operation_bucket"),
            models.Index(fields=["product_id", "bucket"], name="rollup_product_bucket"),
            models.Index(fields=["subscription_id", "bucket"], name="rollup_subscription_bucket"),
            models.Index(fields=["user_id", "bucket"], name="rollup_user_bucket"),
        ]

    def __str__(self) -> str:
        return f"{self.bucket:%Y-%m-%d %H:00} {self.outcome}: {self.calls}"


class RollupState(models.Model):
    """A single row: everything before ``rolled_until`` is in CallRollup."""

    rolled_until = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"Rolled up until {self.rolled_until}"

    @classmethod
    def watermark(cls):
        row = cls.objects.filter(pk=1).first()
        return row.rolled_until if row else None


class Dashboard(Call):
    """No table of its own: gives the dashboard an entry on the admin index
    (monitoring/admin.py sends it to /monitoring/)."""

    class Meta:
        proxy = True
        verbose_name = "dashboard"
        verbose_name_plural = "Monitoring dashboard"
