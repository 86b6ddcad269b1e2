"""Rate-limit and quota arithmetic, in plain Python (no Django).

The rate limit is a sliding window *log*: the times of the calls admitted in
the last ``period`` seconds. It is exact (a burst at the end of one minute and
the start of the next cannot double the limit, as a fixed window would allow)
and its size is bounded by the limit itself. Redis runs the same algorithm in
a Lua script (``gateway.counters``); the local-memory backend runs these
functions under a lock.

The quota is a fixed window counted from the subscription's start: window
``n`` covers ``[start + n*period, start + (n+1)*period)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SlidingResult:
    allowed: bool
    # The log to keep: times of admitted calls still inside the window.
    log: tuple[float, ...]
    remaining: int
    # Whole seconds until one more call would be admitted (0 when allowed).
    retry_after: int


def sliding_window(log: Sequence[float], now: float, limit: int, period: float) -> SlidingResult:
    """Admit one call at ``now`` if fewer than ``limit`` calls were admitted
    in the ``period`` seconds before it."""
    kept = tuple(t for t in log if t > now - period)
    if len(kept) < limit:
        kept = kept + (now,)
        return SlidingResult(True, kept, limit - len(kept), 0)
    # The oldest call in the window leaves it at oldest + period. A caller
    # that read the clock before another's admitted call was logged sees that
    # call "in the future"; it still waits no longer than one period.
    oldest = min(min(kept), now) if kept else now
    return SlidingResult(False, kept, 0, retry_seconds(oldest + period - now))


def retry_seconds(seconds: float) -> int:
    """Seconds to wait, rounded up and at least one: a client that waits
    exactly this long is admitted."""
    return max(1, math.ceil(seconds - 1e-9))


@dataclass(frozen=True)
class QuotaWindow:
    index: int
    start: float
    end: float

    def seconds_left(self, now: float) -> int:
        return retry_seconds(self.end - now)


def quota_window(started: float, now: float, period: float) -> QuotaWindow:
    """The fixed quota window ``now`` falls in, counting from ``started``."""
    index = max(0, math.floor((now - started) / period))
    start = started + index * period
    return QuotaWindow(index, start, start + period)


def hhmmss(seconds: int) -> str:
    """API Management writes the time to a quota's renewal as HH:MM:SS; hours
    may exceed 24 (a weekly quota)."""
    seconds = max(0, int(seconds))
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
