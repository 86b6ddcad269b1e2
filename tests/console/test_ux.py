"""The console's second pass: one row per header, values kept per operation with
Reset to defaults, no stale "(no subscription key)", links back to the
operation, the last answer shown again after a reload."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apis import urltemplate
from console import build
from console.models import Send
from gateway.models import Subscription

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def logged_in(client, alice):
    client.force_login(alice)
    return client


def rrs(api):
    return api.operations.get(display_name="RRS Execute")


def test_a_declared_header_and_the_same_header_added_by_hand_are_sent_once():
    request = build.build(
        method="GET",
        template=urltemplate.parse("/x"),
        base_url="https://gw.example/api",
        required=set(),
        header_params={"authorization": True},
        data=build.ConsoleInput(headers=[("Authorization", ""), ("X-A", "1"), ("authorization", "Bearer typed-later")]),
    )
    assert request.ok
    assert request.headers == [("Authorization", "Bearer typed-later"), ("X-A", "1")]


def test_the_form_shows_a_header_added_twice_as_one_row(logged_in, demo_api):
    data = {
        "h_name": ["Authorization", "AUTHORIZATION"],
        "h_value": ["Bearer one", "Bearer two"],
        "action": "add-query",
    }
    html = logged_in.post(reverse("console-form", args=[rrs(demo_api).pk]), data, **HX).content.decode()
    assert html.lower().count('name="h_name" value="authorization"') == 1
    assert 'value="Bearer two"' in html and 'value="Bearer one"' not in html


def test_the_body_is_kept_per_operation_and_reset_to_defaults_brings_back_the_example(logged_in, demo_api):
    op, other = rrs(demo_api), demo_api.operations.get(display_name="BES Submit")
    example = op.representations.first().example
    logged_in.post(reverse("console-preview", args=[op.pk]), {"p_workspace": "my-ws", "body": '{"mine": 1}'}, **HX)
    page = logged_in.get(op.get_absolute_url()).content.decode()
    assert "{&quot;mine&quot;: 1}</textarea>" in page and 'value="my-ws"' in page
    assert "{&quot;mine&quot;: 1}" not in logged_in.get(other.get_absolute_url()).content.decode()

    assert "Reset to defaults" in page
    reset = logged_in.post(
        reverse("console-form", args=[op.pk]), {"p_workspace": "my-ws", "body": "x", "action": "reset-all"}, **HX
    ).content.decode()
    assert 'value="my-ws"' not in reset and "This is a good day" in reset
    again = logged_in.get(op.get_absolute_url()).content.decode()
    assert "{&quot;mine&quot;: 1}" not in again and "This is a good day" in again
    assert example.splitlines()[0] in again


def test_a_saved_no_key_choice_gives_way_to_the_subscription_to_this_api(logged_in, alice, demo_api):
    op = rrs(demo_api)
    logged_in.post(reverse("console-preview", args=[op.pk]), {"subscription": ""}, **HX)  # "(no subscription key)"
    sub = Subscription.objects.create(
        user=alice, product=demo_api.products.get(slug="starter"), name="New", state=Subscription.ACTIVE
    )
    html = logged_in.get(op.get_absolute_url()).content.decode()
    assert f'<option value="{sub.pk}:primary" selected>' in html


def test_sign_up_and_log_in_from_the_console_come_back_to_the_operation(client, demo_api):
    op = rrs(demo_api)
    html = client.get(op.get_absolute_url()).content.decode()
    back = f"{op.get_absolute_url()}%23try-it"
    assert f'href="/accounts/signup/?next={back}"' in html
    assert f'href="/accounts/login/?next={back}"' in html
    response = client.post(
        f"/accounts/signup/?next={op.get_absolute_url()}",
        {"email": "newcomer@example.com", "password": "a long and unusual passphrase"},
    )
    assert response.status_code == 302 and response["Location"] == op.get_absolute_url()


def test_after_a_send_the_page_shows_the_last_answer_again_without_sending(logged_in, backend, echo_api):
    op = echo_api["get"]
    fields = {"p_name": "box", "p_q": "x", "h_name": [], "h_value": [], "rep": "0"}
    logged_in.post(reverse("console-send", args=[op.pk]), fields, **HX)
    sends = len(backend.seen)
    html = logged_in.get(op.get_absolute_url()).content.decode()
    assert len(backend.seen) == sends  # nothing re-sent
    assert Send.objects.count() == 1
    assert 'class="response-status status-ok">200 OK' in html
    assert f"GET {backend.url}/gw/echo/things/box?q=x" in html
