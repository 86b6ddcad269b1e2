"""Hardening found in review: keys out of logs whatever their spelling, no 500s on odd input."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from gateway.apps import RedactKeys
from gateway.models import Subscription

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "line",
    [
        '"GET /gateway/echo/items/1?subscription-key=SECRETKEY HTTP/1.1" 401',
        '"GET /gateway/echo/items/1?a=1&SUBSCRIPTION-KEY=SECRETKEY HTTP/1.1" 401',
        '"GET /gateway/echo/items/1?subscription%2Dkey=SECRETKEY HTTP/1.1" 401',
        '"GET /gateway/echo/items/1?%73ubscription%2dkey=SECRETKEY&x=2 HTTP/1.1" 401',
    ],
)
def test_a_key_in_the_query_never_reaches_the_log_however_its_name_is_spelled(line):
    record = logging.LogRecord("django.server", logging.WARNING, __file__, 1, "%s", (line,), None)
    RedactKeys().filter(record)
    message = record.getMessage()
    assert "SECRETKEY" not in message and "[redacted]" in message


def test_a_key_encrypted_under_another_secret_asks_to_be_regenerated(client, alice, subscription, settings):
    settings.KEY_ENCRYPTION_KEY = "a different key than the one the keys were made with"
    client.force_login(alice)
    url = reverse("gateway-show-key", args=[subscription.pk, "primary"])
    page = client.get(url, headers={"HX-Request": "true"})
    assert page.status_code == 200
    assert "This key can no longer be read" in page.content.decode()
    client.post(reverse("gateway-regenerate-key", args=[subscription.pk, "primary"]))
    assert len(Subscription.objects.get(pk=subscription.pk).primary_key) == 64


def test_a_subscription_name_keeps_only_printable_characters(client, alice, product):
    client.force_login(alice)
    response = client.post(reverse("gateway-subscribe", args=[product.slug]), {"name": "my\x00 app\x07"})
    assert response.status_code == 302
    assert Subscription.objects.get(user=alice).name == "my app"
