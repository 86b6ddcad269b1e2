"""An administrator publishes an operation in Django admin; a developer finds it on the portal."""

from __future__ import annotations

import pytest
from django.conf import settings

from apis.models import Api, Product
from tests.screenshots import screenshot as shared_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def screenshot(page, name):
    shared_screenshot(page, name, full_page=True)


def test_an_operation_added_in_admin_shows_on_the_portal(live_server, page, browser, admin_user, demo_api):
    books = Api.objects.create(name="Books API", path="books", service_url="http://127.0.0.1:9/books")
    books.products.add(Product.objects.get(slug="starter"))

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "correct horse battery")
    page.click("input[type=submit]")
    page.get_by_role("link", name="APIs").first.click()
    page.get_by_role("link", name="Books API").click()
    page.select_option("select[name='operations-0-method']", "GET")
    page.fill("input[name='operations-0-url_template']", "/shelves/{shelf}/books?lang={language}")
    page.fill("input[name='operations-0-display_name']", "List books")
    page.click("input[name='_continue']")
    page.get_by_text("was changed successfully").wait_for()

    page.locator("a.inlinechangelink").first.click()  # the inline row's link to the operation
    page.get_by_role("button", name="Add 200 OK response").click()
    page.get_by_text("The operation has a 200 OK response.").wait_for()
    screenshot(page, "admin-operation")

    # A developer, not logged in, in a browser of their own.
    context = browser.new_context()
    dev = context.new_page()
    dev.goto(f"{live_server.url}/")
    dev.get_by_role("link", name="Browse APIs").click()
    dev.get_by_role("link", name="Books API").click()
    assert dev.locator("#base-url").inner_text() == f"{settings.GATEWAY_URL}/books"
    dev.get_by_role("link", name="List books").click()
    assert "/gateway/books/shelves/{shelf}/books?lang={language}" in dev.locator(".signature").inner_text()
    rows = dev.locator("table").first.locator("tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).locator("td").nth(0).inner_text() == "shelf"
    assert rows.nth(1).locator("td").nth(0).inner_text() == "language"
    assert dev.get_by_role("heading", name="200 OK").is_visible()
    context.close()


def test_the_main_pages_look_right(live_server, page, demo_api):
    page.goto(f"{live_server.url}/")
    assert page.get_by_role("heading", name="AzureML Demo API").is_visible()
    page.goto(f"{live_server.url}/apis/")
    page.fill("#q", "nothing-like-this")
    page.get_by_text("No API matches.").wait_for()
    page.fill("#q", "azure")
    page.get_by_text("1 API matching “azure”").wait_for()
    page.goto(f"{live_server.url}{demo_api.get_absolute_url()}")
    names = page.locator(".oplist strong").all_inner_texts()
    assert names == ["RRS Execute", "BES Submit", "BES Start", "BES Status", "BES Delete"]
    page.goto(f"{live_server.url}/products/")
