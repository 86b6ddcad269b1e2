"""A request body of megabytes: the console takes it up to the gateway's limit, and refuses more
with a field error before anything is sent, never with a 400 or an error page instead of the page."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from console.models import Send
from gateway.models import Call

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def two_megabytes_of_json() -> str:
    rows = [[f'review number {i}, with a comma and "quotes"'] for i in range(40_000)]
    body = json.dumps({"Inputs": {"input1": {"ColumnNames": ["Col2"], "Values": rows}}, "GlobalParameters": {}})
    assert 1.9e6 < len(body) < 2.5e6
    return body


def form(operation, body: str) -> dict:
    return {"p_workspace": "ws", "p_service": "svc", "p_apiversion": "2.0", "p_details": "true", "body": body}


def test_the_live_preview_of_a_two_megabyte_body_answers_and_shows_its_beginning(client, alice, demo_api):
    client.force_login(alice)
    op = demo_api.operations.get(display_name="RRS Execute")
    body = two_megabytes_of_json()
    # As the browser posts it: the console's form is multipart, so the body goes at its own size.
    response = client.post(reverse("console-preview", args=[op.pk]), form(op, body), **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "review number 0, with a comma" in html
    assert "more characters, not shown here: Send sends the whole body." in html
    assert len(html) < 1_000_000


def test_django_reads_any_form_the_console_accepts(settings):
    # A body at the gateway's limit, posted with the rest of the form, is under Django's own limit.
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE > settings.GATEWAY_MAX_REQUEST_BYTES


def test_a_body_over_the_gateways_limit_is_a_field_error_and_nothing_is_sent(client, alice, demo_api, settings):
    settings.GATEWAY_MAX_REQUEST_BYTES = 1_000_000
    client.force_login(alice)
    op = demo_api.operations.get(display_name="RRS Execute")
    response = client.post(reverse("console-send", args=[op.pk]), form(op, two_megabytes_of_json()), **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Nothing was sent" in html
    assert "the gateway accepts at most 1,000,000 bytes." in html
    assert not Send.objects.exists() and not Call.objects.exists()


def test_the_console_form_posts_multipart(client, demo_api):
    op = demo_api.operations.get(display_name="RRS Execute")
    html = client.get(op.get_absolute_url()).content.decode()
    assert 'enctype="multipart/form-data" hx-encoding="multipart/form-data"' in html
    assert f'class="console-preview" id="c{op.pk}-preview" aria-live="polite" hx-encoding="multipart/form-data"' in html
    assert f'data-max-bytes="{10 * 1024 * 1024}"' in html
