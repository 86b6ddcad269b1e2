"""Subscription moved from the gateway app to its own, keeping its table: a
database made before the move keeps every subscription, key and call."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("gateway", "0002_call_bad_request_outcome"), ("subscriptions", None)]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state([t for t in targets if t[1]]).apps


@pytest.mark.django_db(transaction=True)
def test_an_existing_database_keeps_its_subscriptions_keys_and_calls(alice):
    old = _migrate(BEFORE)
    ContentType.objects.get_or_create(app_label="gateway", model="subscription")
    OldProduct = old.get_model("apis", "Product")
    OldSubscription = old.get_model("gateway", "Subscription")
    OldCall = old.get_model("gateway", "Call")
    product = OldProduct.objects.create(name="Starter", slug="starter-old")

    from subscriptions.models import encrypt_key, key_digest

    key = "a" * 64
    old_sub = OldSubscription.objects.create(
        user_id=alice.pk,
        product_id=product.pk,
        name="made before the move",
        state="active",
        started=timezone.now(),
        primary_digest=key_digest(key),
        secondary_digest=key_digest("b" * 64),
        primary_encrypted=encrypt_key(key),
        secondary_encrypted=encrypt_key("b" * 64),
    )
    OldCall.objects.create(
        request_id="r1", subscription_id=old_sub.pk, method="GET", path="/x", status=200, outcome="success", total_ms=1
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    from gateway.models import Call
    from subscriptions.models import Subscription

    found, which = Subscription.objects.by_key(key)
    assert (found.pk, found.name, which) == (old_sub.pk, "made before the move", "primary")
    assert found.primary_key == key
    assert Call.objects.get(request_id="r1").subscription == found
    # The admin's permissions follow the model to its new app.
    assert ContentType.objects.filter(app_label="subscriptions", model="subscription").count() == 1
    assert not ContentType.objects.filter(app_label="gateway", model="subscription").exists()
    # New subscriptions continue the same table and id sequence.
    newer = Subscription.objects.create(user=alice, product=found.product, name="made after")
    assert newer.pk > old_sub.pk
    assert Subscription._meta.db_table == "gateway_subscription"
