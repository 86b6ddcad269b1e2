# ruff: noqa: F811 - pytest fixtures imported from the console browser tests
"""The batch job panel in Chromium: a real job end to end, through the real gateway,
on a real Azurite, run by the worker's own run-one-job function."""

from __future__ import annotations

import csv
import io

import pytest
import requests

from console.models import BatchRun, SavedValues
from gateway.models import Call
from mlservice import hashing, worker
from tests.a11y import PHONE, assert_accessible, assert_fits
from tests.console.test_browser import live_demo, log_in, subscribe  # noqa: F401 - fixtures
from tests.mlservice.conftest import azurite, azurite_server  # noqa: F401 - the session's Azurite, allowed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bes_demo(live_demo, azurite, settings):
    settings.CONSOLE_BATCH_STORAGE = azurite.connection_string
    settings.CONSOLE_BATCH_POLL_SECONDS = 1
    return live_demo


def run_worker_until_a_job_ends() -> str:
    for _ in range(50):
        state = worker.run_once("browser-test")
        if state is not None:
            return state
        import time

        time.sleep(0.1)
    raise AssertionError("no job was queued")


def test_a_developer_runs_a_batch_job_from_the_bes_submit_page(live_server, page, bes_demo, alice, client):
    api, service = bes_demo
    subscription = subscribe(alice, api)
    log_in(page, client, live_server, alice)
    page.goto(f"{live_server.url}{api.operations.get(display_name='BES Submit').get_absolute_url()}")
    panel = page.locator(".batch-panel")
    calls_notice = panel.locator(".batch-calls").inner_text()
    assert "2 to submit and start the job, then 1 BES Status call every 1 s" in calls_notice
    assert "Tests (Starter): 5 calls per minute, 100 per week" in calls_notice
    assert panel.get_by_label("workspace").input_value() == service.workspace_id
    panel.locator('input[name="authorization"]').fill(f"Bearer {service.primary_key}")
    panel.get_by_role("button", name="Upload, submit and start").click()

    job_id = panel.locator(".batch-job-id").inner_text()
    assert len(job_id) == 32 and '"' not in job_id
    assert panel.locator(".batch-state").inner_text() in ("Running", "Finished")
    assert run_worker_until_a_job_ends() == "Finished"
    panel.locator(".batch-state").get_by_text("Finished").wait_for()
    progress = panel.locator(".batch-progress").inner_text()
    assert "6 of 6 rows scored" in progress and "Rate limit: calls left" in progress
    link = panel.get_by_role("link", name="Download the result (output1)")
    url = link.get_attribute("href")
    text = requests.get(url, timeout=10).text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Col2", *hashing.feature_names("Col2", 3)]
    assert rows[1] == ["This is a good day", "1", "1", "2", "2", "0", "2", "0", "1"]
    assert rows[3][0] == "Not worth the money, sadly"

    # Every call went through the gateway on the developer's subscription, and the panel counted them.
    run = BatchRun.objects.get()
    calls = Call.objects.filter(subscription=subscription)
    assert calls.count() == run.calls >= 3
    assert set(calls.values_list("outcome", flat=True)) == {"success"}
    assert f"{run.calls} calls used" in progress
    # The job id is carried into the console of BES Status, Start and Delete: nothing to copy.
    assert SavedValues.load(alice, api)["params"]["jobid"] == job_id
    page.goto(f"{live_server.url}{api.operations.get(display_name='BES Status').get_absolute_url()}")
    assert page.locator('#try-it [name="p_jobid"]').input_value() == job_id
    assert_accessible(page, context=".batch-panel")
    page.set_viewport_size(PHONE)
    assert_fits(page)


def test_a_failed_job_shows_its_details(live_server, page, bes_demo, alice, client):
    from apis.models import Product
    from subscriptions.models import Subscription

    api, service = bes_demo
    Subscription.objects.create(
        user=alice, product=Product.objects.get(slug="unlimited"), name="Prod", state=Subscription.ACTIVE
    )
    log_in(page, client, live_server, alice)
    page.goto(f"{live_server.url}{api.operations.get(display_name='BES Start').get_absolute_url()}")
    panel = page.locator(".batch-panel")
    panel.locator('input[name="authorization"]').fill(f"Bearer {service.primary_key}")
    panel.locator('input[type="file"]').set_input_files(
        files=[{"name": "reviews.csv", "mimeType": "text/csv", "buffer": b"Review\nA text in the wrong column\n"}]
    )
    panel.get_by_role("button", name="Upload, submit and start").click()
    panel.locator(".batch-job-id").wait_for()
    assert run_worker_until_a_job_ends() == "Failed"
    panel.locator(".batch-state").get_by_text("Failed").wait_for()
    assert "The input file has no 'Col2' column" in panel.locator(".batch-details").inner_text()
    assert panel.get_by_role("link", name="Download the result (output1)").count() == 0


def test_a_bad_csv_is_a_field_error_and_nothing_is_submitted(live_server, page, bes_demo, alice, client):
    api, service = bes_demo
    subscribe(alice, api)
    log_in(page, client, live_server, alice)
    page.goto(f"{live_server.url}{api.operations.get(display_name='BES Submit').get_absolute_url()}")
    panel = page.locator(".batch-panel")
    panel.locator('input[name="authorization"]').fill(f"Bearer {service.primary_key}")
    panel.locator('input[type="file"]').set_input_files(
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": b"Col2\nNot worth the money, sadly\n"}]
    )
    panel.get_by_role("button", name="Upload, submit and start").click()
    panel.get_by_text("Line 2 has 2 fields; the header row has 1.").wait_for()
    assert panel.get_by_text("Nothing was submitted").is_visible()
    assert not Call.objects.exists() and not BatchRun.objects.exists()


def test_staff_run_a_batch_job_from_the_ml_services_dashboard(live_server, page, bes_demo, admin_user, client):
    from apis.models import Product
    from subscriptions.models import Subscription

    api, service = bes_demo
    sub = Subscription.objects.create(
        user=admin_user, product=Product.objects.get(slug="unlimited"), name="Ops", state=Subscription.ACTIVE
    )
    log_in(page, client, live_server, admin_user)
    page.goto(f"{live_server.url}/ml/services/{service.service_id}/")
    panel = page.locator(".batch-panel")
    assert "Ops (Unlimited): no limits" in panel.locator(".batch-calls").inner_text()
    # The dashboard's own service: no workspace or service to type.
    assert panel.locator('input[name="p_workspace"]').count() == 0
    panel.locator('input[name="authorization"]').fill(f"Bearer {service.secondary_key}")
    panel.get_by_role("button", name="Upload, submit and start").click()
    panel.locator(".batch-job-id").wait_for()
    assert run_worker_until_a_job_ends() == "Finished"
    panel.get_by_role("link", name="Download the result (output1)").wait_for()
    # Through the gateway, on the staff member's own subscription: never straight to the service.
    assert Call.objects.filter(subscription=sub).count() == BatchRun.objects.get().calls >= 3
