"""Rules written once: what the admin accepts as a header name the console
can send, the key header everyone names the same way, one quota window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib import admin
from django.test import RequestFactory

from apis import urltemplate
from apis.admin import ParameterInline
from apis.models import Operation, Parameter
from console import build
from gateway import httputil
from gateway.limits import quota_window
from subscriptions import keys

NAMES = ["X-Trace", "x_trace.1", "Accept", "Ünicode", "X²", "Ⅻ", "two words", "a:b", "", "X-Ok~|`^"]


def console_accepts(name: str) -> bool:
    built = build.build(
        method="GET",
        template=urltemplate.parse("/items"),
        base_url="http://testserver/gateway/echo",
        required=set(),
        header_params={},
        data=build.ConsoleInput(headers=[(name, "v")]),
    )
    return "h_0" not in built.errors


def admin_accepts(operation: Operation, admin_user, name: str) -> bool:
    request = RequestFactory().get("/")
    request.user = admin_user
    form_class = ParameterInline(Operation, admin.site).get_formset(request, operation).form
    data = {"name": name, "location": Parameter.HEADER, "type": "string", "description": "", "default_value": ""}
    form = form_class(data, instance=Parameter(operation=operation))
    return form.is_valid()


@pytest.mark.django_db
def test_the_admin_accepts_exactly_the_header_names_the_console_can_send(demo_api, admin_user):
    operation = demo_api.operations.first()
    verdicts = {name: (admin_accepts(operation, admin_user, name), console_accepts(name)) for name in NAMES}
    assert {name: a for name, (a, c) in verdicts.items()} == {name: c for name, (a, c) in verdicts.items()}
    # Non-ASCII letters and digits (which str.isalnum() takes) are refused by both.
    assert verdicts["Ünicode"] == verdicts["X²"] == (False, False)
    assert verdicts["X-Trace"] == verdicts["X-Ok~|`^"] == (True, True)


def test_every_part_names_the_key_header_and_parameter_the_same():
    assert httputil.KEY_HEADER == keys.KEY_HEADER.lower() == "ocp-apim-subscription-key"
    assert httputil.KEY_META == "HTTP_OCP_APIM_SUBSCRIPTION_KEY"
    assert httputil.split_key_from_query("a=1&subscription-key=k") == ("a=1", "k")
    built = build.build(
        method="GET",
        template=urltemplate.parse("/items"),
        base_url="http://testserver/gateway/echo",
        required=set(),
        header_params={},
        data=build.ConsoleInput(key="k"),
    )
    assert ("Ocp-Apim-Subscription-Key", "k") in built.headers


def test_a_key_longer_than_the_cap_is_not_looked_up():
    assert keys.is_well_formed("k" * keys.KEY_MAX_LENGTH)
    assert not keys.is_well_formed("k" * (keys.KEY_MAX_LENGTH + 1))
    assert not keys.is_well_formed("")
    assert not keys.is_well_formed("key\nwith a line break")


@pytest.mark.django_db
def test_the_usage_panel_and_the_gateway_agree_on_the_quota_window(alice):
    from apis.models import Product
    from monitoring import analytics
    from subscriptions.models import Subscription

    product = Product.objects.create(name="Weekly", slug="weekly", quota_calls=100, quota_period=7 * 86400)
    started = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    sub = Subscription.objects.create(user=alice, product=product, name="s", state="active", started=started)
    now = started + timedelta(days=9)
    window = quota_window(sub.quota_start, now.timestamp(), product.quota_period)
    assert analytics.quota_window(sub, now) == (started + timedelta(days=7), started + timedelta(days=14))
    assert window.start == (started + timedelta(days=7)).timestamp()
