"""Importing a document into the catalog, and re-importing new versions of it
(apis/importing.py): rows written, updated in place, or nothing at all."""

from __future__ import annotations

import json

import pytest

from apis import importing, openapi
from apis.models import Api, Operation, Parameter, Product, Response
from tests.openapi.conftest import document

pytestmark = pytest.mark.django_db

BACKEND = "https://backend.example"


def train_travel() -> dict:
    return openapi.read(document("3.1/json/train-travel.json"))


def import_dict(doc: dict, **options) -> importing.Report:
    options.setdefault("service_url", BACKEND)
    return importing.import_document(json.dumps(doc), **options)


def test_it_creates_a_draft_api_with_every_operation_and_its_rows():
    report = importing.import_document(document("3.1/json/train-travel.json"), slug="trains")
    api = Api.objects.get(slug="trains")
    assert report.created and report.count("added") == 7
    assert (api.name, api.path, api.service_url, api.version) == (
        "Train Travel API",
        "train-travel-api",
        "https://api.example.com",
        "1.0.0",
    )
    assert not api.published  # a draft until published
    assert [t["name"] for t in api.tags] == ["Stations", "Trips", "Bookings", "Payments"]
    assert "Station" in api.components["schemas"]
    trips = api.operations.get(key="get-trips")
    assert trips.url_template == "/trips?origin={origin}&destination={destination}&date={date}"
    assert trips.tags == ["Trips"] and trips.display_name == "Get available train trips"
    params = {p.name: p for p in trips.parameters.all()}
    assert [(p.name, p.location, p.required) for p in trips.parameters.all()] == [
        ("origin", "query", True),
        ("destination", "query", True),
        ("date", "query", True),
        ("bicycles", "query", False),
        ("dogs", "query", False),
    ]
    assert params["date"].schema == {"type": "string", "format": "date-time"}
    assert (params["dogs"].type, params["dogs"].default_value) == ("boolean", "false")
    ok = trips.responses.get(status_code="200")
    assert ok.description == "A list of available train trips"
    assert "RateLimit" in ok.headers
    assert [r.content_type for r in ok.representations.all()] == ["application/json", "application/xml"]
    payment = api.operations.get(key="create-booking-payment")
    body = payment.representations.get()
    assert set(body.examples) == {"Card", "Bank"}
    # The document's first example is the default body.
    assert json.loads(body.example) == body.examples["Card"]["value"]
    assert body.schema == {"$ref": "#/components/schemas/BookingPayment"}


def test_publish_and_products_are_applied():
    product = Product.objects.create(name="Starter", slug="starter")
    importing.import_document(document("3.0/yaml/petstore.yaml"), products=[product], publish=True)
    api = Api.objects.get()
    assert api.published
    assert list(api.products.all()) == [product]


def test_reimporting_the_same_document_changes_nothing():
    first = importing.import_document(document("3.0/yaml/petstore.yaml"), service_url=BACKEND)
    api = first.api
    rows = {
        "operations": list(Operation.objects.values().order_by("id")),
        "parameters": list(Parameter.objects.values().order_by("id")),
        "responses": list(Response.objects.values().order_by("id")),
    }
    updated = Api.objects.get().updated
    again = importing.import_document(document("3.0/yaml/petstore.yaml"), api=api)
    assert (again.changes, again.unchanged, again.api_changed) == ([], 20, False)
    assert again.summary == "Swagger Petstore: 0 added, 0 changed, 0 removed, 20 unchanged; API details unchanged"
    assert rows == {
        "operations": list(Operation.objects.values().order_by("id")),
        "parameters": list(Parameter.objects.values().order_by("id")),
        "responses": list(Response.objects.values().order_by("id")),
    }
    assert Api.objects.get().updated == updated


def test_a_new_version_updates_in_place_by_operation_key():
    doc = train_travel()
    importing.import_document(json.dumps(doc), slug="trains")
    api = Api.objects.get()
    booking = api.operations.get(key="get-booking")
    booking_param_id = booking.parameters.get(name="bookingId").pk
    trips = api.operations.get(key="get-trips")
    trips_param_ids = {p.name: p.pk for p in trips.parameters.all()}
    # An admin describes an operation the document leaves undescribed ...
    stations = api.operations.get(key="get-stations")
    Operation.objects.filter(pk=booking.pk).update(description="Typed in admin")
    del doc["paths"]["/bookings/{bookingId}"]["get"]["description"]
    # ... and a new version renames a path, drops an operation, adds one, and
    # makes an optional parameter required.
    doc["paths"]["/stations"]["get"]["summary"] = "List the stations"
    del doc["paths"]["/bookings/{bookingId}"]["delete"]
    doc["paths"]["/bookings/{bookingId}"]["patch"] = {
        "operationId": "amend-booking",
        "summary": "Amend a booking",
        "responses": {"200": {"description": "Amended"}},
    }
    for param in doc["paths"]["/trips"]["get"]["parameters"]:
        if param["name"] == "dogs":
            param["required"] = True
    report = importing.import_document(json.dumps(doc), api=api)
    assert [str(c) for c in report.changes] == [
        "removed  DELETE /bookings/{bookingId}  (Delete a booking)",
        "changed  GET /stations  (List the stations)",
        "changed  GET /trips?origin={origin}&destination={destination}&date={date}&dogs={dogs}  "
        "(Get available train trips)",
        "added    PATCH /bookings/{bookingId}  (Amend a booking)",
    ]
    assert report.unchanged == 4
    booking.refresh_from_db()
    assert booking.description == "Typed in admin"
    assert booking.parameters.get(name="bookingId").pk == booking_param_id
    assert api.operations.get(key="get-stations").pk == stations.pk
    assert api.operations.get(key="get-stations").slug == stations.slug  # portal URLs stay
    trips = api.operations.get(pk=trips.pk)
    assert {p.name: p.pk for p in trips.parameters.all()} == trips_param_ids
    assert trips.parameters.get(name="dogs").required
    assert not api.operations.filter(key="delete-booking").exists()


def test_operations_typed_in_admin_are_matched_by_verb_and_template():
    api = Api.objects.create(name="Pets", slug="pets", path="pets", service_url=BACKEND)
    typed = Operation.objects.create(api=api, method="GET", url_template="/pet/{petId}", display_name="Pet")
    importing.import_document(document("3.0/yaml/petstore.yaml"), api=api)
    typed.refresh_from_db()
    assert (typed.key, typed.display_name) == ("getPetById", "Find pet by ID")


def test_a_failed_import_writes_nothing():
    importing.import_document(document("3.0/yaml/petstore.yaml"), slug="pets", service_url=BACKEND)
    before = list(Operation.objects.values_list("id", "url_template").order_by("id"))
    doc = openapi.read(document("3.0/yaml/petstore.yaml"))
    doc["paths"]["/pet/{other}"] = {
        "get": {
            "parameters": [{"name": "other", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "OK"}},
        }
    }
    with pytest.raises(openapi.DocumentError, match="Duplicate operation: GET /pet/{other} and GET /pet/{petId}"):
        importing.import_document(json.dumps(doc), api=Api.objects.get())
    assert list(Operation.objects.values_list("id", "url_template").order_by("id")) == before


def test_a_suffix_another_api_uses_is_refused():
    Api.objects.create(name="Other", slug="other", path="swagger-petstore", service_url=BACKEND)
    with pytest.raises(openapi.DocumentError, match="Another API already uses the URL suffix 'swagger-petstore'"):
        importing.import_document(document("3.0/yaml/petstore.yaml"))
    assert Api.objects.count() == 1


def test_a_document_without_a_server_needs_a_service_url():
    with pytest.raises(openapi.DocumentError, match="The document names no server: give the web service URL"):
        importing.import_document(document("3.1/yaml/webhooks.yaml"))
    with pytest.raises(openapi.DocumentError, match="is not an absolute http"):
        import_dict(
            {"openapi": "3.1.0", "info": {"title": "T", "version": "1"}, "servers": [{"url": "/v1"}], "paths": {}},
            service_url="",
        )
    assert not Api.objects.exists()


def test_a_relative_server_is_joined_once_and_the_backend_stays_on_re_import():
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "Rel", "version": "1"},
        "servers": [{"url": "/v1"}],
        "paths": {"/a": {"get": {"responses": {"200": {"description": "OK"}}}}},
    }
    api = import_dict(doc).api
    assert api.service_url == "https://backend.example/v1"
    import_dict(doc, api=api, service_url="")
    api.refresh_from_db()
    assert api.service_url == "https://backend.example/v1"
    import_dict(doc, api=api, service_url="https://other.example")
    api.refresh_from_db()
    assert api.service_url == "https://other.example/v1"


def test_a_dry_run_reports_and_writes_nothing():
    report = importing.import_document(document("3.0/yaml/petstore.yaml"), dry_run=True)
    assert report.count("added") == 20
    assert not Api.objects.exists() and not Operation.objects.exists()


def test_the_console_sends_an_optional_query_parameter_that_has_a_value(client, admin_user):
    importing.import_document(document("3.1/json/train-travel.json"), publish=True)
    trips = Operation.objects.get(key="get-trips")
    client.force_login(admin_user)
    data = {"p_origin": "a", "p_destination": "b", "p_date": "2024-02-01", "p_dogs": "true", "p_bicycles": ""}
    html = client.post(f"/console/{trips.pk}/preview/", data, HTTP_HX_REQUEST="true").content.decode()
    assert "/trips?origin=a&amp;destination=b&amp;date=2024-02-01&amp;dogs=true" in html
    assert "bicycles=" not in html
