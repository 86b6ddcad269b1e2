"""The arithmetic behind the dashboard: no database."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from monitoring import charts, histogram
from monitoring.analytics import bucket_size, plan

T = datetime(2026, 11, 26, 10, 17, tzinfo=UTC)


def test_it_estimates_percentiles_within_a_few_percent():
    rng = random.Random(1)
    values = sorted(rng.lognormvariate(4, 0.7) for _ in range(20000))
    counts = histogram.empty()
    for v in values:
        counts[histogram.bin_of(v)] += 1
    for q in (50, 95):
        exact = values[int(q / 100 * len(values))]
        assert abs(histogram.percentile(counts, q) - exact) / exact < 0.05


def test_it_has_no_percentile_without_calls():
    assert histogram.percentile(histogram.empty(), 50) is None


def test_it_reads_short_ranges_from_raw_records_only():
    assert plan(T - timedelta(hours=1), T, T, hourly=False) == [("raw", T - timedelta(hours=1), T)]


def test_it_reads_whole_rolled_up_hours_and_raw_edges():
    start, end = T - timedelta(days=7), T
    watermark = datetime(2026, 11, 26, 9, tzinfo=UTC)
    assert plan(start, end, watermark, hourly=True) == [
        ("raw", start, datetime(2026, 11, 19, 11, tzinfo=UTC)),
        ("rollup", datetime(2026, 11, 19, 11, tzinfo=UTC), watermark),
        ("raw", watermark, end),
    ]


def test_it_reads_raw_records_before_any_rollup():
    assert plan(T - timedelta(days=7), T, None, hourly=True) == [("raw", T - timedelta(days=7), T)]


def test_it_picks_readable_buckets():
    assert bucket_size(T - timedelta(hours=1), T, hourly=False) == 60
    assert bucket_size(T - timedelta(days=1), T, hourly=True) == 3600
    assert bucket_size(T - timedelta(days=7), T, hourly=True) == 3600
    assert bucket_size(T - timedelta(days=30), T, hourly=True) == 6 * 3600


def test_it_labels_a_chart():
    buckets = [T + timedelta(minutes=i) for i in range(3)]
    svg = charts.stacked_bars("Calls", "calls per minute", buckets, 60, {"success": [1, 2, 0]}, {"success": "Success"})
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert "calls per minute" in svg and "Success" in svg and "<title>Success: 2</title>" in svg


def test_it_reads_whole_days_from_day_rollups():
    from monitoring.analytics import split_days

    day = datetime(2026, 11, 20, tzinfo=UTC)
    start, watermark = day - timedelta(hours=5), day + timedelta(days=3, hours=9)
    assert split_days(start, watermark, watermark) == [("h", start, day), ("d", day, watermark)]
    end = day + timedelta(days=2, hours=4)
    assert split_days(start, end, watermark) == [
        ("h", start, day),
        ("d", day, day + timedelta(days=2)),
        ("h", day + timedelta(days=2), end),
    ]
    assert split_days(day + timedelta(hours=1), day + timedelta(hours=5), watermark) == [
        ("h", day + timedelta(hours=1), day + timedelta(hours=5))
    ]
