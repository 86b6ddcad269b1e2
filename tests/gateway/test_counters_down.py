"""Redis down: by default a call is refused with a clear 503 rather than let
past an exhausted limit; GATEWAY_COUNTERS_FAIL_OPEN keeps serving instead.
The Redis is real, at a loopback port nothing listens on."""

from __future__ import annotations

import logging
import socket

import pytest

from gateway.models import Call
from tests.gateway.test_gateway import call

pytestmark = pytest.mark.django_db

DOWN = {
    "statusCode": 503,
    "message": "Service unavailable: the rate limit and quota cannot be checked right now. Try again later.",
}


@pytest.fixture
def redis_down(settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Bound and closed: connections to it are refused.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "KEY_PREFIX": "counters-down",
            "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2},
        }
    }
    return settings


def test_by_default_a_call_is_refused_when_the_limits_cannot_be_checked(
    client, echo_api, subscription, key, redis_down
):
    assert redis_down.GATEWAY_COUNTERS_FAIL_OPEN is False
    response = call(client, "/gateway/echo/items/1", key)
    assert response.status_code == 503
    assert response.json() == DOWN
    assert "X-Quota-Remaining" not in response
    record = Call.objects.get()
    assert (record.outcome, record.status, record.subscription_id) == ("unavailable", 503, subscription.pk)
    assert response["X-Portico-Request-Id"] == record.request_id
    # A call refused this way does not count against the quota later.
    assert Call.objects.counted(subscription.pk, record.created, record.created) == 0


def test_fail_open_admits_the_call_with_a_warning(client, echo_api, key, redis_down, caplog):
    redis_down.GATEWAY_COUNTERS_FAIL_OPEN = True
    with caplog.at_level(logging.WARNING, logger="gateway.views"):
        response = call(client, "/gateway/echo/items/1", key)
    assert response.status_code == 200
    assert "X-RateLimit-Remaining" not in response
    assert "Rate limit and quota not enforced" in caplog.text
    assert Call.objects.get().outcome == "success"


def test_an_api_without_limits_keeps_working_with_redis_down(client, echo_api, product, key, redis_down):
    product.rate_limit_calls = product.rate_limit_period = None
    product.quota_calls = product.quota_period = None
    product.save()
    assert call(client, "/gateway/echo/items/1", key).status_code == 200
