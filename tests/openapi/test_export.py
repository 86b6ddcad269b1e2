"""Exporting an API's description: four URLs, documents that validate, and
import → export → import giving the same catalog."""

from __future__ import annotations

import json

import pytest
import yaml
from django.conf import settings
from openapi_spec_validator import validate

from apis import importing, openapi
from apis.models import Api, Parameter
from tests.openapi.conftest import EXAMPLES, document

pytestmark = pytest.mark.django_db

BACKEND = "https://backend.example"
URLS = ["openapi.json", "openapi.yaml", "openapi-3.0.json", "swagger.json"]
# Every public document the suite imports (those the catalog can route).
DOCUMENTS = sorted(
    str(p.relative_to(EXAMPLES))
    for p in EXAMPLES.glob("*/json/*.json")
    # Refused (their paths cannot be routed, or their examples break their
    # own schemas), or too slow to validate twice in 3.1 form (the 2 MB
    # document below stands for the large ones).
    if p.name not in ("parameters-common.json", "parameters-style.json", "schema-validation.json", "star-trek.json")
    and not p.name.startswith("schema-validation-")
) or ["3.0/json/petstore.json"]


def fetch(client, api: Api, name: str) -> dict:
    r = client.get(f"/apis/{api.slug}/{name}")
    assert r.status_code == 200, r.content[:500]
    return yaml.load(r.content, Loader=yaml.CSafeLoader) if name.endswith(".yaml") else json.loads(r.content)


def catalog(api: Api) -> dict:
    """What a developer sees of an API, without ids or the backend."""
    operations = []
    for op in api.operations.prefetch_related("parameters", "representations", "responses__representations"):
        operations.append(
            {
                "key": op.key,
                "method": op.method,
                "template": op.url_template,
                "name": op.display_name,
                "description": op.description,
                "tags": op.tags,
                "deprecated": op.deprecated,
                "parameters": [
                    (p.name, p.location, p.description, p.type, p.default_value, p.allowed_values, p.required)
                    + (p.deprecated, p.schema)
                    for p in op.parameters.all()
                ],
                "representations": [
                    (r.content_type, r.schema, r.examples, r.example) for r in op.representations.all()
                ],
                "responses": [
                    (r.status_code, r.description, r.headers)
                    + tuple((x.content_type, x.schema, x.examples, x.example) for x in r.representations.all())
                    for r in op.responses.all()
                ],
            }
        )
    return {
        "name": api.name,
        "version": api.version,
        "description": api.description,
        "tags": api.tags,
        "schemas": api.components.get("schemas", {}),
        "operations": operations,
    }


def test_the_four_urls_serve_the_api_with_the_gateway_and_the_key(client, demo_api):
    docs = {name: fetch(client, demo_api, name) for name in URLS}
    assert docs["openapi.json"] == docs["openapi.yaml"]
    assert docs["openapi.json"]["openapi"] == "3.1.0"
    assert docs["openapi-3.0.json"]["openapi"] == "3.0.3"
    assert docs["swagger.json"]["swagger"] == "2.0"
    gateway = f"{settings.GATEWAY_URL}/{demo_api.path}"
    assert docs["openapi.json"]["servers"] == [{"url": gateway}]
    swagger = docs["swagger.json"]
    assert f"{swagger['schemes'][0]}://{swagger['host']}{swagger['basePath']}" == gateway
    schemes = docs["openapi.json"]["components"]["securitySchemes"]
    assert schemes == {
        "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "Ocp-Apim-Subscription-Key"},
        "apiKeyQuery": {"type": "apiKey", "in": "query", "name": "subscription-key"},
    }
    assert docs["openapi.json"]["security"] == [{"apiKeyHeader": []}, {"apiKeyQuery": []}]
    assert swagger["securityDefinitions"] == schemes
    paths = docs["openapi.json"]["paths"]
    execute = paths["/workspaces/{workspace}/services/{service}/execute"]["post"]
    assert execute["summary"] == "RRS Execute"
    assert [(p["name"], p["in"]) for p in execute["parameters"]] == [
        ("workspace", "path"),
        ("service", "path"),
        ("api-version", "query"),
        ("details", "query"),
        ("Authorization", "header"),
    ]
    assert "Inputs" in execute["requestBody"]["content"]["application/json"]["examples"]["default"]["value"]
    for doc in docs.values():
        validate(doc)


def test_only_published_apis_are_exported_to_whoever_sees_them(client, demo_api, admin_user):
    Api.objects.filter(pk=demo_api.pk).update(published=False)
    for name in URLS:
        assert client.get(f"/apis/{demo_api.slug}/{name}").status_code == 404
    client.force_login(admin_user)
    assert client.get(f"/apis/{demo_api.slug}/openapi.json").status_code == 404
    assert client.get("/apis/no-such-api/openapi.json").status_code == 404


def test_the_api_page_links_the_four_descriptions(client, demo_api):
    page = client.get(demo_api.get_absolute_url()).content.decode()
    for name in URLS:
        assert f'href="/apis/{demo_api.slug}/{name}"' in page


@pytest.mark.parametrize("relative", DOCUMENTS)
def test_every_imported_document_exports_valid_documents_and_round_trips(client, relative):
    first = importing.import_document(
        document(relative), slug="first", suffix="first", service_url=BACKEND, publish=True
    )
    exported = {name: fetch(client, first.api, name) for name in URLS}
    assert exported.pop("openapi.yaml") == exported["openapi.json"]
    for name, doc in exported.items():
        try:
            validate(doc)
        except Exception as e:  # the message names the version that failed
            pytest.fail(f"{name}: {str(e)[:1500]}")
    again = importing.import_document(
        json.dumps(exported["openapi.json"]), slug="again", suffix="again", service_url=BACKEND
    )
    assert again.count("added") == first.count("added")
    assert catalog(again.api) == catalog(first.api)


def test_the_2_megabyte_document_imports_in_full_and_exports_valid_documents(client, large_document):
    # One test for the large document: reading and validating it takes seconds.
    first = importing.import_document(large_document, slug="here", publish=True)
    api = first.api
    assert len(large_document) > 1_800_000
    assert first.count("added") == api.operations.count() == 216
    assert len({op.key for op in api.operations.all()}) == 216
    assert api.service_url == "https://tracking.api.here.com"
    assert any("'labels' uses style 'deepObject'" in w for w in first.warnings)
    assert Parameter.objects.filter(operation__api=api).count() > 216
    assert len(api.components["schemas"]) > 100
    exported = {name: fetch(client, first.api, name) for name in ("openapi.json", "openapi-3.0.json", "swagger.json")}
    for doc in exported.values():
        validate(doc)
    assert len(exported["openapi.json"]["paths"]) == len(
        {op.url_template.split("?")[0] for op in first.api.operations.all()}
    )
    # (Its round trip is left to the smaller documents: validating a 2 MB
    # 3.1 document takes openapi-spec-validator some 15 s.)


def test_exported_3_0_and_2_0_schemas_are_down_converted():
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "Types", "version": "1"},
        "servers": [{"url": BACKEND}],
        "paths": {
            "/a": {
                "post": {
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}},
                        }
                    },
                    "responses": {"200": {"description": "OK"}},
                }
            }
        },
        "components": {
            "schemas": {
                "Thing": {
                    "type": "object",
                    "properties": {
                        "name": {"type": ["string", "null"], "examples": ["Ada"]},
                        "size": {"type": "number", "exclusiveMinimum": 0},
                        "kind": {"const": "thing"},
                        "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                    },
                }
            }
        },
    }
    from apis import openapi_export

    report = importing.import_document(json.dumps(doc), publish=True)
    plain = openapi_export.document(
        report.api, report.api.operations.all(), gateway_url=BACKEND, key_header="K", key_param="k"
    )
    v30 = openapi_export.to_30(plain)
    props = v30["components"]["schemas"]["Thing"]["properties"]
    assert props["name"] == {"type": "string", "nullable": True, "example": "Ada"}
    assert props["size"] == {"type": "number", "minimum": 0, "exclusiveMinimum": True}
    assert props["kind"] == {"enum": ["thing"]}
    validate(v30)
    v20 = openapi_export.to_20(plain)
    props = v20["definitions"]["Thing"]["properties"]
    assert props["name"] == {"type": "string", "x-nullable": True, "example": "Ada"}
    assert props["either"] == {"allOf": [{"type": "string"}], "x-oneOf": [{"type": "string"}, {"type": "integer"}]}
    assert v20["paths"]["/a"]["post"]["parameters"][0]["schema"] == {"$ref": "#/definitions/Thing"}
    validate(v20)
    assert openapi.detect_version(v20) == "2.0"
