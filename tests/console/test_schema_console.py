"""The console driven by schemas: bodies generated or picked from examples, typed parameters checked before sending."""

from __future__ import annotations

import datetime
import html as html_module
import json
import re
import uuid
from urllib.parse import parse_qs

import pytest
from django.urls import reverse

from apis.models import Parameter
from tests import petstore

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def store(db):
    return petstore.load()


@pytest.fixture
def logged_in(client, alice):
    client.force_login(alice)
    return client


def body_of(html: str) -> str:
    return html_module.unescape(re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', html, re.S).group(1))


def console_form(client, op, **data):
    fields = {"h_name": ["Content-Type"], "h_value": ["application/json"], "rep": "0", "example": "0", "body": ""}
    fields.update(data)
    return client.post(reverse("console-form", args=[op.pk]), fields, **HX).content.decode()


def test_a_body_without_examples_is_generated_from_the_schema(client, store):
    op = store.operations.get(key="recordEvent")
    event = json.loads(body_of(client.get(op.get_absolute_url()).content.decode()))
    assert set(event) == {"at", "id", "kind"}
    assert datetime.datetime.fromisoformat(event["at"]) and uuid.UUID(event["id"]) and event["kind"] == "created"


def test_a_body_with_named_examples_starts_from_the_first_and_the_picker_offers_the_others_and_the_generated_one(
    logged_in, store
):
    op = store.operations.get(key="addPet")
    page = logged_in.get(op.get_absolute_url()).content.decode()
    assert json.loads(body_of(page))["name"] == "Tom"
    options = re.findall(
        r'<option value="(\d)"[^>]*>([^<]*)</option>', page.split('name="example"')[1].split("</select>")[0]
    )
    assert options == [("0", "A cat"), ("1", "A dog"), ("2", "Generated from the schema")]
    assert json.loads(body_of(console_form(logged_in, op, action="example", example="1")))["name"] == "Rex"
    generated = json.loads(body_of(console_form(logged_in, op, action="example", example="2")))
    assert generated == {
        "name": "string",
        "photoUrls": ["https://example.com/resource"],
        "status": "available",
        "adopted": True,
    }


def test_another_representation_brings_its_own_body_and_content_type(logged_in, store):
    op = store.operations.get(key="recordEvent")
    html = console_form(logged_in, op, action="rep", rep="1", example="3")
    fields = parse_qs(body_of(html))
    assert set(fields) == {"at", "id", "kind"} and fields["kind"] == ["created"]
    assert 'value="application/x-www-form-urlencoded"' in html


def test_a_parameter_with_an_enum_in_its_schema_is_a_dropdown(client, store):
    op = store.operations.get(key="findPetsByStatus")
    Parameter.objects.filter(operation=op, name="status").update(allowed_values="")
    html = client.get(op.get_absolute_url()).content.decode()
    select = html.split('name="p_status"')[1].split("</select>")[0]
    assert re.findall(r"<option value=\"(\w+)\"", select) == ["available", "pending", "sold"]
    assert 'value="available" selected' in select


def send(client, op, **data):
    fields = {"h_name": [], "h_value": [], "rep": "0", "p_status": "available"}
    fields.update(data)
    return client.post(reverse("console-send", args=[op.pk]), fields, **HX).content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("p_limit", "ten", "Enter a whole number, such as 42."),
        ("p_limit", "500", "At most 100."),
        ("p_since", "yesterday", "Enter a date and time with its offset, such as 2024-05-17T09:30:00Z."),
        ("p_since", "2024-02-30T10:00:00Z", "Enter a date and time with its offset"),
        ("p_status", "lost", "Choose one of: available, pending, sold."),
    ],
)
def test_a_value_that_does_not_fit_the_parameters_schema_is_a_field_error_and_nothing_is_sent(
    logged_in, backend, store, field, value, message
):
    op = store.operations.get(key="findPetsByStatus")
    html = html_module.unescape(send(logged_in, op, **{field: value}))
    assert "Nothing was sent" in html and message in html
    assert backend.seen == []


def test_a_typed_header_is_checked_too(logged_in, backend, store):
    op = store.operations.get(key="findPetsByStatus")
    html = send(logged_in, op, h_name=["X-Trace"], h_value=["maybe"])
    assert "Enter true or false." in html and backend.seen == []


def test_values_that_fit_are_sent(logged_in, backend, store):
    store.path = "echo"  # the tiny server answers under /gw/echo/
    store.save()
    op = store.operations.get(key="findPetsByStatus")
    html = send(logged_in, op, p_limit="10", p_since="2024-05-17T09:30:00+02:00", h_name=["X-Trace"], h_value=["true"])
    assert "200 OK" in html
    assert (
        backend.seen[-1]["path"]
        == "/gw/echo/pets/findByStatus?status=available&limit=10&since=2024-05-17T09%3A30%3A00%2B02%3A00"
    )
    assert backend.seen[-1]["headers"]["X-Trace"] == "true"


def test_a_boolean_parameter_is_a_true_false_dropdown_and_numbers_get_input_hints(client, store):
    op = store.operations.get(key="findPetsByStatus")
    Parameter.objects.create(operation=op, name="fresh", location=Parameter.QUERY, schema={"type": "boolean"})
    html = client.get(op.get_absolute_url()).content.decode()
    select = html.split('name="p_fresh"')[1].split("</select>")[0]
    assert re.findall(r"<option value=\"(\w*)\"", select) == ["", "true", "false"]
    assert 'name="p_limit"' in html and 'inputmode="numeric"' in html.split('name="p_limit"')[1].split(">")[0]
