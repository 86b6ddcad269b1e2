"""End to end in Chromium: sign up, subscribe, reveal a key, call the gateway with it."""

from __future__ import annotations

import pytest
import requests

from gateway.models import Call

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_developer_signs_up_subscribes_and_calls_the_api_with_their_key(live_server, page, echo_api, product):
    page.goto(f"{live_server.url}/accounts/signup/")
    page.fill("#id_email", "carol@example.com")
    page.fill("#id_password", "a long and unusual passphrase")
    page.get_by_role("button", name="Create account").click()

    page.goto(f"{live_server.url}/products/{product.slug}/")
    page.fill(f"#subscription-name-{product.slug}", "Carol's script")
    page.get_by_role("button", name="Subscribe").click()
    page.get_by_text("You are subscribed to Starter").wait_for()
    card = page.locator("article.subscription", has_text="Carol's script")
    card.get_by_text("Active").wait_for()

    card.get_by_role("link", name="Show").first.click()  # htmx swaps the card
    key = page.locator("code.key:not(.masked)").first.inner_text().strip()
    assert len(key) == 64

    url = f"{live_server.url}/gateway/echo/items/7"
    answers = [requests.get(url, headers={"Ocp-Apim-Subscription-Key": key}, timeout=10) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert requests.get(url, timeout=10).status_code == 401
    assert Call.objects.filter(request_id=answers[0].headers["X-Portico-Request-Id"], outcome="success").exists()
