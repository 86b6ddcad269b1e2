"""Every page a developer or an admin sees: 0 critical and 0 serious axe-core
violations at 1280 px, and nothing wider than the viewport at 390 px.

One browser for the whole run (the session's `browser`), one context per
page, and the list of pages in one place so a new page is one more line.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from gateway.models import Call, Subscription
from tests import petstore
from tests.a11y import DESKTOP, PHONE, assert_accessible, assert_fits
from tests.screenshots import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def operation_url(api, name="RRS Execute"):
    return api.operations.get(display_name=name).get_absolute_url()


def petstore_url(key):
    from apis.models import Operation

    return Operation.objects.get(api__path="petstore", key=key).get_absolute_url()


# (id, who is logged in, where: a path or a function of the demo's api, service and a call)
PAGES = [
    ("home", None, "/"),
    ("api-list", None, "/apis/"),
    ("api-detail", None, lambda api, service, call: api.get_absolute_url()),
    ("operation-anonymous", None, lambda api, service, call: operation_url(api)),
    ("operation-schemas", None, lambda *_: petstore_url("addPet")),
    ("product-list", None, "/products/"),
    ("product-detail", None, "/products/starter/"),
    ("login", None, "/accounts/login/"),
    ("signup", None, "/accounts/signup/"),
    ("password-reset", None, "/accounts/password-reset/"),
    ("not-found", None, "/no-such-page/"),
    ("operation-console", "alice", lambda api, service, call: operation_url(api)),
    ("operation-bes", "alice", lambda api, service, call: operation_url(api, "BES Submit")),
    ("operation-schemas-console", "alice", lambda *_: petstore_url("findPetsByStatus")),
    ("profile", "alice", "/accounts/profile/"),
    ("usage", "alice", "/monitoring/usage/"),
    ("monitoring", "boss", "/monitoring/"),
    ("monitoring-call", "boss", lambda api, service, call: f"/monitoring/calls/{call.pk}/"),
    ("ml-dashboard", "boss", "/ml/"),
    ("ml-service", "boss", lambda api, service, call: f"/ml/services/{service.service_id}/"),
    ("ml-rrs-help", "boss", lambda api, service, call: f"/ml/services/{service.service_id}/rrs/"),
    ("ml-bes-help", "boss", lambda api, service, call: f"/ml/services/{service.service_id}/bes/"),
    ("admin-index", "boss", "/admin/"),
    ("admin-import-openapi", "boss", lambda *_: reverse("admin:apis_api_import")),
    ("admin-api", "boss", lambda api, service, call: reverse("admin:apis_api_change", args=[api.pk])),
    (
        "admin-operation",
        "boss",
        lambda api, service, call: reverse(
            "admin:apis_operation_change", args=[api.operations.get(display_name="RRS Execute").pk]
        ),
    ),
    (
        "admin-product",
        "boss",
        lambda api, service, call: reverse("admin:apis_product_change", args=[api.products.get(slug="starter").pk]),
    ),
    ("admin-subscriptions", "boss", lambda *_: reverse("admin:subscriptions_subscription_changelist")),
    ("admin-calls", "boss", lambda *_: reverse("admin:gateway_call_changelist")),
    (
        "admin-webservice",
        "boss",
        lambda api, service, call: reverse("admin:mlservice_webservice_change", args=[service.pk]),
    ),
]


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def site(live_server, settings, admin_user, alice):
    """The demo, alice subscribed to Starter, and one recorded call."""
    from apis import demo
    from mlservice import demo as ml_demo

    settings.GATEWAY_URL = f"{live_server.url}/gateway"
    settings.MLSERVICE_URL = f"{live_server.url}/ml"
    settings.CONSOLE_TRANSPORT = "inprocess"
    settings.GATEWAY_RECORD_ASYNC = False
    api = demo.load()
    service = ml_demo.load(api)
    petstore.load()  # schema trees and schema-driven console fields
    subscription = Subscription.objects.create(
        user=alice, product=api.products.get(slug="starter"), name="Tests", state=Subscription.ACTIVE
    )
    # A few hours of calls, so that monitoring draws its charts and tables.
    now = timezone.now()
    operation = api.operations.get(display_name="RRS Execute")
    outcomes = [(200, Call.SUCCESS)] * 6 + [(401, Call.UNAUTHORIZED), (429, Call.THROTTLED), (502, Call.BACKEND_ERROR)]
    calls = [
        Call(
            created=now - timedelta(minutes=7 * i),
            request_id=f"r{i}",
            api=api,
            operation=operation,
            product=subscription.product,
            subscription=subscription,
            user=alice,
            method="POST",
            path=f"/gateway/{api.path}/workspaces/ws/services/svc/execute",
            status=outcomes[i % len(outcomes)][0],
            outcome=outcomes[i % len(outcomes)][1],
            total_ms=20 + (i * 37) % 180,
            backend_ms=10 + (i * 37) % 150,
        )
        for i in range(40)
    ]
    Call.objects.bulk_create(calls)
    return api, service, Call.objects.order_by("created").last()


def open_as(browser, client, live_server, user, viewport):
    context = browser.new_context(viewport=viewport)
    if user is not None:
        client.force_login(user)
        context.add_cookies(
            [
                {
                    "name": django_settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


# The README's screenshots at 1280 and 390 px (`make screenshots`).
SHOTS = {"home", "api-detail", "operation-console", "product-list", "monitoring", "ml-service"}


@pytest.mark.parametrize(
    "name, who, where",
    [pytest.param(name, who, where, id=name) for name, who, where in PAGES],
)
def test_the_page_has_no_serious_violations_and_fits_a_phone(
    browser, client, live_server, site, name, who, where, admin_user, alice
):
    url = where if isinstance(where, str) else where(*site)
    user = {"alice": alice, "boss": admin_user, None: None}[who]
    page = open_as(browser, client, live_server, user, DESKTOP)
    try:
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == (404 if name == "not-found" else 200), url
        if name in SHOTS:
            screenshot(page, name)
        assert_accessible(page)
        page.set_viewport_size(PHONE)
        if name in SHOTS:
            screenshot(page, name)
        assert_fits(page)
    finally:
        page.context.close()


def test_the_console_after_send_has_no_serious_violations_and_fits_a_phone(browser, client, live_server, site, alice):
    api, service, call = site
    page = open_as(browser, client, live_server, alice, DESKTOP)
    try:
        page.goto(f"{live_server.url}{operation_url(api)}")
        page.get_by_label("Authorization value").fill(f"Bearer {service.primary_key}")
        page.get_by_role("button", name="Send", exact=True).click()
        page.locator(".response-status").get_by_text("200 OK").wait_for()
        page.locator("pre.response-body .j-key").first.wait_for()
        page.locator(".console-io").scroll_into_view_if_needed()
        screenshot(page, "operation-after-send")
        assert_accessible(page)
        page.set_viewport_size(PHONE)
        page.locator(".console-result").scroll_into_view_if_needed()
        screenshot(page, "operation-after-send")
        assert_fits(page)
        send = page.get_by_role("button", name="Send", exact=True)
        send.scroll_into_view_if_needed()
        box = send.bounding_box()
        # Reachable and not covered: the element at Send's centre is Send itself.
        assert page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y).closest('button.send') !== null",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
        )
        # The operation list is one click away on a phone too, and fits.
        page.get_by_text("All operations").click()
        assert page.get_by_role("navigation", name=f"Operations of {api.name}").get_by_role("link").count() == 5
        assert_fits(page)
    finally:
        page.context.close()
