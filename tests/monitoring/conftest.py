from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from gateway.models import Call
from subscriptions.models import Subscription


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # The shared fixtures create users with passwords; the default hasher
    # makes that take most of a test's time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def starter(demo_api):
    from apis.models import Product

    return Product.objects.get(slug="starter")


@pytest.fixture
def alice_sub(alice, starter):
    return Subscription.objects.create(
        user=alice,
        product=starter,
        name="Alice's app",
        state=Subscription.ACTIVE,
        started=timezone.now() - timedelta(days=2),
    )


@pytest.fixture
def bob_sub(bob, starter):
    return Subscription.objects.create(
        user=bob,
        product=starter,
        name="Bob's app",
        state=Subscription.ACTIVE,
        started=timezone.now() - timedelta(days=1),
    )


STATUS = {
    Call.SUCCESS: 200,
    Call.CLIENT_ERROR: 401,
    Call.UNAUTHORIZED: 401,
    Call.THROTTLED: 429,
    Call.QUOTA: 403,
    Call.NO_MATCH: 404,
    Call.BACKEND_ERROR: 502,
}


@pytest.fixture
def make_call(demo_api):
    """A call record as the gateway writes it."""
    operation = demo_api.operations.get(display_name="RRS Execute")
    counter = iter(range(1, 10**6))

    def make(
        sub=None, outcome=Call.SUCCESS, ago=timedelta(minutes=5), total_ms=20.0, backend_ms=15.0, op=operation, **extra
    ):
        known = outcome not in (Call.NO_MATCH,)
        return Call.objects.create(
            created=timezone.now() - ago,
            request_id=f"req{next(counter):06d}",
            api=demo_api,
            operation=op if known else None,
            product=sub.product if sub else None,
            subscription=sub,
            user=sub.user if sub else None,
            method=op.method,
            path="/gateway/azureml-demo/workspaces/ws/services/svc/execute?api-version=2.0&details=true",
            status=STATUS[outcome],
            outcome=outcome,
            total_ms=total_ms,
            backend_ms=backend_ms if outcome in (Call.SUCCESS, Call.CLIENT_ERROR, Call.BACKEND_ERROR) else None,
            bytes_in=extra.pop("bytes_in", 120),
            bytes_out=extra.pop("bytes_out", 300),
            **extra,
        )

    return make


@pytest.fixture
def burst(make_call, alice_sub, bob_sub):
    """Alice: 5 successes, 2 throttled, 1 backend error; bob: 3 successes;
    anonymous: 2 unauthorized, 1 no match. 14 calls in all."""
    calls = []
    for i in range(5):
        calls.append(make_call(alice_sub, total_ms=10 + i, ago=timedelta(minutes=10 + i)))
    calls += [make_call(alice_sub, Call.THROTTLED, total_ms=1) for _ in range(2)]
    calls.append(make_call(alice_sub, Call.BACKEND_ERROR, total_ms=80, backend_ms=75))
    calls += [make_call(bob_sub, total_ms=30) for _ in range(3)]
    calls += [make_call(None, Call.UNAUTHORIZED, total_ms=0.5) for _ in range(2)]
    calls.append(make_call(None, Call.NO_MATCH, total_ms=0.4))
    return calls
