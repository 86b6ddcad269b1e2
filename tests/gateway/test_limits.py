"""The window arithmetic, without Django."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway import limits


def test_it_admits_up_to_the_limit_in_a_sliding_window():
    log: tuple[float, ...] = ()
    for n in range(5):
        result = limits.sliding_window(log, 100.0 + n, 5, 60)
        assert result.allowed and result.remaining == 4 - n
        log = result.log
    refused = limits.sliding_window(log, 110.0, 5, 60)
    assert not refused.allowed and refused.remaining == 0
    # The first call (at 100) leaves the window at 160: 50 seconds from 110.
    assert refused.retry_after == 50


def test_a_call_is_admitted_again_exactly_when_the_oldest_leaves_the_window():
    log = tuple(float(t) for t in range(5))
    assert not limits.sliding_window(log, 59.9, 5, 60).allowed
    assert limits.sliding_window(log, 60.0, 5, 60).allowed


def test_a_burst_across_a_minute_boundary_cannot_double_the_limit():
    log = tuple(59.0 + i * 0.1 for i in range(5))
    assert not limits.sliding_window(log, 61.0, 5, 60).allowed


def test_retry_after_is_rounded_up_and_at_least_one_second():
    assert limits.retry_seconds(0.01) == 1
    assert limits.retry_seconds(2.0) == 2
    assert limits.retry_seconds(2.1) == 3


def test_quota_windows_count_from_the_start():
    week = 7 * 24 * 3600
    window = limits.quota_window(1000.0, 1000.0 + week + 5, week)
    assert window.index == 1 and window.start == 1000.0 + week and window.end == 1000.0 + 2 * week
    assert window.seconds_left(1000.0 + week + 5) == week - 5


def test_it_writes_the_renewal_time_as_hours_minutes_seconds():
    assert limits.hhmmss(7 * 24 * 3600) == "168:00:00"
    assert limits.hhmmss(3661) == "01:01:01"
    assert limits.hhmmss(0) == "00:00:00"


@given(
    times=st.lists(st.floats(min_value=0, max_value=1000, allow_nan=False), max_size=60),
    limit=st.integers(min_value=1, max_value=10),
    period=st.integers(min_value=1, max_value=100),
)
def test_no_window_of_period_seconds_ever_admits_more_than_the_limit(times, limit, period):
    log: tuple[float, ...] = ()
    admitted = []
    for t in sorted(times):
        result = limits.sliding_window(log, t, limit, period)
        log = result.log
        if result.allowed:
            admitted.append(t)
    for t in admitted:
        assert sum(1 for u in admitted if t - period < u <= t) <= limit
