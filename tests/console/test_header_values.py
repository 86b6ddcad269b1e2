"""A header value the console cannot send is a field error, not a 502 recorded as a backend error."""

from __future__ import annotations

import pytest
from django.urls import reverse

from gateway.models import Call

pytestmark = pytest.mark.django_db(transaction=True)

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.mark.parametrize("value", ["café", "→ next", "日本語"])
def test_a_non_ascii_header_value_is_refused_next_to_the_field(client, alice, tiny_server, proxied, value):
    client.force_login(alice)
    fields = {"p_name": "box", "h_name": ["X-Note"], "h_value": [value], "rep": "0"}
    response = client.post(reverse("console-send", args=[proxied["get"].pk]), fields, **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "A header value must be ASCII" in html
    assert "Nothing was sent" in html
    assert tiny_server.seen == [] and not Call.objects.exists()
