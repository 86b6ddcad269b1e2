"""The console in Chromium against a live server, through the real gateway.

The console reaches the gateway in-process (the default transport); the
gateway forwards over HTTP to the embedded ML service or to a tiny backend.
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings as django_settings

from gateway.models import Call
from subscriptions.models import Subscription

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GUIDE_FEATURES = ["1", "1", "2", "2", "0", "2", "0", "1"]


@pytest.fixture
def live_demo(live_server, settings):
    """The walkthrough's API and web service, served by the live server."""
    from apis import demo
    from mlservice import demo as ml_demo

    settings.GATEWAY_URL = f"{live_server.url}/gateway"
    settings.MLSERVICE_URL = f"{live_server.url}/ml"
    settings.CONSOLE_TRANSPORT = "inprocess"
    # The test database is SQLite in memory, where the gateway's background
    # record writer and a request thread writing at once fail with "table is locked".
    settings.GATEWAY_RECORD_ASYNC = False
    api = demo.load()
    service = ml_demo.load(api)
    return api, service


def log_in(page, client, live_server, user) -> None:
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


def subscribe(user, api) -> Subscription:
    product = api.products.get(slug="starter")
    return Subscription.objects.create(user=user, product=product, name="Tests", state=Subscription.ACTIVE)


def test_the_walkthrough_a_new_developer_calls_rrs_execute_from_try_it(live_server, page, live_demo):
    api, service = live_demo
    page.goto(f"{live_server.url}/accounts/signup/")
    page.fill("#id_email", "dana@example.com")
    page.fill("#id_password", "a long and unusual passphrase")
    page.get_by_role("button", name="Create account").click()
    page.goto(f"{live_server.url}/products/starter/")
    page.fill("#subscription-name-starter", "Walkthrough")
    page.get_by_role("button", name="Subscribe").click()
    page.get_by_text("You are subscribed to Starter").wait_for()

    page.goto(f"{live_server.url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="APIs").click()
    page.get_by_role("link", name="AzureML Demo API").first.click()
    page.get_by_role("link", name="RRS Execute").first.click()
    try_it = page.get_by_role("link", name="Try it")
    if try_it.count():
        try_it.first.click()
    console = page.locator("#try-it")
    console.locator('[name="p_workspace"]').fill(service.workspace_id)
    console.locator('[name="p_service"]').fill(service.service_id)
    console.locator('[name="p_apiversion"]').fill("2.0")
    console.locator('[name="p_details"]').fill("true")
    console.get_by_label("Authorization value").fill(f"Bearer {service.primary_key}")
    assert "This is a good day" in console.locator('textarea[name="body"]').input_value()
    assert console.locator('select[name="subscription"] option:checked').inner_text() == "Walkthrough: primary key"
    url = f"{live_server.url}/gateway/azureml-demo/workspaces/{service.workspace_id}/services/{service.service_id}/execute?api-version=2.0&details=true"
    page.locator(".request-url").get_by_text(url).wait_for()  # the live preview caught up
    raw = page.locator(".raw-request")
    raw.get_by_text(f"Authorization: Bearer ••••••••{service.primary_key[-4:]}").wait_for()
    assert service.primary_key not in raw.inner_text()

    console.get_by_role("button", name="Send", exact=True).click()
    result = page.locator(".console-result")
    result.locator(".response-status").wait_for()
    assert result.locator(".requested-url").inner_text() == f"POST {url}"
    assert result.locator(".response-status").inner_text() == "200 OK"
    headers = result.locator("table.response-headers").inner_text()
    assert "Content-Type" in headers and "X-Portico-Request-Id" in headers and "X-RateLimit-Remaining" in headers
    assert "calls left" in result.inner_text()
    result.locator("pre.response-body .j-key").first.wait_for()  # pretty-printed and highlighted
    content = json.loads(result.locator("pre.response-body").inner_text())
    row = content["Results"]["output1"]["value"]["Values"][0]
    assert row[0] == "This is a good day"
    assert [str(v) for v in row[-8:]] == GUIDE_FEATURES
    request_id = result.locator(".request-id").inner_text()
    assert Call.objects.get(request_id=request_id).status == 200
    page.locator(".console-history").get_by_text("200 OK").wait_for()


def test_the_sixth_call_within_a_minute_shows_the_429_with_its_countdown(live_server, page, live_demo, alice, client):
    api, service = live_demo
    subscribe(alice, api)
    log_in(page, client, live_server, alice)
    page.goto(f"{live_server.url}{api.operations.get(display_name='RRS Execute').get_absolute_url()}")
    page.get_by_label("Authorization value").fill(f"Bearer {service.primary_key}")
    send = page.get_by_role("button", name="Send", exact=True)
    for n in range(1, 6):
        send.click()
        page.locator(".calls-left").get_by_text(f"{5 - n} of 5").wait_for()
        assert page.locator(".response-status").inner_text() == "200 OK"
    send.click()
    page.locator(".response-status").get_by_text("429").wait_for()
    countdown = page.locator(".retry-after .countdown")
    first = int(countdown.inner_text())
    assert 0 < first <= 60
    page.wait_for_timeout(2200)
    assert int(countdown.inner_text()) < first
    rows = page.locator(".console-history tbody tr:not(.empty-row)")
    assert rows.count() == 6 and "429" in rows.first.inner_text()
    assert not page.locator(".console-history .empty-row").is_visible()


def test_a_missing_required_parameter_is_focused_with_its_message_and_a_summary_at_send(
    live_server, page, live_demo, alice, client
):
    api, service = live_demo
    subscribe(alice, api)
    log_in(page, client, live_server, alice)
    page.goto(f"{live_server.url}{api.operations.get(display_name='RRS Execute').get_absolute_url()}")
    page.locator('[name="p_workspace"]').fill("")
    page.get_by_role("button", name="Send", exact=True).click()
    field = page.locator('.field.error [name="p_workspace"]')
    field.wait_for()
    assert field.evaluate("el => el === document.activeElement")  # focused, so in view
    assert "This parameter is required." in page.locator(".field.error:has([name=p_workspace]) .errorlist").inner_text()
    summary = page.locator(".console-actions .error-summary")
    assert "Nothing was sent" in summary.inner_text()
    assert summary.get_by_role("link", name="workspace").get_attribute("href") == f"#{field.get_attribute('id')}"
    assert not Call.objects.exists()
    assert page.locator(".response-status").count() == 0


def test_a_backend_answering_with_script_shows_it_as_text_and_runs_nothing(
    live_server, page, tiny_server, alice, client, settings
):
    from apis.models import Api, Operation

    settings.GATEWAY_URL = f"{live_server.url}/gateway"
    settings.CONSOLE_TRANSPORT = "inprocess"
    settings.GATEWAY_RECORD_ASYNC = False
    api = Api.objects.create(
        name="Script API", path="scripty", service_url=f"{tiny_server.url}/x/y", subscription_required=False
    )
    op = Operation.objects.create(api=api, method="GET", url_template="/script", display_name="Script")
    log_in(page, client, live_server, alice)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{live_server.url}{op.get_absolute_url()}")
    page.get_by_role("button", name="Send", exact=True).click()
    body = page.locator("pre.response-body")
    body.wait_for()
    assert "<script>window.pwned = 1</script><b>bold</b>" in body.inner_text()
    assert page.evaluate("window.pwned") is None
    assert page.locator("pre.response-body b").count() == 0
    assert dialogs == []


def test_reload_back_and_forward_keep_the_last_request_and_answer_without_sending_again(
    live_server, page, live_demo, alice, client
):
    api, service = live_demo
    subscribe(alice, api)
    log_in(page, client, live_server, alice)
    rrs = api.operations.get(display_name="RRS Execute")
    page.goto(f"{live_server.url}{rrs.get_absolute_url()}")
    page.get_by_label("Authorization value").fill(f"Bearer {service.primary_key}")
    page.locator('[name="p_details"]').fill("false")
    page.get_by_role("button", name="Send", exact=True).click()
    page.locator(".response-status").get_by_text("200 OK").wait_for()
    request_id = page.locator(".request-id").inner_text()

    page.reload()
    assert page.locator(".response-status").inner_text() == "200 OK"
    assert page.locator(".request-id").inner_text() == request_id
    assert page.locator('[name="p_details"]').input_value() == "false"
    page.get_by_text("All operations").click()  # the operation list, one click away
    page.get_by_role("navigation", name=f"Operations of {api.name}").get_by_role("link", name="BES Status").click()
    page.get_by_role("heading", name="BES Status", level=1).wait_for()
    page.go_back()
    assert page.locator(".request-id").inner_text() == request_id
    page.go_forward()
    page.get_by_role("heading", name="BES Status", level=1).wait_for()
    assert Call.objects.count() == 1  # shown again from the history, never re-sent


def test_the_code_follows_the_language_picked_and_copies_as_shown(live_server, page, live_demo, alice, client):
    api, service = live_demo
    subscribe(alice, api)
    log_in(page, client, live_server, alice)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(f"{live_server.url}{api.operations.get(display_name='RRS Execute').get_absolute_url()}")
    page.get_by_label("Authorization value").fill(f"Bearer {service.primary_key}")
    page.get_by_label("Code", exact=True).select_option(label="Python (requests)")
    code = page.locator(".snippet-code")
    page.wait_for_function("() => document.querySelector('.snippet-code').textContent.startsWith('import requests')")
    assert f"'Authorization': 'Bearer ••••••••{service.primary_key[-4:]}'" in code.inner_text()
    assert code.locator("span").count() > 10  # highlighted by Pygments
    page.get_by_role("button", name="Copy").click()
    page.get_by_text("Copied.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == code.text_content()
