"""Real public documents imported, then shown: every operation page, its trees, and the console's generated bodies.

The generated bodies are checked with jsonschema against the very schema they
were made from (with the API's components as the registry), so a generator
that writes the wrong type, misses a required property or breaks an enum fails.
"""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from apis import importing, samples, schemas
from apis.models import Api, RequestRepresentation
from tests.openapi.conftest import document

pytestmark = pytest.mark.django_db

DOCUMENTS = [
    "3.0/json/petstore.json",
    "3.0/json/circular.json",
    "3.0/json/schema-circular.json",
    "3.0/json/polymorphism.json",
    "3.0/json/discriminators.json",
    "3.0/json/complex-nesting.json",
    "3.0/json/schema-types.json",
    "3.0/json/schema-enums.json",
    "3.0/json/request-examples.json",
    "3.0/json/response-multiple-mediatypes.json",
    "3.1/json/train-travel.json",
    "3.1/json/schema-types.json",
    "2.0/json/petstore.json",
]


# schema-types.json's "incompatible" quirks, on purpose: allOf a string and
# an integer, which nothing satisfies.
def unsatisfiable(key: str) -> bool:
    return key.startswith("quirks_") and "incompatible" in key.lower()


def imported(name: str) -> Api:
    report = importing.import_document(document(name), slug="doc", suffix="doc", publish=True)
    return report.api


def queries(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries), response.content.decode()


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_operation_page_of_a_real_document_renders_with_the_same_number_of_queries(client, name):
    api = imported(name)
    counts = set()
    trees = 0
    ops = list(api.operations.all())
    # The first operation page loads and parses the components (one query
    # more); the others reuse them until the API is saved again.
    client.get(ops[0].get_absolute_url())
    for op in ops:
        count, html = queries(client, op.get_absolute_url())
        counts.add(count)
        trees += html.count('class="schema-tree"')
    assert len(counts) == 1, counts
    assert trees > 0
    api_queries, html = queries(client, api.get_absolute_url())
    for tag in api.tags:
        assert f">{tag['name']}</h3>" in html


def validator(api: Api, schema: dict) -> Draft202012Validator:
    root = {"components": api.components}
    registry = Registry().with_resource("urn:api", Resource.from_contents(root, default_specification=DRAFT202012))
    rebased = json.loads(json.dumps(schema).replace('"#/components/', '"urn:api#/components/'))
    return Draft202012Validator(rebased, registry=registry)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_a_body_generated_from_each_request_schema_is_valid_against_it(name):
    api = imported(name)
    checked = 0
    for rep in RequestRepresentation.objects.filter(operation__api=api).exclude(schema={}):
        if not rep.content_type.endswith("json") or unsatisfiable(rep.operation.key):
            continue
        value = samples.sample(rep.schema, api.components)
        # Alternatives that do not exclude each other (open objects sharing
        # their required properties) accept any value of one under the
        # others too: no value can be "exactly one" there, so that is not
        # the generator's error. OpenAPI readers pick by the discriminator.
        errors = [
            e.message
            for e in validator(api, rep.schema).iter_errors(value)
            if not (e.validator == "oneOf" and "is valid under each of" in e.message)
        ]
        assert not errors, (rep.operation.key, value, errors)
        checked += 1
    if name in ("3.0/json/petstore.json", "3.1/json/train-travel.json", "3.0/json/polymorphism.json"):
        assert checked > 0


def test_the_large_document_bounds_every_tree_and_its_pages_run_the_same_queries(client, large_document):
    api = importing.import_document(large_document, slug="here", publish=True).api
    ops = list(api.operations.prefetch_related("representations", "responses__representations"))
    assert len(ops) == 216
    sizes = []
    for op in ops:
        bodies = list(op.representations.all()) + [r for resp in op.responses.all() for r in resp.representations.all()]
        for body in bodies:
            if tree := schemas.tree(body.schema, api.components):
                sizes.append(schemas.count(tree))
    assert max(sizes) <= schemas.MAX_NODES + 1
    client.get(ops[0].get_absolute_url())
    biggest = sorted(ops, key=lambda op: -len(json.dumps([r.schema for r in op.representations.all()])))[:5]
    counts = {queries(client, op.get_absolute_url())[0] for op in biggest + ops[:5]}
    assert len(counts) == 1


def test_circular_schemas_of_a_real_document_are_links_back(client):
    api = imported("3.0/json/circular.json")
    links = 0
    for op in api.operations.all():
        html = client.get(op.get_absolute_url()).content.decode()
        links += html.count("circular: shown above")
        for anchor in set(re.findall(r'class="schema-link" href="#([^"]+)"', html)):
            assert f'id="{anchor}"' in html  # the link leads to the node shown above
    assert links > 0
