"""Schemas on the portal's pages: the API page grouped by tag, the operation page's trees and examples."""

from __future__ import annotations

import html as html_module
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apis.models import Operation
from tests import petstore

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(db):
    return petstore.load()


def text(html: str) -> str:
    return html_module.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_the_api_page_groups_operations_by_tag_in_the_apis_order_then_the_untagged(client, store):
    r = client.get(store.get_absolute_url())
    page = text(r.text)
    order = [
        page.index(s)
        for s in (
            "pet Everything about your pets",
            "Add a pet",
            "Find pets by status",
            "store Access to the store",
            "Record an event",
            "Other operations",
            "Health check",
        )
    ]
    assert order == sorted(order)


def test_the_api_page_marks_deprecated_operations(client, store):
    r = client.get(store.get_absolute_url())
    item = re.search(r'<li class="deprecated">.*?</li>', r.text, re.S).group(0)
    assert "Replace the family tree" in item and "deprecated" in text(item)
    assert r.text.count('class="deprecated"') == 1


def test_an_api_without_tags_lists_its_operations_without_a_group_heading(client, demo_api):
    r = client.get(demo_api.get_absolute_url())
    assert "Other operations" not in r.text and "RRS Execute" in r.text


def test_the_operation_page_shows_the_request_body_schema_as_a_tree_next_to_named_examples(client, store):
    op = store.operations.get(key="addPet")
    r = client.get(op.get_absolute_url())
    assert r.status_code == 200
    page = text(r.text)
    assert "All of:" in page  # NewPet = allOf [Pet, {adopted}]
    assert "name string required" in page and "The pet's name." in page
    assert "status string required" in page and "One of: available , pending , sold" in page
    assert "photoUrls array of string (uri) required" in page
    assert "birthday string (date) nullable" in page
    assert "weight number" in page and "Default: 2.5" in page
    assert "nickname string deprecated" in page and "secret string write-only" in page
    assert "contact any" in page and "One of:" in page and "Phone" in page
    # The examples: two named ones, the first open, one open at a time.
    assert r.text.count('<details class="example" name="req0"') == 2
    assert '<details class="example" name="req0" open><summary>A cat</summary>' in r.text
    assert "Sold already." in page and '"Rex"' in page


def test_the_operation_page_shows_each_responses_schema_and_headers(client, store):
    op = store.operations.get(key="addPet")
    r = client.get(op.get_absolute_url())
    page = text(r.text)
    assert "X-Rate-Limit Calls left this hour integer yes" in page
    assert "Location Where the pet is string (uri) no" in page
    assert "200 The pet as stored" in page and "default Unexpected error" in page
    assert "code integer (int32) required" in page and "message string required" in page
    assert "id integer (int64) read-only" in page


def test_a_circular_schema_is_a_link_back_to_the_node_above_not_expanded_again(client, store):
    op = store.operations.get(key="putFamily")
    r = client.get(op.get_absolute_url())
    assert '<details class="schema-node" id="req0-1" open>' in r.text
    assert r.text.count('href="#req0-1"') == 2  # children[] and parent
    assert "A family tree" in r.text and text(r.text).count("label string required") == 1
    assert '<span class="tag deprecated">deprecated</span></h1>' in r.text


def test_parameters_show_their_schemas_type_format_enum_and_bounds(client, store):
    op = store.operations.get(key="findPetsByStatus")
    page = text(client.get(op.get_absolute_url()).text)
    assert "limit query How many pets at most ≥ 1, ≤ 100 integer (int32) no" in page
    assert "since query Changed after string (date-time) no" in page
    assert "status template" not in page and "One of: available , pending , sold" in page
    assert "X-Trace Trace the call (boolean)" in page
    assert "4XX Bad status value" in page
    assert '[{"name": "Tom"}]' in page


def test_an_operation_without_schemas_still_shows_its_example(client, demo_api):
    op = demo_api.operations.get(display_name="RRS Execute")
    r = client.get(op.get_absolute_url())
    assert "This is a good day" in r.text and "No schema documented." in r.text


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_api_and_operation_pages_run_as_many_queries_for_a_large_api_as_for_a_small_one(client, store):
    small_api = queries(client, store.get_absolute_url())
    small_op = queries(client, store.operations.get(key="addPet").get_absolute_url())
    add = store.operations.get(key="addPet")
    for i in range(30):
        op = Operation.objects.create(
            api=store,
            method="GET",
            url_template=f"/more/{i}/{{id}}?q={{q}}",
            display_name=f"More {i}",
            tags=["pet", f"t{i % 3}"],
        )
        op.responses.create(status_code="200", description="OK").representations.create(schema=petstore.ref("Pet"))
    for i in range(5):
        resp = add.responses.create(
            status_code=f"4{i}0", description="No", headers={"X-A": {"schema": {"type": "string"}}}
        )
        resp.representations.create(schema=petstore.ref("Error"))
        resp.representations.create(content_type="application/xml", schema=petstore.ref("Error"))
    add.parameters.create(name="X-One", description="h")
    add.representations.create(content_type="application/xml", schema=petstore.ref("Pet"))
    assert queries(client, store.get_absolute_url()) == small_api
    assert queries(client, add.get_absolute_url()) == small_op


def test_an_operation_page_shows_the_components_of_the_apis_current_version(client, store):
    op = store.operations.get(key="addPet")
    assert "The pet&#x27;s name." in client.get(op.get_absolute_url()).text
    store.components = {
        "schemas": {**petstore.COMPONENTS["schemas"], "Pet": {"type": "object", "description": "Renamed pet"}}
    }
    store.save()
    r = client.get(op.get_absolute_url())
    assert "Renamed pet" in r.text and "The pet&#x27;s name." not in r.text


def test_a_response_without_examples_shows_one_generated_from_its_schema_without_write_only_fields(client, store):
    op = store.operations.get(key="addPet")
    page = text(client.get(op.get_absolute_url()).text)
    ok, default = page.split("200 The pet as stored")[1].split("default Unexpected error")
    generated = ok.split("Example generated from the schema")[1]
    assert '"id": 10' in generated and '"category": {' in generated  # a response shows every property
    assert '"secret"' not in generated
    assert '"code": 1' in default.split("Example generated from the schema")[1]
