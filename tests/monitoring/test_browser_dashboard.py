"""End to end in Chromium: a burst of calls through the real gateway, then the
dashboard's counts, read by a staff member, match the calls made exactly."""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from gateway import routing

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OUTCOME_OF_STATUS = {
    200: "success",
    401: "unauthorized",
    429: "throttled",
    403: "quota",
    404: "no_match",
    500: "backend_error",
    502: "backend_error",
}


class Backend(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        status = 500 if "/fail" in self.path else 200
        body = json.dumps({"path": self.path}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def backend_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Backend)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def key(settings, backend_url, alice):
    from apis.models import Api, Operation, Product
    from subscriptions import services

    settings.GATEWAY_RECORD_ASYNC = False  # records visible as soon as the call returns
    routing.catalog.clear()
    product = Product.objects.create(
        name="Burst", slug="burst", rate_limit_calls=5, rate_limit_period=60, quota_calls=100, quota_period=7 * 86400
    )
    api = Api.objects.create(
        name="Echo", slug="echo", path="mon-echo", service_url=backend_url, url_schemes="http,https"
    )
    api.products.add(product)
    Operation.objects.create(api=api, method="GET", url_template="/items/{id}", display_name="Get item")
    Operation.objects.create(api=api, method="GET", url_template="/fail", display_name="Fail")
    yield services.subscribe(user=alice, product=product, name="Alice's burst").primary_key
    routing.catalog.clear()


def outcome_counts(page) -> dict[str, int]:
    figures = page.locator("[data-outcome]")
    return {
        figures.nth(i).get_attribute("data-outcome"): int(figures.nth(i).inner_text()) for i in range(figures.count())
    }


def test_it_counts_a_burst_of_gateway_calls_exactly(live_server, page, admin_user, key):
    base = f"{live_server.url}/gateway/mon-echo"
    auth = {"Ocp-Apim-Subscription-Key": key}
    statuses = [requests.get(f"{base}/items/{i}", headers=auth, timeout=10).status_code for i in range(4)]
    statuses.append(requests.get(f"{base}/fail", headers=auth, timeout=10).status_code)
    statuses += [requests.get(f"{base}/items/9", headers=auth, timeout=10).status_code for _ in range(2)]
    statuses.append(requests.get(f"{base}/items/1", timeout=10).status_code)
    statuses.append(
        requests.get(f"{base}/items/1", headers={"Ocp-Apim-Subscription-Key": "wrong"}, timeout=10).status_code
    )
    assert statuses == [200, 200, 200, 200, 500, 429, 429, 401, 401]
    made = Counter(OUTCOME_OF_STATUS[s] for s in statuses)

    page.goto(f"{live_server.url}/admin/login/?next=/monitoring/%3Frange%3D1h")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Monitoring").wait_for()

    shown = outcome_counts(page)
    assert shown["total"] == len(statuses) == 9
    for outcome in ("success", "backend_error", "throttled", "unauthorized", "quota", "no_match"):
        assert shown[outcome] == made[outcome], outcome
    by_subscription = page.get_by_test_id("by-subscription")
    assert by_subscription.locator("tr", has_text="Alice's burst").locator("td").first.inner_text() == "7"

    # Filtering swaps the results in place (htmx) and keeps the address shareable.
    page.select_option("#id_outcome", "throttled")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**outcome=throttled**")
    page.locator('[data-outcome="total"]', has_text="2").wait_for()
    assert page.locator(".mon-latest tbody tr").count() == 2

    page.locator(".mon-latest tbody tr a").first.click()
    page.get_by_text("Throttled").first.wait_for()
    assert "429" in page.locator("dl.mon-record").inner_text()
