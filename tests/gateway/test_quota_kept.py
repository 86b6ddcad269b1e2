"""The quota holds when the counters are lost: a restart of a gateway on
local memory, or a Redis that lost its keys, never grants calls again. A cold
counter starts from the call records of its window."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone

from gateway import counters
from gateway.models import Call
from tests.gateway.test_counters import cache  # noqa: F401  (the locmem and Redis fixture)
from tests.gateway.test_gateway import call

WEEK = 7 * 24 * 3600


def forget_counters(subscription) -> None:
    """What a restart does to local memory, or a Redis that lost its keys."""
    store = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(store, LocMemCache):
        store.clear()
    elif isinstance(store, RedisCache):
        # Only this subscription's keys: the Redis is shared (never FLUSHDB).
        client = store._cache.get_client(None, write=True)
        for name in ("rate", "quota"):
            for found in client.scan_iter(match=store.make_key(f"gw:{name}:{subscription.counter_id}*")):
                client.delete(found)
    else:  # pragma: no cover
        pytest.fail(f"No way to empty {type(store).__name__}")


@pytest.mark.django_db
def test_a_restart_keeps_the_quota_where_it_was(client, echo_api, product, subscription, key):
    product.rate_limit_calls = product.rate_limit_period = None
    product.save()
    for _ in range(16):
        response = call(client, "/gateway/echo/items/1", key)
    assert response["X-Quota-Remaining"] == "84"

    forget_counters(subscription)
    response = call(client, "/gateway/echo/items/1", key)
    assert response.status_code == 200
    assert response["X-Quota-Remaining"] == "83"
    assert call(client, "/gateway/echo/items/1", key)["X-Quota-Remaining"] == "82"


@pytest.mark.django_db
def test_an_exhausted_quota_stays_exhausted_after_a_restart(client, echo_api, product, subscription, key):
    product.rate_limit_calls = product.rate_limit_period = None
    product.quota_calls = 3
    product.save()
    for _ in range(3):
        assert call(client, "/gateway/echo/items/1", key).status_code == 200
    forget_counters(subscription)
    response = call(client, "/gateway/echo/items/1", key)
    assert response.status_code == 403
    assert response.json()["message"].startswith("Out of call volume quota.")


@pytest.mark.django_db
def test_calls_the_limits_refused_do_not_count_after_a_restart(client, echo_api, product, subscription, key):
    statuses = [call(client, "/gateway/echo/items/1", key).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    forget_counters(subscription)
    # Five admitted calls before, this one now; the two throttled ones did not count.
    assert call(client, "/gateway/echo/items/1", key)["X-Quota-Remaining"] == "94"


@pytest.mark.django_db
def test_only_calls_of_the_current_window_count(client, echo_api, product, subscription, key):
    product.rate_limit_calls = product.rate_limit_period = None
    product.save()
    now = timezone.now()
    subscription.started = now - timedelta(days=8)
    subscription.save(update_fields=["started"])

    def recorded(when, n, outcome=Call.SUCCESS):
        for _ in range(n):
            Call.objects.create(
                created=when,
                request_id=uuid.uuid4().hex,
                subscription=subscription,
                method="GET",
                path="/gateway/echo/items/1",
                status=200,
                outcome=outcome,
                total_ms=1,
            )

    recorded(now - timedelta(days=7, hours=1), 50)  # the previous week's window
    recorded(now - timedelta(hours=1), 10)
    recorded(now - timedelta(hours=1), 4, Call.QUOTA)
    assert call(client, "/gateway/echo/items/1", key)["X-Quota-Remaining"] == "89"


def test_a_cold_counter_asks_for_the_seed_once_per_window(cache):  # noqa: F811
    asked = []

    def seed(start: float, now: float) -> int:
        asked.append((start, now))
        return 7

    limits = counters.Limits(quota_calls=10, quota_period=WEEK)
    counter, started, now = uuid.uuid4().hex, 1_000_000.0, 1_000_000.0 + WEEK + 5
    first = counters.admit(counter, limits, started, now, cache=cache, seed=seed)
    second = counters.admit(counter, limits, started, now + 1, cache=cache, seed=seed)
    assert (first.quota_remaining, second.quota_remaining) == (2, 1)
    # The seed covers the window now falls in, from its start.
    assert asked == [(started + WEEK, now)]


def test_without_a_seed_a_cold_counter_starts_from_zero(cache):  # noqa: F811
    limits = counters.Limits(quota_calls=10, quota_period=WEEK)
    decision = counters.admit(uuid.uuid4().hex, limits, 0.0, 10.0, cache=cache)
    assert decision.quota_remaining == 9


def test_a_seed_at_the_quota_refuses_the_call(cache):  # noqa: F811
    limits = counters.Limits(rate_calls=5, rate_period=60, quota_calls=10, quota_period=WEEK)
    decision = counters.admit(uuid.uuid4().hex, limits, 0.0, 10.0, cache=cache, seed=lambda start, now: 10)
    assert decision.outcome == counters.QUOTA
    # The refused call took no rate-limit slot.
    assert decision.rate_remaining == 5
