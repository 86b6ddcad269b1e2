"""The console form on the operation page: fields, headers, body, preview, values kept, history."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apis.models import Parameter
from console.models import SavedValues, Send
from subscriptions.models import Subscription

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def logged_in(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def subscriptions(alice, demo_api):
    from apis.models import Product

    starter, unlimited = Product.objects.get(slug="starter"), Product.objects.get(slug="unlimited")
    mine = Subscription.objects.create(user=alice, product=starter, name="My app", state=Subscription.ACTIVE)
    other = Subscription.objects.create(user=alice, product=unlimited, name="Prod", state=Subscription.ACTIVE)
    Subscription.objects.create(user=alice, product=starter, name="Old one", state=Subscription.CANCELLED)
    return mine, other


def rrs(demo_api):
    return demo_api.operations.get(display_name="RRS Execute")


def test_the_operation_page_shows_a_field_per_parameter_labelled_with_its_description(client, demo_api):
    html = client.get(rrs(demo_api).get_absolute_url()).content.decode()
    assert 'name="p_workspace"' in html and "The workspace id of the web service." in html
    assert 'name="p_apiversion" value="2.0"' in html
    assert 'name="p_details" value="true"' in html
    assert html.count('title="required"') >= 4


def test_allowed_values_are_a_dropdown(client, demo_api):
    op = rrs(demo_api)
    Parameter.objects.filter(operation=op, name="details").update(allowed_values="true\nfalse", default_value="false")
    html = client.get(op.get_absolute_url()).content.decode()
    assert f'<select id="c{op.pk}-p-details" name="p_details"' in html
    assert '<option value="false" selected>false</option>' in html


def test_anonymous_visitors_see_how_to_get_a_key(client, demo_api):
    html = client.get(rrs(demo_api).get_absolute_url()).content.decode()
    assert "you need a subscription key" in html and "/accounts/signup/" in html
    assert '<button type="submit" class="send">' not in html


def test_the_key_dropdown_lists_active_subscriptions_grouped_by_product(logged_in, subscriptions):
    mine, other = subscriptions
    html = logged_in.get(mine.product.apis.first().operations.first().get_absolute_url()).content.decode()
    assert '<optgroup label="Starter">' in html and '<optgroup label="Unlimited">' in html
    assert f'<option value="{mine.pk}:primary" selected>My app: primary key</option>' in html
    assert "Old one" not in html
    assert mine.primary_key not in html


def test_the_preview_shows_url_raw_request_curl_and_python_with_the_key_masked(logged_in, subscriptions, demo_api):
    mine, _ = subscriptions
    op = rrs(demo_api)
    data = {
        "p_workspace": "ws",
        "p_service": "svc",
        "p_apiversion": "2.0",
        "p_details": "true",
        "h_name": ["Content-Type", "Authorization"],
        "h_value": ["application/json", "Bearer abcdefghijkl"],
        "subscription": f"{mine.pk}:primary",
        "body": "{}",
    }
    html = logged_in.post(reverse("console-preview", args=[op.pk]), data, **HX).content.decode()
    url = f"{demo_api.gateway_url}/workspaces/ws/services/svc/execute?api-version=2.0&amp;details=true"
    assert f"POST {url}" in html
    assert (
        "POST /gateway/azureml-demo/workspaces/ws/services/svc/execute?api-version=2.0&amp;details=true HTTP/1.1"
        in html
    )
    code = text_of(html, "snippet-code")
    assert code.startswith("curl -X POST")
    python = text_of(
        logged_in.post(reverse("console-preview", args=[op.pk]), data | {"snippet": "python"}, **HX).content.decode(),
        "snippet-code",
    )
    assert python.startswith("import requests") and "'Authorization': 'Bearer ••••••••ijkl'" in python
    assert mine.primary_key not in html and "abcdefghijkl" not in html
    assert "Ocp-Apim-Subscription-Key: ••••••••" + mine.primary_key[-4:] in html
    revealed = logged_in.post(reverse("console-preview", args=[op.pk]), data | {"reveal": "on"}, **HX).content.decode()
    assert mine.primary_key in revealed and "Bearer abcdefghijkl" in revealed


def text_of(html: str, css_class: str) -> str:
    """The text of the first element with this class, tags (Pygments' spans) stripped."""
    import html as html_module
    import re

    start = html.index(f'class="{css_class}') if f'class="{css_class}' in html else html.index(css_class)
    body = html[html.index(">", start) + 1 : html.index("</pre>", start)]
    return html_module.unescape(re.sub(r"<[^>]+>", "", body))


def test_someone_elses_subscription_cannot_be_used(client, bob, subscriptions, demo_api):
    mine, _ = subscriptions
    client.force_login(bob)
    data = {"p_workspace": "ws", "p_service": "svc", "subscription": f"{mine.pk}:primary", "reveal": "on"}
    html = client.post(reverse("console-preview", args=[rrs(demo_api).pk]), data, **HX).content.decode()
    assert mine.primary_key not in html and "Ocp-Apim-Subscription-Key" not in html


def test_a_json_body_is_checked_with_line_and_column(logged_in, demo_api):
    data = {"h_name": ["Content-Type"], "h_value": ["application/json"], "body": '{\n  "a": 1,\n  oops\n}'}
    html = logged_in.post(reverse("console-preview", args=[rrs(demo_api).pk]), data, **HX).content.decode()
    assert "Not valid JSON" in html and "line 3, column 3" in html and "You can still send it." in html
    assert 'hx-swap-oob="true"' in html


def test_header_rows_can_be_added_and_removed(logged_in, demo_api):
    op = rrs(demo_api)
    url = reverse("console-form", args=[op.pk])
    base = {"h_name": ["Content-Type", "X-One"], "h_value": ["application/json", "1"]}
    html = logged_in.post(url, base | {"action": "add-header"}, **HX).content.decode()
    assert html.count('name="h_name"') == 3
    html = logged_in.post(url, base | {"action": "remove-header-1"}, **HX).content.decode()
    assert html.count('name="h_name"') == 1 and "X-One" not in html


def test_extra_query_rows_can_be_added(logged_in, demo_api):
    html = logged_in.post(
        reverse("console-form", args=[rrs(demo_api).pk]), {"action": "add-query"}, **HX
    ).content.decode()
    assert html.count('name="q_name"') == 1


def test_the_representation_picker_and_reset_bring_back_the_example(logged_in, echo_api):
    op = echo_api["post"]
    url = reverse("console-form", args=[op.pk])
    page = logged_in.get(reverse("console-page", args=[op.pk])).content.decode()
    assert f'id="c{op.pk}-rep" name="rep"' in page
    html = logged_in.post(
        url,
        {"rep": "1", "action": "rep", "body": "typed", "h_name": ["Content-Type"], "h_value": ["application/json"]},
        **HX,
    ).content.decode()
    assert "&lt;a&gt;1&lt;/a&gt;</textarea>" in html and 'value="application/xml"' in html
    html = logged_in.post(url, {"rep": "0", "action": "reset-body", "body": "typed"}, **HX).content.decode()
    assert "{&quot;a&quot;: 1}</textarea>" in html


def test_values_typed_for_one_operation_prefill_the_others_and_survive_a_reload(logged_in, alice, demo_api):
    ops = list(demo_api.operations.all())
    data = {
        "p_workspace": "my-ws",
        "p_service": "my-svc",
        "h_name": ["Authorization", "X-Mine"],
        "h_value": ["Bearer sekrit-token-1", "yes"],
    }
    logged_in.post(reverse("console-preview", args=[ops[0].pk]), data, **HX)
    assert "sekrit" not in SavedValues.objects.get(user=alice).encrypted
    html = logged_in.get(ops[3].get_absolute_url()).content.decode()
    assert 'value="my-ws"' in html and 'value="my-svc"' in html
    assert 'value="Bearer sekrit-token-1"' in html and 'value="X-Mine"' in html


def test_values_are_per_developer(client, alice, bob, demo_api):
    op = rrs(demo_api)
    client.force_login(alice)
    client.post(reverse("console-preview", args=[op.pk]), {"p_workspace": "alices-ws"}, **HX)
    client.force_login(bob)
    assert "alices-ws" not in client.get(op.get_absolute_url()).content.decode()


def test_a_history_entry_reloads_into_the_form_with_secrets_from_the_saved_values(logged_in, backend, echo_api, alice):
    op = echo_api["get"]
    data = {"p_name": "first", "p_q": "z", "h_name": ["Authorization"], "h_value": ["Bearer tok-123456789"]}
    logged_in.post(reverse("console-send", args=[op.pk]), data, **HX)
    logged_in.post(reverse("console-preview", args=[op.pk]), data | {"p_name": "changed"}, **HX)
    sent = Send.objects.get()
    html = logged_in.get(reverse("console-load", args=[sent.pk]), **HX).content.decode()
    assert 'name="p_name" value="first"' in html
    assert 'value="Bearer tok-123456789"' in html


def test_a_history_entry_can_be_re_sent(logged_in, backend, echo_api):
    op = echo_api["get"]
    data = {"p_name": "again", "h_name": ["Authorization"], "h_value": ["Bearer tok-123456789"]}
    first = logged_in.post(reverse("console-send", args=[op.pk]), data, **HX).content.decode()
    assert f'hx-swap-oob="afterbegin:#console-history-rows-{op.pk}"' in first and "again" in first
    sent = Send.objects.get()
    logged_in.post(reverse("console-send", args=[op.pk]), {"history": sent.pk}, **HX)
    assert [s["path"] for s in backend.seen] == ["/gw/echo/things/again"] * 2
    assert backend.seen[-1]["headers"]["Authorization"] == "Bearer tok-123456789"
    assert Send.objects.count() == 2


def test_the_history_keeps_only_the_last_sends(logged_in, backend, echo_api, alice):
    from console.models import HISTORY_SIZE

    for i in range(HISTORY_SIZE + 3):
        logged_in.post(reverse("console-send", args=[echo_api["get"].pk]), {"p_name": f"n{i}"}, **HX)
    kept = list(Send.objects.filter(user=alice).values_list("form__params__name", flat=True))
    # Pruned every few sends: never fewer than the last HISTORY_SIZE, never many more.
    assert HISTORY_SIZE <= len(kept) < HISTORY_SIZE + 5
    assert kept[:HISTORY_SIZE] == [f"n{i}" for i in range(HISTORY_SIZE + 2, 2, -1)]


def test_someone_elses_history_is_a_404(client, bob, logged_in, backend, echo_api):
    logged_in.post(reverse("console-send", args=[echo_api["get"].pk]), {"p_name": "x"}, **HX)
    client.force_login(bob)
    assert client.get(reverse("console-load", args=[Send.objects.get().pk])).status_code == 404


def test_a_turned_off_console_says_so_on_the_operation_page(client, demo_api):
    op = rrs(demo_api)
    op.console_enabled = False
    op.save()
    html = client.get(op.get_absolute_url()).content.decode()
    assert "The Try It console is turned off" in html and 'name="p_workspace"' not in html


def test_staff_can_follow_a_send_to_the_gateways_call_record(client, admin_user, alice, backend, echo_api):
    from gateway.models import Call

    client.force_login(alice)
    client.post(reverse("console-send", args=[echo_api["get"].pk]), {"p_name": "x"}, **HX)
    sent = Send.objects.get()
    call = Call.objects.create(
        request_id=sent.request_id, method="GET", path="/x", status=200, outcome="success", total_ms=1
    )
    assert client.get(reverse("console-call", args=[sent.pk])).status_code == 404  # developers: not theirs to see
    client.force_login(admin_user)
    response = client.get(reverse("console-call", args=[sent.pk]))
    assert response.status_code == 302 and response["Location"].endswith(f"/{call.pk}/")
