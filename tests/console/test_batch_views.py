# ruff: noqa: F811 - the session Azurite fixture, imported
"""The batch job panel's views: who sees what, polling that stops, limits respected, refusals shown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from console.models import BatchRun
from gateway.models import Call
from subscriptions.models import Subscription
from tests.mlservice.conftest import azurite, azurite_server  # noqa: F401 - the session's Azurite, allowed

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def run(db, alice, demo_api):
    return BatchRun.objects.create(
        user=alice, api=demo_api, subscription="1:primary", input_location="/c/i.csv", output_location="/c/o.csv"
    )


def test_the_panel_is_on_the_bes_operations_pages_only(client, demo_api):
    for name, shown in [("RRS Execute", False), ("BES Submit", True), ("BES Status", True), ("BES Delete", True)]:
        html = client.get(demo_api.operations.get(display_name=name).get_absolute_url()).content.decode()
        assert ('class="batch-panel' in html) is shown, name


def test_a_visitor_is_asked_to_log_in_and_cannot_submit(client, demo_api):
    html = client.get(demo_api.operations.get(display_name="BES Submit").get_absolute_url()).content.decode()
    assert "to run batch jobs" in html and 'class="batch-form"' not in html
    response = client.post(reverse("console-batch-submit", args=[demo_api.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_run_is_its_owners_only(client, bob, run):
    client.force_login(bob)
    assert client.get(reverse("console-batch-status", args=[run.pk]), **HX).status_code == 404
    assert client.post(reverse("console-batch-delete", args=[run.pk]), **HX).status_code == 404


def test_polling_stops_when_the_job_has_ended(client, alice, run):
    run.job_id, run.started, run.state, run.ended = "abc", True, "Finished", timezone.now()
    run.save()
    client.force_login(alice)
    response = client.get(reverse("console-batch-status", args=[run.pk]), **HX)
    assert response.status_code == 286  # htmx stops polling and shows this last answer
    assert "Finished" in response.content.decode() and "hx-trigger" not in response.content.decode()
    run.refresh_from_db()
    assert run.calls == 0


def test_after_a_429_the_panel_waits_for_retry_after_without_calling(client, alice, run):
    run.job_id, run.started, run.state = "abc", True, "Running"
    run.not_before = timezone.now() + timedelta(seconds=30)
    run.save()
    client.force_login(alice)
    response = client.get(reverse("console-batch-status", args=[run.pk]), **HX)
    assert response.status_code == 200
    assert "rate limit reached: next check after" in response.content.decode()
    run.refresh_from_db()
    assert run.calls == 0 and not Call.objects.exists()


@pytest.fixture
def live_ml(live_server, alice, azurite, settings):
    """The demo API and service on the live server, alice subscribed to Starter."""
    from apis import demo
    from mlservice import demo as ml_demo

    settings.GATEWAY_URL, settings.MLSERVICE_URL = f"{live_server.url}/gateway", f"{live_server.url}/ml"
    settings.CONSOLE_TRANSPORT, settings.GATEWAY_RECORD_ASYNC = "inprocess", False
    settings.CONSOLE_BATCH_STORAGE = azurite.connection_string
    api = demo.load()
    service = ml_demo.load(api)
    sub = Subscription.objects.create(
        user=alice, product=api.products.get(slug="starter"), name="Tests", state=Subscription.ACTIVE
    )
    return api, service, sub


def submit_form(service, sub, key) -> dict:
    return {
        "source": "sample",
        "subscription": f"{sub.pk}:primary",
        "authorization": f"Bearer {key}",
        "p_workspace": service.workspace_id,
        "p_service": service.service_id,
        "p_apiversion": "2.0",
    }


@pytest.mark.django_db(transaction=True)
def test_a_wrong_api_key_is_the_services_own_answer_on_the_panel(client, alice, live_ml):
    api, service, sub = live_ml
    client.force_login(alice)
    data = submit_form(service, sub, "not-the-key")
    html = client.post(reverse("console-batch-submit", args=[api.pk]), data, **HX).content.decode()
    assert "BES Submit answered 401 Unauthorized. Invalid credentials provided." in html
    run = BatchRun.objects.get()
    assert (run.state, run.calls, run.job_id, run.is_over) == ("Failed", 1, "", True)
    # The backend's 401 went through the gateway and counts as the developer's call, a client error.
    assert Call.objects.get().outcome == "client_error"
    # The API key is kept encrypted, for the status calls.
    assert "not-the-key" not in str(BatchRun.objects.values().get())
    assert run.headers == [("Authorization", "Bearer not-the-key")]


@pytest.mark.django_db(transaction=True)
def test_cancel_deletes_the_job_through_the_gateway(client, alice, live_ml):
    from mlservice.models import BatchJob

    api, service, sub = live_ml
    client.force_login(alice)
    client.post(reverse("console-batch-submit", args=[api.pk]), submit_form(service, sub, service.primary_key), **HX)
    run = BatchRun.objects.get()
    assert (run.state, run.calls) == ("Running", 2)  # submitted and started; no worker runs here
    response = client.post(reverse("console-batch-delete", args=[run.pk]), **HX)
    assert response.status_code == 286 and "Cancelled" in response.content.decode()
    assert BatchJob.objects.get(job_id=run.job_id).state == "Cancelled"
    assert list(Call.objects.order_by("id").values_list("method", "status")) == [
        ("POST", 200),
        ("POST", 200),
        ("DELETE", 204),
    ]
