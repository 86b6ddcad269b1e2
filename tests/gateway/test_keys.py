"""Finding a subscription by either of its keys."""

from __future__ import annotations

import pytest

from subscriptions.models import Subscription

pytestmark = pytest.mark.django_db


def test_the_gateway_lookup_finds_both_keys_with_the_products_limits(subscription, product):
    for which in ("primary", "secondary"):
        holder = Subscription.objects.holder_of(getattr(subscription, f"{which}_key"))
        assert holder.id == subscription.pk and holder.which == which
        assert holder.counter_id == subscription.counter_id and holder.quota_start == subscription.quota_start
        assert (holder.rate_limit_calls, holder.quota_calls) == (product.rate_limit_calls, product.quota_calls)


def test_the_gateway_lookup_knows_no_other_key(subscription):
    assert Subscription.objects.holder_of("0" * 64) is None
    assert Subscription.objects.holder_of("") is None
    assert Subscription.objects.holder_of(subscription.primary_digest) is None
