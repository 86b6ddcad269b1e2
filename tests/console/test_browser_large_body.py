# ruff: noqa: F811 - pytest fixtures imported from the console browser tests
"""In Chromium, with DEBUG on: a body of megabytes in the console, and an htmx error, never replace the page."""

from __future__ import annotations

import json

import pytest

from tests.console.test_browser import live_demo, log_in, subscribe  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def big_body() -> str:
    rows = [[f'review number {i}, with a comma and "quotes"'] for i in range(40_000)]
    return json.dumps({"Inputs": {"input1": {"ColumnNames": ["Col2"], "Values": rows}}, "GlobalParameters": {}})


def open_rrs(page, client, live_server, live_demo, alice):
    api, service = live_demo
    subscribe(alice, api)
    log_in(page, client, live_server, alice)
    operation = api.operations.get(display_name="RRS Execute")
    page.goto(f"{live_server.url}{operation.get_absolute_url()}")
    return operation


def test_a_two_megabyte_body_is_previewed_without_a_400_or_the_debug_page(
    live_server,
    page,
    live_demo,
    alice,
    client,
    settings,
):
    settings.DEBUG = True
    open_rrs(page, client, live_server, live_demo, alice)
    body = big_body()
    with page.expect_response(lambda r: "/preview" in r.url) as answer:
        page.locator('textarea[name="body"]').fill(body)
    assert answer.value.status == 200
    page.locator(".raw-request").get_by_text("Send sends the whole body").wait_for()
    assert page.locator("h1").inner_text() == "RRS Execute"
    assert page.locator("#try-it").is_visible()


def test_a_body_over_the_gateways_limit_is_refused_next_to_the_field_before_sending(
    live_server,
    page,
    live_demo,
    alice,
    client,
    settings,
):
    settings.GATEWAY_MAX_REQUEST_BYTES = 1_000_000
    open_rrs(page, client, live_server, live_demo, alice)
    requests = []
    page.on("request", lambda r: requests.append(r.url) if r.method == "POST" else None)
    page.locator('textarea[name="body"]').fill(big_body())
    page.get_by_role("button", name="Send", exact=True).click()
    error = page.locator(".console-body .errorlist")
    error.get_by_text("the gateway accepts at most 1,000,000 bytes. Nothing was sent.").wait_for()
    page.wait_for_timeout(500)
    assert requests == []


def test_an_htmx_error_is_shown_in_the_console_and_the_page_stays(
    live_server,
    page,
    live_demo,
    alice,
    client,
    settings,
):
    settings.DEBUG = True
    operation = open_rrs(page, client, live_server, live_demo, alice)
    operation.console_enabled = False  # the preview now answers 404
    operation.save()
    page.locator('textarea[name="body"]').fill("{}")
    page.locator(".console-result").get_by_text("The portal answered 404").wait_for()
    assert page.locator("h1").inner_text() == "RRS Execute"
    assert "Page not found" not in page.content()


def test_an_htmx_error_elsewhere_is_said_in_the_pages_error_area(
    live_server, page, live_demo, admin_user, client, settings
):
    settings.DEBUG = True
    api, service = live_demo
    log_in(page, client, live_server, admin_user)
    page.goto(f"{live_server.url}/ml/services/{service.service_id}/")
    admin_user.is_staff = False  # the keys are staff-only: the next htmx request answers 403
    admin_user.save()
    page.get_by_role("button", name="Show keys").click()
    page.locator("#page-error").get_by_text("The portal answered 403").wait_for()
    assert page.locator("h1").inner_text() == service.name
    assert "This page is for staff" not in page.locator("h1").inner_text()
