"""Latency histograms: how percentiles are estimated the same way everywhere.

Raw call records and the hourly rollups both keep, per group, how many calls
fell into each of a fixed set of log-spaced latency bins (five per decade,
from 0.1 ms to 100 s). Histograms add up, so a percentile over any mix of raw
rows and rollups, on SQLite or PostgreSQL, is read from the summed bins with
log-linear interpolation inside the bin. The error is bounded by the width of
one bin (a factor of 10^(1/5) ~ 1.58) and is a few percent for the spread-out
latencies real traffic has. Plain Python, no Django.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence

PER_DECADE = 5
LOWEST_EXP, HIGHEST_EXP = -1, 5  # 0.1 ms .. 100 s
# EDGES[i] is the upper bound of bin i; the last bin is open-ended.
EDGES: tuple[float, ...] = tuple(
    10 ** (k / PER_DECADE) for k in range(LOWEST_EXP * PER_DECADE, HIGHEST_EXP * PER_DECADE + 1)
)
BINS = len(EDGES) + 1


def bounds(i: int) -> tuple[float, float]:
    """The [low, high) milliseconds of bin i (the last one is given a nominal top)."""
    low = 0.0 if i == 0 else EDGES[i - 1]
    high = EDGES[i] if i < len(EDGES) else EDGES[-1] * 10 ** (1 / PER_DECADE)
    return low, high


def bin_of(ms: float) -> int:
    for i, edge in enumerate(EDGES):
        if ms < edge:
            return i
    return len(EDGES)


def empty() -> list[int]:
    return [0] * BINS


def add(into: list[int], other: Sequence[int]) -> list[int]:
    # map() over operator.add: this runs for every group of every range shown.
    into[:] = map(operator.add, into, other)
    return into


def percentile(
    counts: Sequence[int], q: float, lowest: float | None = None, highest: float | None = None
) -> float | None:
    """The q-th percentile (0..100) of the latencies counted, None if none,
    kept within the lowest and highest latency seen when they are known."""
    estimate = _percentile(counts, q)
    if estimate is None:
        return None
    if lowest is not None:
        estimate = max(estimate, lowest)
    if highest is not None:
        estimate = min(estimate, highest)
    return estimate


def _percentile(counts: Sequence[int], q: float) -> float | None:
    total = sum(counts)
    if total == 0:
        return None
    rank = q / 100 * total
    seen = 0
    for i, n in enumerate(counts):
        if not n:
            continue
        if seen + n >= rank:
            low, high = bounds(i)
            fraction = (rank - seen) / n
            if low <= 0:
                return high * fraction
            # Latencies spread roughly log-uniformly inside a narrow bin.
            return math.exp(math.log(low) + fraction * (math.log(high) - math.log(low)))
        seen += n
    return bounds(BINS - 1)[1]
