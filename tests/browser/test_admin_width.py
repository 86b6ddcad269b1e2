"""The admin's operation page at 1280 px: the parameters table fits, no sideways scrolling at all."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from tests.a11y import DESKTOP, overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_admin_operation_page_fits_at_1280_px_with_its_parameters_inline(
    browser, client, live_server, admin_user, demo_api
):
    operation = demo_api.operations.get(display_name="RRS Execute")
    client.force_login(admin_user)
    context = browser.new_context(viewport=DESKTOP)
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
    try:
        page.goto(f"{live_server.url}/admin/apis/operation/{operation.pk}/change/")
        o = overflow(page)
        assert o["scrollWidth"] <= 1280, o
        # Not hidden in a scroll box either: the parameters table is no wider than the page.
        table = page.locator("#parameters-group table").bounding_box()
        assert table["x"] + table["width"] <= 1280, table
        assert page.locator("#parameters-group tbody tr.form-row:not(.empty-form)").count() == 5
    finally:
        context.close()
