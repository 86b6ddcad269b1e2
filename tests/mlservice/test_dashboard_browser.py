"""In a real browser: the guide's Test button, and the keys revealed on request."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_tests_the_service_and_reveals_its_key(live_server, page, admin_user):
    from mlservice.models import WebService

    service = WebService.objects.create(name="SimpleFeatureHashingExperiment", bits=3, ngrams=2)
    page.goto(f"{live_server.url}/admin/login/?next=/ml/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "correct horse battery")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/ml/")
    page.get_by_role("link", name="SimpleFeatureHashingExperiment").click()
    assert page.locator("#workspace-id").inner_text() == service.workspace_id

    page.fill("#test-text", "This is a good day")
    page.get_by_role("button", name="Test").click()
    assert page.locator("#hashed-counts").inner_text() == "1 1 2 2 0 2 0 1"

    assert service.primary_key not in page.content()
    page.get_by_role("button", name="Show keys").click()
    assert page.locator("#primary-key").inner_text() == service.primary_key

    page.get_by_role("link", name="Batch Execution").click()
    page.get_by_role("heading", name="Submit a job").wait_for()
    assert service.service_id in page.content()
