"""Reading OpenAPI documents and mapping them to catalog rows, as API Management
imports them (apis/openapi.py: pure, no database)."""

from __future__ import annotations

import json

import pytest
import yaml

from apis import openapi
from tests.openapi.conftest import document


def plan_of(relative: str, **options) -> openapi.ApiPlan:
    return openapi.plan(openapi.read(document(relative)), **options)


def by_key(plan: openapi.ApiPlan) -> dict[str, openapi.OperationPlan]:
    return {op.key: op for op in plan.operations}


OK = {"200": {"description": "OK"}}


def small(**extra) -> dict:
    doc = {"openapi": "3.1.0", "info": {"title": "Small API", "version": "2"}, "paths": {}}
    doc.update(extra)
    return doc


def plan_dict(doc: dict, **options) -> openapi.ApiPlan:
    return openapi.plan(openapi.read(json.dumps(doc)), **options)


# -- the three versions, from public documents


def test_it_maps_swagger_2_petstore_with_host_base_path_and_bodies():
    plan = plan_of("2.0/json/petstore.json")
    assert plan.openapi_version == "2.0"
    assert (plan.name, plan.version, plan.suffix) == ("Swagger Petstore", "1.0.0", "swagger-petstore")
    # The scheme, host and basePath.
    assert plan.service_url == "http://petstore.swagger.io/v2"
    assert len(plan.operations) == 20
    ops = by_key(plan)
    assert ops["findPetsByStatus"].url_template == "/pet/findByStatus?status={status}"
    assert ops["getPetById"].url_template == "/pet/{petId}"
    # A body parameter is a representation per content type it consumes.
    assert [(r.content_type, r.schema) for r in ops["addPet"].representations] == [
        ("application/json", {"$ref": "#/components/schemas/Pet"}),
        ("application/xml", {"$ref": "#/components/schemas/Pet"}),
    ]
    # formData parameters are one form body with a property each.
    upload = ops["uploadFile"].representations
    assert [r.content_type for r in upload] == ["multipart/form-data"]
    assert upload[0].schema["properties"]["file"] == {
        "type": "string",
        "format": "binary",
        "description": "file to upload",
    }
    # definitions become components/schemas and the references follow.
    assert set(plan.components["schemas"]) == {"Order", "Category", "User", "Tag", "Pet", "ApiResponse"}
    assert plan.components["schemas"]["Pet"]["properties"]["category"] == {"$ref": "#/components/schemas/Category"}


def test_it_maps_openapi_3_0_petstore_in_yaml():
    plan = plan_of("3.0/yaml/petstore.yaml")
    assert plan.openapi_version == "3.0"
    assert len(plan.operations) == 20
    ops = by_key(plan)
    login = ops["loginUser"]
    assert login.url_template == "/user/login?username={username}&password={password}"
    assert [(p.name, p.location, p.required) for p in login.parameters] == [
        ("username", "query", True),
        ("password", "query", True),
    ]
    assert [r.status_code for r in login.responses] == ["200", "400"]
    assert login.responses[0].headers["X-Rate-Limit"]["schema"] == {"type": "integer", "format": "int32"}
    assert {t["name"] for t in plan.tags} == {"pet", "store", "user"}
    assert ops["addPet"].tags == ["pet"]


def test_it_maps_openapi_3_1_with_tags_path_parameters_headers_and_named_examples():
    plan = plan_of("3.1/yaml/train-travel.yaml")
    assert plan.openapi_version == "3.1"
    assert plan.service_url == "https://api.example.com"
    assert [t["name"] for t in plan.tags] == ["Stations", "Trips", "Bookings", "Payments"]
    ops = by_key(plan)
    assert list(ops) == [
        "get-stations",
        "get-trips",
        "get-bookings",
        "create-booking",
        "get-booking",
        "delete-booking",
        "create-booking-payment",
    ]
    trips = ops["get-trips"]
    # Required query parameters in the template, optional ones declared.
    assert trips.url_template == "/trips?origin={origin}&destination={destination}&date={date}"
    optional = [(p.name, p.type, p.default_value, p.required) for p in trips.parameters if not p.required]
    assert optional == [("bicycles", "boolean", "false", False), ("dogs", "boolean", "false", False)]
    # The path-level {bookingId} reaches each operation under the path.
    assert [p.name for p in ops["get-booking"].parameters] == ["bookingId"]
    assert [p.name for p in ops["create-booking-payment"].parameters] == ["bookingId"]
    # Headers referenced from components are resolved into each response.
    too_many = next(r for r in trips.responses if r.status_code == "429")
    assert sorted(too_many.headers) == ["RateLimit", "Retry-After"]
    # Every named example, not just the first.
    payment = ops["create-booking-payment"].representations[0]
    assert list(payment.examples) == ["Card", "Bank"]
    assert json.loads(payment.example) == payment.examples["Card"]["value"]
    assert any("newBooking" in w and "Webhooks" in w for w in plan.warnings)


def test_it_expands_server_variables_with_their_defaults():
    plan = plan_of("3.0/yaml/server-variables.yaml")
    assert plan.service_url == "https://demo.example.com:443/v2"
    # Operations with servers of their own are named, not silently rerouted.
    assert any(w.startswith("POST /operation:") and "servers" in w for w in plan.warnings)


def test_it_keeps_circular_schemas_as_references():
    plan = plan_of("3.0/yaml/schema-circular.yaml")
    schemas = plan.components["schemas"]
    text = json.dumps(schemas)
    assert '"$ref": "#/components/schemas/' in text
    # Stored once: the plan is a finite tree that JSON can write.
    assert len(text) < 20_000
    plan2 = plan_of("2.0/json/schema-circular.json")
    assert "#/definitions/" not in json.dumps(plan2.components) + json.dumps(
        [r.schema for op in plan2.operations for resp in op.responses for r in resp.representations]
    )


def test_it_keeps_polymorphism_as_alternatives():
    plan = plan_of("3.0/yaml/polymorphism.yaml")
    assert len(plan.operations) == 13
    body = plan.operations[0].representations[0].schema
    assert body == {
        "oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
        "discriminator": {"propertyName": "pet_type"},
    }


def test_it_upgrades_3_0_schemas_to_3_1():
    plan = plan_of("3.0/yaml/schema-types.yaml")
    schemas = json.dumps([r.schema for op in plan.operations for r in op.representations])
    assert '"nullable": true' not in schemas
    assert '"type": ["string", "null"], "description": "This string has is `nullable`."' in schemas


def test_it_lists_callbacks_cookies_and_styles_as_warnings():
    assert any("callbacks" in w and "onData" in w for w in plan_of("3.0/yaml/callbacks.yaml").warnings)
    cookies = plan_of("3.0/yaml/parameters-cookies.yaml").warnings
    assert "POST /post: the cookie parameter 'foo' is not imported (cookies are not supported)." in cookies


# -- the mapping rules, on documents written here


def test_display_name_is_the_summary_then_the_operation_id_then_verb_and_path():
    doc = small(
        paths={
            "/a": {
                "get": {"summary": "List the As", "operationId": "listAs", "responses": OK},
                "post": {"operationId": "make A!", "responses": OK},
                "delete": {"responses": OK},
            }
        }
    )
    ops = plan_dict(doc).operations
    assert [(op.display_name, op.key) for op in ops] == [
        ("List the As", "listAs"),
        ("make A!", "make-A"),
        ("DELETE /a", "delete-a"),
    ]


def test_operation_parameters_win_over_path_parameters_and_optional_ones_are_declared():
    doc = small(
        paths={
            "/items/{id}": {
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "lang", "in": "query", "schema": {"type": "string"}, "description": "path level"},
                ],
                "get": {
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                        {"name": "lang", "in": "query", "required": True, "schema": {"enum": ["en", "fr"]}},
                        {"name": "$top", "in": "query", "required": True, "schema": {"type": "integer"}},
                        {"name": "X-Trace", "in": "header", "schema": {"type": "boolean", "default": True}},
                        {"name": "page", "in": "query", "deprecated": True, "schema": {"type": "integer"}},
                        {"name": "two words", "in": "header", "schema": {"type": "string"}},
                    ],
                    "responses": OK,
                },
            }
        }
    )
    plan = plan_dict(doc)
    (op,) = plan.operations
    assert "GET /items/{id}: the header parameter 'two words' is not a valid header name, skipped." in plan.warnings
    # '$top' keeps its key in the query; its template name is made legal.
    assert op.url_template == "/items/{id}?lang={lang}&$top={top}"
    rows = [(p.name, p.location, p.type, p.required, p.allowed_values, p.default_value) for p in op.parameters]
    assert rows == [
        ("id", "template", "integer", True, "", ""),
        ("lang", "query", "string", True, "en\nfr", ""),
        ("top", "query", "integer", True, "", ""),
        ("page", "query", "integer", False, "", ""),
        ("X-Trace", "header", "boolean", False, "", "true"),
    ]
    assert op.parameters[3].deprecated


def test_responses_keep_default_and_ranges_and_deprecation_is_kept():
    doc = small(
        paths={
            "/a": {
                "get": {
                    "deprecated": True,
                    "responses": {
                        "2XX": {"description": "Fine", "content": {"application/json": {"example": {"ok": True}}}},
                        "default": {"description": "Trouble"},
                    },
                }
            }
        }
    )
    (op,) = plan_dict(doc).operations
    assert op.deprecated
    assert [(r.status_code, r.description) for r in op.responses] == [("2XX", "Fine"), ("default", "Trouble")]
    assert op.responses[0].representations[0].examples == {"default": {"value": {"ok": True}}}


def test_a_relative_server_url_is_kept_relative_to_the_given_one():
    doc = small(servers=[{"url": "/v1"}])
    assert plan_dict(doc).service_url == "/v1"
    assert plan_dict(doc, given_service_url="https://backend.example").service_url == "https://backend.example/v1"
    absolute = small(servers=[{"url": "https://api.example/v2"}])
    # The admin's URL wins over the document's.
    assert plan_dict(absolute, given_service_url="https://mirror.example").service_url == "https://mirror.example"


def test_a_body_on_get_is_dropped_with_a_warning():
    doc = small(
        paths={"/a": {"get": {"requestBody": {"content": {"application/json": {"schema": {}}}}, "responses": OK}}}
    )
    plan = plan_dict(doc)
    assert plan.operations[0].representations == []
    assert "GET /a: a request body on GET is dropped, as API Management does." in plan.warnings


def test_yaml_keys_that_look_like_numbers_and_dates_stay_strings():
    text = """
openapi: 3.0.3
info: {title: Dates, version: 2024-01-02}
paths:
  /a:
    get:
      responses:
        200:
          description: OK
"""
    plan = openapi.plan(openapi.read(text))
    assert plan.version == "2024-01-02"
    assert plan.operations[0].responses[0].status_code == "200"


# -- bad input: a clear message, nothing else


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "The document is empty."),
        (b"{not json", "Not JSON: Expecting property name enclosed in double quotes at line 1, column 2."),
        (b"key: [unclosed", "Not JSON or YAML: "),
        (b"\xff\xfe\x00", "Not JSON or YAML: the file is not UTF-8 text"),
        (b"- a\n- b\n", "Not an OpenAPI document: it is not a JSON or YAML object."),
        (b"title: no version field\n", "Not an OpenAPI document: it has neither an 'openapi' nor a 'swagger' field."),
        (b"openapi: 4.0.0\n", "Unknown OpenAPI version '4.0.0': use 2.0, 3.0.x or 3.1.x."),
        (b"swagger: '1.2'\n", "Unknown Swagger version '1.2': only 2.0 exists."),
        (b"openapi: 3.1.0\ninfo: {title: T}\npaths: {}\n", "Not a valid OpenAPI 3.1 document: 'version' is a required"),
    ],
)
def test_it_refuses_what_is_not_an_openapi_document(data, message):
    with pytest.raises(openapi.DocumentError) as e:
        openapi.read(data)
    assert str(e.value).startswith(message)


def test_it_refuses_more_than_20_megabytes():
    data = b'{"openapi": "3.1.0", "x-padding": "' + b"x" * (30 * 1024 * 1024) + b'"}'
    with pytest.raises(openapi.DocumentError, match=r"^The document is 30\.0 MB: at most 20 MB\.$"):
        openapi.read(data)


def test_it_refuses_external_references_naming_the_first():
    doc = small(
        paths={
            "/a": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "OK",
                            "content": {"application/json": {"schema": {"$ref": "common.yaml#/Thing"}}},
                        }
                    }
                }
            },
            "/b": {"$ref": "https://example.com/paths.yaml#/b"},
        }
    )
    with pytest.raises(openapi.DocumentError) as e:
        openapi.read(json.dumps(doc))
    assert str(e.value) == (
        "External references are not supported: 'common.yaml#/Thing' at "
        "/paths/~1a/get/responses/200/content/application/json/schema. Bundle the document into one file first."
    ).replace("~1a", "/a")


def test_an_external_example_reference_is_refused_too_and_example_data_is_not_a_reference():
    media = {
        "schema": {"type": "object", "examples": [{"$ref": "data.json"}]},
        "examples": {"remote": {"$ref": "https://example.com/examples.yaml#/one"}},
    }
    doc = small(paths={"/a": {"get": {"responses": {"200": {"description": "OK", "content": {"a/b": media}}}}}})
    with pytest.raises(openapi.DocumentError, match="'https://example.com/examples.yaml#/one' at "):
        openapi.read(json.dumps(doc))
    del media["examples"]
    media["example"] = {"$ref": "not a reference, an example body"}
    assert openapi.first_external_ref(openapi.read(json.dumps(doc))) is None


def test_it_refuses_a_reference_that_points_nowhere():
    doc = small(paths={"/a": {"get": {"parameters": [{"$ref": "#/components/parameters/nope"}], "responses": OK}}})
    with pytest.raises(openapi.DocumentError, match="nope"):
        openapi.plan(openapi.read(json.dumps(doc)))


def test_it_refuses_two_operations_that_answer_the_same_calls():
    doc = small(paths={"/a/{x}": {"get": {"responses": OK}}, "/a/{y}": {"get": {"responses": OK}}})
    doc["paths"]["/a/{x}"]["parameters"] = [{"name": "x", "in": "path", "required": True, "schema": {}}]
    doc["paths"]["/a/{y}"]["parameters"] = [{"name": "y", "in": "path", "required": True, "schema": {}}]
    with pytest.raises(openapi.DocumentError) as e:
        plan_dict(doc)
    assert str(e.value) == "Duplicate operation: GET /a/{y} and GET /a/{x} would answer the same calls."


@pytest.mark.parametrize(
    "relative, message",
    [
        # Public documents whose paths the catalog cannot route.
        (
            "3.0/yaml/parameters-common.yaml",
            "GET /anything/{id}/{action}/{id}: the URL template is not accepted: "
            "Duplicate parameter name 'id' (at position 26).",
        ),
        (
            "3.1/yaml/parameters-style.yaml",
            "GET /cookies#formNonExploded: the URL template is not accepted: "
            "A URL template cannot have a fragment ('#') (at position 9).",
        ),
    ],
)
def test_it_refuses_templates_the_catalog_rejects(relative, message):
    with pytest.raises(openapi.DocumentError) as e:
        plan_of(relative)
    assert str(e.value) == message


def test_yaml_aliases_cannot_blow_up_the_document():
    lines = ["openapi: 3.1.0", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 10)}]")
    with pytest.raises(openapi.DocumentError, match="too large once its YAML aliases are expanded"):
        openapi.read("\n".join(lines))
    assert yaml.__with_libyaml__  # the C loader is the one in use
