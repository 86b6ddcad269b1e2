"""A product's number of subscriptions allowed per user (API Management's
subscriptionsLimit): the demo's Starter allows one, so a developer cannot
multiply its limits by subscribing again."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from apis.models import Product
from subscriptions import services
from subscriptions.models import Subscription, SubscriptionsLimitReached

pytestmark = pytest.mark.django_db


@pytest.fixture
def starter(demo_api):
    return Product.objects.get(slug="starter")


def test_the_demo_starter_allows_one_subscription_per_developer(starter):
    assert starter.subscriptions_limit == 1
    assert Product.objects.get(slug="unlimited").subscriptions_limit is None


def test_a_second_subscribe_is_refused_with_a_clear_message(client, alice, starter):
    client.force_login(alice)
    assert client.post(f"/accounts/subscriptions/new/{starter.slug}/", {"name": "first"}).status_code == 302
    response = client.post(f"/accounts/subscriptions/new/{starter.slug}/", {"name": "second"}, follow=True)
    assert response.redirect_chain[-1][0] == starter.get_absolute_url()
    page = response.content.decode()
    assert "You already have a subscription to Starter, the most it allows per developer." in page
    assert list(Subscription.objects.filter(user=alice).values_list("name", flat=True)) == ["first"]
    # The product page says so instead of offering the form again.
    assert f'id="subscriptions-limit-{starter.slug}"' in page
    assert 'class="subscribe-form"' not in page


def test_a_cancelled_subscription_leaves_room_for_a_new_one(client, alice, starter):
    services.subscribe(user=alice, product=starter).cancel()
    client.force_login(alice)
    client.post(f"/accounts/subscriptions/new/{starter.slug}/", {"name": "again"})
    assert Subscription.objects.filter(user=alice).open().count() == 1
    assert Subscription.objects.filter(user=alice).count() == 2


def test_each_developer_has_their_own_allowance(alice, bob, starter):
    services.subscribe(user=alice, product=starter)
    services.subscribe(user=bob, product=starter)
    with pytest.raises(SubscriptionsLimitReached):
        services.subscribe(user=alice, product=starter)


def test_a_product_without_a_limit_takes_any_number(alice, starter):
    starter.subscriptions_limit = None
    starter.save()
    for n in range(3):
        services.subscribe(user=alice, product=starter, name=f"s{n}")
    assert Subscription.objects.filter(user=alice).count() == 3


def test_the_admin_refuses_a_subscription_past_the_limit(admin_client, alice, starter):
    services.subscribe(user=alice, product=starter)
    response = admin_client.post(
        "/admin/subscriptions/subscription/add/",
        {"user": alice.pk, "product": starter.pk, "name": "one more", "state": "active"},
    )
    assert response.status_code == 200
    assert "the number allowed per user" in response.content.decode()
    assert Subscription.objects.filter(user=alice).count() == 1


def test_the_admin_cannot_reopen_past_the_limit_either(admin_client, alice, starter):
    old = services.subscribe(user=alice, product=starter)
    old.cancel()
    services.subscribe(user=alice, product=starter)
    response = admin_client.post(
        f"/admin/subscriptions/subscription/{old.pk}/change/",
        {"user": alice.pk, "product": starter.pk, "name": old.name, "state": "active"},
    )
    assert response.status_code == 200 and "the number allowed per user" in response.content.decode()
    old.refresh_from_db()
    assert old.state == Subscription.CANCELLED


def test_the_admin_can_still_rename_a_subscription_held_before_the_limit(admin_client, alice, starter):
    starter.subscriptions_limit = None
    starter.save()
    first = services.subscribe(user=alice, product=starter)
    services.subscribe(user=alice, product=starter)
    starter.subscriptions_limit = 1
    starter.save()
    response = admin_client.post(
        f"/admin/subscriptions/subscription/{first.pk}/change/",
        {"user": alice.pk, "product": starter.pk, "name": "renamed", "state": "active"},
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.name == "renamed"


@pytest.mark.django_db(transaction=True)
def test_parallel_subscribes_never_pass_the_limit(alice, starter):
    if connection.vendor != "postgresql":
        pytest.skip("Parallel subscribes need a database shared between threads (PostgreSQL).")
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def subscribe(n: int) -> None:
        try:
            barrier.wait()
            services.subscribe(user=alice, product=starter, name=f"racer {n}")
            outcomes.append("subscribed")
        except SubscriptionsLimitReached:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=subscribe, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused"] * 7 + ["subscribed"]
    assert Subscription.objects.filter(user=alice, product=starter).count() == 1
