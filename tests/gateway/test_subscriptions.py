"""Subscribing, seeing and rotating keys, cancelling; the admin's actions."""

from __future__ import annotations

import pytest
from django.core import mail

from subscriptions.models import Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def unlimited(db):
    from apis.models import Product

    return Product.objects.create(name="Unlimited", slug="unlimited-test", approval_required=True)


def test_the_product_page_offers_a_subscribe_button_to_a_developer(client, alice, product):
    client.force_login(alice)
    page = client.get(f"/products/{product.slug}/").content.decode()
    assert f'action="/accounts/subscriptions/new/{product.slug}/"' in page and "Subscribe" in page


def test_the_product_page_asks_a_visitor_to_log_in(client, product):
    page = client.get(f"/products/{product.slug}/").content.decode()
    assert "Log in to subscribe" in page


def test_subscribing_to_a_product_without_approval_gives_working_keys_at_once(client, alice, product):
    client.force_login(alice)
    response = client.post(f"/accounts/subscriptions/new/{product.slug}/", {"name": "My app"})
    assert response.status_code == 302 and response["Location"] == "/accounts/profile/"
    subscription = Subscription.objects.get(user=alice)
    assert subscription.is_active and subscription.started is not None and subscription.name == "My app"
    page = client.get("/accounts/profile/").content.decode()
    assert "My app" in page and "Active" in page
    # Keys are hidden until asked for.
    assert subscription.primary_key not in page and subscription.secondary_key not in page


def test_a_product_that_needs_approval_gives_a_submitted_subscription_and_tells_the_admin(client, alice, unlimited):
    client.force_login(alice)
    client.post(f"/accounts/subscriptions/new/{unlimited.slug}/")
    subscription = Subscription.objects.get(user=alice)
    assert subscription.state == "submitted" and subscription.name == "Unlimited subscription"
    assert len(mail.outbox) == 1 and "approve" in mail.outbox[0].subject.lower()
    assert "Waiting for an administrator" in client.get("/accounts/profile/").content.decode()


def test_an_admin_approves_and_the_developer_gets_an_email(admin_client, alice, unlimited):
    subscription = Subscription.objects.create(user=alice, product=unlimited, name="Prod")
    response = admin_client.post(
        "/admin/subscriptions/subscription/", {"action": "approve", "_selected_action": [subscription.pk]}
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.started
    assert mail.outbox[-1].to == ["alice@example.com"] and "active" in mail.outbox[-1].subject


def test_an_admin_suspends_and_reactivates(admin_client, subscription):
    admin_client.post(
        "/admin/subscriptions/subscription/", {"action": "suspend", "_selected_action": [subscription.pk]}
    )
    subscription.refresh_from_db()
    assert subscription.state == "suspended"
    admin_client.post(
        "/admin/subscriptions/subscription/", {"action": "reactivate", "_selected_action": [subscription.pk]}
    )
    subscription.refresh_from_db()
    assert subscription.state == "active"


def test_the_admin_never_shows_keys(admin_client, subscription):
    page = admin_client.get(f"/admin/subscriptions/subscription/{subscription.pk}/change/").content.decode()
    assert subscription.primary_key not in page and subscription.primary_digest not in page


def test_the_owner_reveals_a_key_on_request(client, alice, subscription):
    client.force_login(alice)
    fragment = client.get(f"/accounts/subscriptions/{subscription.pk}/keys/primary/", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "no-store" in fragment["Cache-Control"]
    html = fragment.content.decode()
    assert subscription.primary_key in html and subscription.secondary_key not in html
    assert "<html" not in html and "Copy" in html
    # Without htmx, the whole profile page with the key.
    page = client.get(f"/accounts/subscriptions/{subscription.pk}/keys/secondary/").content.decode()
    assert "<html" in page and subscription.secondary_key in page


def test_nobody_else_sees_or_touches_a_subscription(client, bob, subscription):
    client.force_login(bob)
    assert client.get(f"/accounts/subscriptions/{subscription.pk}/keys/primary/").status_code == 404
    assert client.post(f"/accounts/subscriptions/{subscription.pk}/keys/primary/regenerate/").status_code == 404
    assert client.post(f"/accounts/subscriptions/{subscription.pk}/cancel/").status_code == 404
    assert client.get(f"/accounts/subscriptions/{subscription.pk}/keys/tertiary/").status_code == 404


def test_regenerating_a_key_shows_the_new_one_and_keeps_the_other(client, alice, subscription):
    client.force_login(alice)
    old_primary, secondary = subscription.primary_key, subscription.secondary_key
    fragment = client.post(
        f"/accounts/subscriptions/{subscription.pk}/keys/primary/regenerate/", headers={"HX-Request": "true"}
    ).content.decode()
    subscription = Subscription.objects.get(pk=subscription.pk)
    assert subscription.primary_key != old_primary and subscription.primary_key in fragment
    assert subscription.secondary_key == secondary
    assert Subscription.objects.by_key(old_primary) is None


def test_cancelling_ends_the_subscription(client, alice, subscription):
    client.force_login(alice)
    response = client.post(f"/accounts/subscriptions/{subscription.pk}/cancel/")
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.state == "cancelled" and subscription.ended
    assert "Cancelled" in client.get("/accounts/profile/").content.decode()


def test_a_visitor_cannot_subscribe(client, product):
    response = client.post(f"/accounts/subscriptions/new/{product.slug}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Subscription.objects.exists()


def test_an_unpublished_product_cannot_be_subscribed_to(client, alice, product):
    product.published = False
    product.save()
    client.force_login(alice)
    assert client.post(f"/accounts/subscriptions/new/{product.slug}/").status_code == 404


def test_approving_in_the_change_form_also_emails_the_developer(admin_client, alice, unlimited):
    subscription = Subscription.objects.create(user=alice, product=unlimited, name="Prod")
    response = admin_client.post(
        f"/admin/subscriptions/subscription/{subscription.pk}/change/",
        {"user": alice.pk, "product": unlimited.pk, "name": "Prod", "state": "active"},
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.started
    assert mail.outbox[-1].to == ["alice@example.com"]
