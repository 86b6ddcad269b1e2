"""Every page a developer or an admin sees: 0 critical and 0 serious axe-core
violations at 1280 px, and nothing wider than the viewport at 390 px.

One browser for the whole run (the session's `browser`), one context per
page, and the list of pages in one place so a new page is one more line.
"""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from gateway.models import Call, Subscription
from tests.a11y import DESKTOP, PHONE, assert_accessible, assert_fits

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def operation_url(api, name="RRS Execute"):
    return api.operations.get(display_name=name).get_absolute_url()


# (id, who is logged in, where: a path or a function of the demo's api, service and a call)
PAGES = [
    ("home", None, "/"),
    ("api-list", None, "/apis/"),
    ("api-detail", None, lambda api, service, call: api.get_absolute_url()),
    ("operation-anonymous", None, lambda api, service, call: operation_url(api)),
    ("product-list", None, "/products/"),
    ("product-detail", None, "/products/starter/"),
    ("login", None, "/accounts/login/"),
    ("signup", None, "/accounts/signup/"),
    ("password-reset", None, "/accounts/password-reset/"),
    ("not-found", None, "/no-such-page/"),
    ("operation-console", "alice", lambda api, service, call: operation_url(api)),
    ("operation-bes", "alice", lambda api, service, call: operation_url(api, "BES Submit")),
    ("profile", "alice", "/accounts/profile/"),
    ("usage", "alice", "/monitoring/usage/"),
    ("monitoring", "boss", "/monitoring/"),
    ("monitoring-call", "boss", lambda api, service, call: f"/monitoring/calls/{call.pk}/"),
    ("ml-dashboard", "boss", "/ml/"),
    ("ml-service", "boss", lambda api, service, call: f"/ml/services/{service.service_id}/"),
    ("ml-rrs-help", "boss", lambda api, service, call: f"/ml/services/{service.service_id}/rrs/"),
    ("ml-bes-help", "boss", lambda api, service, call: f"/ml/services/{service.service_id}/bes/"),
    ("admin-index", "boss", "/admin/"),
    ("admin-api", "boss", lambda api, service, call: f"/admin/apis/api/{api.pk}/change/"),
    (
        "admin-operation",
        "boss",
        lambda api, service, call: f"/admin/apis/operation/{api.operations.get(display_name='RRS Execute').pk}/change/",
    ),
    (
        "admin-product",
        "boss",
        lambda api, service, call: f"/admin/apis/product/{api.products.get(slug='starter').pk}/change/",
    ),
    ("admin-subscriptions", "boss", "/admin/gateway/subscription/"),
    ("admin-calls", "boss", "/admin/gateway/call/"),
    ("admin-webservice", "boss", lambda api, service, call: f"/admin/mlservice/webservice/{service.pk}/change/"),
]


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
    subscription = Subscription.objects.create(
        user=alice, product=api.products.get(slug="starter"), name="Tests", state=Subscription.ACTIVE
    )
    call = Call.objects.create(
        subscription=subscription,
        user=alice,
        api=api,
        method="POST",
        path="/x",
        status=401,
        outcome=Call.SUCCESS,
        total_ms=12,
        request_id="r1",
    )
    return api, service, call


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


# Django admin's own inline forms and breadcrumbs: fixed under issue 11's rough edges
# (branch portal-bes). strict: the day they pass, this mark must go.
ADMIN_PENDING = pytest.mark.xfail(
    strict=True, reason="issue 11 rough edges: unlabelled admin inline fields, breadcrumb links (portal-bes)"
)
PENDING: set[str] = set()


@pytest.mark.parametrize(
    "who, where",
    [pytest.param(who, where, id=name, marks=[ADMIN_PENDING] if name in PENDING else []) for name, who, where in PAGES],
)
def test_the_page_has_no_serious_violations_and_fits_a_phone(
    browser, client, live_server, site, who, where, admin_user, alice
):
    url = where if isinstance(where, str) else where(*site)
    user = {"alice": alice, "boss": admin_user, None: None}[who]
    page = open_as(browser, client, live_server, user, DESKTOP)
    try:
        page.goto(f"{live_server.url}{url}")
        assert_accessible(page)
        page.set_viewport_size(PHONE)
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
        assert_accessible(page)
        page.set_viewport_size(PHONE)
        assert_fits(page)
        send = page.get_by_role("button", name="Send", exact=True)
        send.scroll_into_view_if_needed()
        box = send.bounding_box()
        # Reachable and not covered: the element at Send's centre is Send itself.
        assert page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y).closest('button.send') !== null",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
        )
    finally:
        page.context.close()
