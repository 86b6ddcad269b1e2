"""The admin's "Import OpenAPI" page: upload or paste, a preview of what changes, then Apply.
Bad documents are errors on the form, never a 500, and write nothing."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apis.models import Api, Operation, Product
from tests.openapi.conftest import document

pytestmark = pytest.mark.django_db

IMPORT = "/admin/apis/api/import/"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def upload(content: bytes, name: str = "petstore.yaml") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def form_errors(response) -> list[str]:
    form = response.context["form"]
    errors = [str(e) for errors in form.errors.values() for e in errors]
    return errors + ([response.context["error"]] if response.context["error"] else [])


def test_the_api_list_and_each_api_link_the_import_page(admin_client, demo_api):
    assert f'href="{IMPORT}"' in admin_client.get("/admin/apis/api/").content.decode()
    page = admin_client.get(f"/admin/apis/api/{demo_api.pk}/change/").content.decode()
    assert f'href="/admin/apis/api/{demo_api.pk}/import/"' in page
    assert f'href="/apis/{demo_api.slug}/openapi.json"' in page
    assert admin_client.get(IMPORT).status_code == 200


def test_an_upload_is_previewed_then_applied(admin_client):
    product = Product.objects.create(name="Starter", slug="starter")
    r = admin_client.post(
        IMPORT,
        {"file": upload(document("3.0/yaml/petstore.yaml")), "products": [product.pk], "publish": "on"},
    )
    assert r.status_code == 200
    page = r.content.decode()
    assert "Preview: Swagger Petstore: 20 added, 0 changed, 0 removed, 0 unchanged" in page
    assert "<code>GET /pet/findByStatus?status={status}</code> Finds Pets by status" in page
    assert "The document&#x27;s security requirements are not imported" in page
    assert not Api.objects.exists()  # nothing written by the preview
    token = r.context["token"]
    r = admin_client.post(IMPORT, {"token": token})
    api = Api.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/admin/apis/api/{api.pk}/change/"
    assert api.operations.count() == 20 and api.published and list(api.products.all()) == [product]
    # The same preview cannot be applied twice.
    r = admin_client.post(IMPORT, {"token": token})
    assert form_errors(r) == ["This preview has expired or was applied already: import the document again."]


def test_pasted_text_into_an_existing_api_previews_additions_changes_and_removals(admin_client):
    doc = json.loads(document("3.1/json/train-travel.json"))
    admin_client.post(IMPORT, {"text": json.dumps(doc)})
    admin_client.post(IMPORT, {"token": admin_client.post(IMPORT, {"text": json.dumps(doc)}).context["token"]})
    api = Api.objects.get()
    assert api.operations.count() == 7
    del doc["paths"]["/bookings/{bookingId}"]["delete"]
    doc["paths"]["/stations"]["get"]["summary"] = "All stations"
    doc["paths"]["/stations"]["post"] = {"operationId": "add-station", "responses": {"201": {"description": "Made"}}}
    r = admin_client.post(f"/admin/apis/api/{api.pk}/import/", {"text": json.dumps(doc)})
    assert [str(c) for c in r.context["changes"]["removed"]] == [
        "removed  DELETE /bookings/{bookingId}  (Delete a booking)"
    ]
    assert [c.display_name for c in r.context["changes"]["changed"]] == ["All stations"]
    assert [c.display_name for c in r.context["changes"]["added"]] == ["add-station"]
    assert "1 to be removed" in r.content.decode()
    assert api.operations.count() == 7
    admin_client.post(f"/admin/apis/api/{api.pk}/import/", {"token": r.context["token"]})
    assert sorted(api.operations.values_list("key", flat=True)) == sorted(
        ["get-stations", "add-station", "get-trips", "get-bookings", "create-booking", "get-booking"]
        + ["create-booking-payment"]
    )


@pytest.mark.parametrize(
    "content, message",
    [
        (b"{not: json", "Not JSON: "),
        (b"key: [unclosed", "Not JSON or YAML: "),
        (b"a list:\n- of things\n", "Not an OpenAPI document: it has neither an 'openapi' nor a 'swagger' field."),
        (b"openapi: 3.2.0\n", "Unknown OpenAPI version '3.2.0': use 2.0, 3.0.x or 3.1.x."),
        (b"swagger: '2.0'\n", "Not a valid OpenAPI 2.0 document: "),
        (b'{"openapi": "3.1.0", "x": "' + b"y" * (30 * 1024 * 1024) + b'"}', "The document is 20.0 MB: at most 20 MB."),
    ],
)
def test_a_bad_upload_is_an_error_on_the_form(admin_client, content, message):
    r = admin_client.post(IMPORT, {"file": upload(content)})
    assert r.status_code == 200
    (error,) = form_errors(r)
    assert error.startswith(message)
    assert "errornote" in r.content.decode()
    assert not Api.objects.exists()


def test_duplicates_and_rejected_templates_are_errors_on_the_form(admin_client):
    r = admin_client.post(IMPORT, {"file": upload(document("3.0/yaml/parameters-common.yaml"))})
    assert form_errors(r) == [
        "GET /anything/{id}/{action}/{id}: the URL template is not accepted: "
        "Duplicate parameter name 'id' (at position 26)."
    ]
    ok = {"200": {"description": "OK"}}
    p = [{"name": "a", "in": "path", "required": True, "schema": {}}]
    q = [{"name": "b", "in": "path", "required": True, "schema": {}}]
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "T", "version": "1"},
        "servers": [{"url": "https://backend.example"}],
        "paths": {
            "/x/{a}": {"parameters": p, "get": {"responses": ok}},
            "/x/{b}": {"parameters": q, "get": {"responses": ok}},
        },
    }
    r = admin_client.post(IMPORT, {"text": json.dumps(doc)})
    assert form_errors(r) == ["Duplicate operation: GET /x/{b} and GET /x/{a} would answer the same calls."]
    assert not Operation.objects.exists()


def test_it_asks_for_one_document(admin_client):
    assert form_errors(admin_client.post(IMPORT, {})) == ["Upload a file or paste the document."]
    both = admin_client.post(IMPORT, {"file": upload(b"openapi: 3.1.0"), "text": "openapi: 3.1.0"})
    assert form_errors(both) == ["Upload a file or paste the text, not both."]


def test_pasting_more_than_the_request_limit_asks_for_an_upload(admin_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    r = admin_client.post(IMPORT, {"text": "x" * 2000})
    assert r.status_code == 200
    assert form_errors(r) == ["Pasted text is limited to 2.5 MB: upload the document as a file instead."]


def test_developers_cannot_reach_the_page(client, alice):
    client.force_login(alice)
    assert client.get(IMPORT).status_code == 302  # to the admin's log-in
