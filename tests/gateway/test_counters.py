"""Counters under contention: N threads racing past a limit let exactly the
limit through, in local memory and in the real Redis of this machine."""

from __future__ import annotations

import multiprocessing
import os
import threading
import uuid

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from gateway import counters

REDIS_URL = os.getenv("REDIS_URL") or "redis://127.0.0.1:6379/0"


def redis_cache():
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": f"gw-test-{uuid.uuid4().hex}", "OPTIONS": {"socket_timeout": 2}})
    try:
        cache.get("ping")
    except Exception:
        if os.getenv("CI") or os.getenv("REDIS_URL"):
            raise
        pytest.skip(f"No Redis at {REDIS_URL}")
    return cache


@pytest.fixture(params=["locmem", "redis"])
def cache(request):
    if request.param == "locmem":
        return LocMemCache(f"gw-{uuid.uuid4().hex}", {})
    return redis_cache()


def race(cache, limits: counters.Limits, threads: int = 16, tries: int = 5) -> list[counters.Decision]:
    counter = uuid.uuid4().hex
    barrier = threading.Barrier(threads)
    decisions: list[counters.Decision] = []
    lock = threading.Lock()

    def worker():
        barrier.wait()
        for _ in range(tries):
            decision = counters.admit(counter, limits, started=0.0, cache=cache)
            with lock:
                decisions.append(decision)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=30)
    return decisions


def test_racing_threads_get_exactly_the_rate_limit_through(cache):
    decisions = race(cache, counters.Limits(rate_calls=7, rate_period=60))
    assert len(decisions) == 80
    assert sum(d.allowed for d in decisions) == 7
    refused = [d for d in decisions if not d.allowed]
    assert all(d.outcome == counters.RATE and 1 <= d.retry_after <= 60 for d in refused)
    assert sorted(d.rate_remaining for d in decisions if d.allowed) == list(range(7))


def test_a_caller_whose_clock_read_came_first_waits_no_longer_than_the_period(cache):
    # Threads read the clock before they reach the counter: the call admitted
    # just before this one may carry a later time than this one's.
    limits = counters.Limits(rate_calls=1, rate_period=60)
    counter = uuid.uuid4().hex
    assert counters.admit(counter, limits, 0.0, now=100.5, cache=cache).allowed
    refused = counters.admit(counter, limits, 0.0, now=100.0, cache=cache)
    assert refused.outcome == counters.RATE and refused.retry_after == 60


def test_racing_threads_get_exactly_the_quota_through(cache):
    decisions = race(cache, counters.Limits(quota_calls=11, quota_period=3600))
    assert sum(d.allowed for d in decisions) == 11
    assert all(d.outcome == counters.QUOTA for d in decisions if not d.allowed)


def test_a_call_refused_by_the_quota_does_not_use_the_rate_limit(cache):
    limits = counters.Limits(rate_calls=3, rate_period=60, quota_calls=1, quota_period=3600)
    counter = uuid.uuid4().hex
    assert counters.admit(counter, limits, 0.0, now=100.0, cache=cache).allowed
    over = counters.admit(counter, limits, 0.0, now=101.0, cache=cache)
    assert over.outcome == counters.QUOTA and over.rate_remaining == 2
    assert over.retry_after == 3600 - 101


def test_the_quota_renews_when_its_window_ends(cache):
    limits = counters.Limits(quota_calls=1, quota_period=10)
    counter = uuid.uuid4().hex
    assert counters.admit(counter, limits, 1000.0, now=1001.0, cache=cache).allowed
    assert not counters.admit(counter, limits, 1000.0, now=1009.0, cache=cache).allowed
    assert counters.admit(counter, limits, 1000.0, now=1010.0, cache=cache).allowed


def test_the_rate_limit_slides(cache):
    limits = counters.Limits(rate_calls=2, rate_period=10)
    counter = uuid.uuid4().hex
    assert counters.admit(counter, limits, 0.0, now=100.0, cache=cache).allowed
    assert counters.admit(counter, limits, 0.0, now=105.0, cache=cache).allowed
    refused = counters.admit(counter, limits, 0.0, now=109.0, cache=cache)
    assert not refused.allowed and refused.retry_after == 1
    assert counters.admit(counter, limits, 0.0, now=110.0, cache=cache).allowed
    assert not counters.admit(counter, limits, 0.0, now=114.0, cache=cache).allowed


def _admit_in_a_process(args) -> int:
    counter, tries = args
    limits = counters.Limits(rate_calls=7, rate_period=60)
    return sum(counters.admit(counter, limits, started=0.0).allowed for _ in range(tries))


def test_gateway_processes_share_exact_limits_through_the_configured_cache(settings):
    """Several gunicorn workers, each admitting with the cache of the settings
    (not one handed in): with Redis, exactly the limit gets through in all."""
    redis_cache()  # skip without Redis, as the other Redis tests do
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"gw-test-{uuid.uuid4().hex}",
        }
    }
    counter = uuid.uuid4().hex
    with multiprocessing.get_context("fork").Pool(4) as pool:
        admitted = pool.map(_admit_in_a_process, [(counter, 10)] * 4)
    assert sum(admitted) == 7
