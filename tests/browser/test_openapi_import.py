"""An OpenAPI document from import to a call: the admin brings it in, a developer reads its schemas and calls it.

The document is the public Swagger Petstore (3.0, from @readme/oas-examples).
The backend is a small HTTP server started here that checks each body it
receives against the document's own schema (jsonschema) and says what it
found; the console reaches it through the real gateway.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings as django_settings
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from apis.models import Api
from gateway.models import Call, Subscription
from tests.openapi.conftest import EXAMPLES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PETSTORE = EXAMPLES / "3.0" / "json" / "petstore.json"


class Validating(BaseHTTPRequestHandler):
    """Answers POST /v2/pet with whether the body is a valid Pet, and what it was."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append((self.path, self.headers.get("Content-Type"), body))
        try:
            errors = [e.message for e in self.server.validator.iter_errors(json.loads(body))]
        except ValueError as e:
            errors = [f"not JSON: {e}"]
        answer = json.dumps({"valid": not errors, "errors": errors}).encode()
        self.send_response(200 if not errors else 422)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


@pytest.fixture
def pet_backend():
    document = json.loads(PETSTORE.read_text())
    registry = Registry().with_resource("urn:petstore", Resource.from_contents(document, DRAFT202012))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Validating)
    server.daemon_threads = True
    server.seen = []
    server.validator = Draft202012Validator({"$ref": "urn:petstore#/components/schemas/Pet"}, registry=registry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    server.server_close()


def log_in(page, client, live_server, user) -> None:
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


def import_in_admin(page, live_server, backend_url: str) -> None:
    """The admin uploads the document, reads the preview, and applies it."""
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "correct horse battery")
    page.click("input[type=submit]")
    page.get_by_role("link", name="APIs").first.click()
    page.get_by_role("link", name="Import OpenAPI").click()
    page.set_input_files("#id_file", str(PETSTORE))
    page.fill("#id_suffix", "petstore")
    page.fill("#id_service_url", f"{backend_url}/v2")
    page.select_option("#id_products", label="Starter")
    page.check("#id_publish")
    page.get_by_role("button", name="Preview").click()

    preview = page.locator("#import-preview")
    preview.get_by_text("Preview: Swagger Petstore: 20 added, 0 changed, 0 removed").wait_for()
    added = preview.locator("ul.import-added li").all_inner_texts()
    assert len(added) == 20 and "POST /pet Add a new pet to the store" in added
    assert not Api.objects.filter(path="petstore").exists()  # nothing written before Apply
    preview.get_by_role("button", name="Apply").click()
    page.get_by_text("Imported. Swagger Petstore: 20 added").wait_for()


def test_an_imported_document_is_read_and_called_with_a_body_generated_from_its_schema(
    live_server, page, browser, admin_user, alice, client, settings, demo_api, pet_backend
):
    settings.GATEWAY_URL = f"{live_server.url}/gateway"
    settings.CONSOLE_TRANSPORT = "inprocess"
    settings.GATEWAY_RECORD_ASYNC = False  # SQLite in memory: one writer at a time
    import_in_admin(page, live_server, pet_backend.url)
    api = Api.objects.get(path="petstore")
    assert api.published and api.service_url == f"{pet_backend.url}/v2"

    # A developer with a Starter key, in a browser of their own.
    Subscription.objects.create(
        user=alice, product=demo_api.products.get(slug="starter"), name="Pets", state=Subscription.ACTIVE
    )
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    dev = context.new_page()
    dev.set_default_timeout(15_000)
    log_in(dev, client, live_server, alice)
    dev.goto(f"{live_server.url}/apis/")
    dev.get_by_role("link", name="Swagger Petstore").first.click()

    # Grouped by the document's tags, in its order.
    assert dev.locator(".op-group h3").all_inner_texts() == ["pet", "store", "user"]
    pet_group = dev.locator(".op-group").filter(has=dev.get_by_role("heading", name="pet", exact=True))
    assert "Everything about your Pets" in pet_group.inner_text()
    pet_group.get_by_role("link", name="Add a new pet to the store").click()

    # The request body's schema tree: Pet, its required properties, a nested object folded.
    tree = dev.locator(".schema-tree").first
    pet = tree.locator("details.schema-node").first
    assert pet.locator("summary").first.inner_text().startswith("Pet")

    def row(name: str):
        return pet.locator(f':scope > .schema-children > [data-name="{name}"]')

    assert "required" in row("name").inner_text() and "required" not in row("status").inner_text()
    assert "One of: available, pending, sold" in row("status").inner_text()
    assert "read-only" in row("id").inner_text()
    category = row("category")
    assert category.evaluate("node => node.tagName") == "DETAILS"
    inner_name = category.locator('[data-name="name"]')
    assert inner_name.is_visible()  # the first two levels start unfolded
    category.locator("summary").first.click()  # and fold on demand
    assert not inner_name.is_visible()

    # The console's body was generated from that schema (no example in the document).
    console = dev.locator("#try-it")
    body = json.loads(console.locator('textarea[name="body"]').input_value())
    assert body == {"name": "doggie", "photoUrls": ["https://example.com/photo.png"]}
    assert console.locator('select[name="subscription"] option:checked').inner_text() == "Pets: primary key"
    console.get_by_role("button", name="Send", exact=True).click()

    result = dev.locator(".console-result")
    result.locator(".response-status").wait_for()
    assert result.locator(".response-status").inner_text() == "200 OK"
    assert json.loads(result.locator("pre.response-body").inner_text()) == {"valid": True, "errors": []}
    [(path, content_type, sent)] = pet_backend.seen
    assert path == "/v2/pet" and content_type == "application/json" and json.loads(sent) == body
    assert Call.objects.get(request_id=result.locator(".request-id").inner_text()).status == 200
    context.close()
