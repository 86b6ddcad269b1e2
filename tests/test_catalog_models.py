"""The catalog's behaviour: parameters follow templates, duplicates are refused."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apis.models import Api, Operation, Parameter, Product, RequestRepresentation

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return Api.objects.create(name="Books", path="books", service_url="http://127.0.0.1:9/books")


def names(operation):
    return [(p.name, p.location) for p in operation.parameters.exclude(location="header")]


def test_it_creates_a_parameter_for_each_template_and_query_parameter(api):
    op = Operation.objects.create(api=api, method="GET", url_template="/books/{id}?fields={fields}", display_name="Get")
    assert names(op) == [("id", "template"), ("fields", "query")]
    assert all(p.required for p in op.parameters.all())


def test_it_keeps_descriptions_when_the_template_changes_and_drops_removed_parameters(api):
    op = Operation.objects.create(api=api, method="GET", url_template="/books/{id}?fields={fields}", display_name="Get")
    op.parameters.filter(name="id").update(description="The book's id")
    Parameter.objects.create(operation=op, name="X-Trace", location="header")
    op.url_template = "/shelves/{shelf}/books/{id}"
    op.save()
    assert names(op) == [("shelf", "template"), ("id", "template")]
    assert op.parameters.get(name="id").description == "The book's id"
    assert op.parameters.filter(name="X-Trace", location="header").exists()


def test_it_gives_operations_a_unique_slug_per_api(api):
    a = Operation.objects.create(api=api, method="GET", url_template="/a", display_name="List books")
    b = Operation.objects.create(api=api, method="GET", url_template="/b", display_name="List books")
    assert (a.slug, b.slug) == ("list-books", "list-books-2")


def test_it_refuses_a_malformed_template_on_the_field(api):
    op = Operation(api=api, method="GET", url_template="/books/{id", display_name="Bad")
    with pytest.raises(ValidationError) as e:
        op.full_clean()
    assert "Unbalanced '{'" in e.value.message_dict["url_template"][0]


def test_it_refuses_the_same_verb_and_template_twice(api):
    Operation.objects.create(api=api, method="GET", url_template="/books/{id}", display_name="Get")
    op = Operation(api=api, method="GET", url_template="/books/{id}", display_name="Again")
    with pytest.raises(ValidationError) as e:
        op.full_clean()
    assert e.value.message_dict["url_template"] == ["'Get' already answers GET /books/{id}."]


def test_it_refuses_a_template_that_differs_only_in_parameter_names(api):
    Operation.objects.create(api=api, method="GET", url_template="/books/{id}", display_name="Get")
    op = Operation(api=api, method="GET", url_template="/books/{isbn}", display_name="By ISBN")
    with pytest.raises(ValidationError) as e:
        op.full_clean()
    assert "'Get' already answers GET /books/{id}" in e.value.message_dict["url_template"][0]
    # Another verb on the same path is fine.
    Operation(api=api, method="DELETE", url_template="/books/{isbn}", display_name="Delete").full_clean()


def test_it_refuses_a_suffix_that_is_taken_or_not_url_safe(api):
    with pytest.raises(ValidationError) as e:
        Api(name="Other", slug="other", path="books", service_url="http://x.example").full_clean()
    assert e.value.message_dict["path"] == ["Another API already uses this URL suffix."]
    with pytest.raises(ValidationError) as e:
        Api(name="Other", slug="other", path="a/../b", service_url="http://x.example").full_clean()
    assert "letters, digits" in e.value.message_dict["path"][0]


def test_it_wants_both_halves_of_a_limit():
    product = Product(name="P", slug="p", rate_limit_calls=5)
    with pytest.raises(ValidationError) as e:
        product.full_clean()
    assert "Set both the calls and the period" in e.value.message_dict["rate_limit_period"][0]


def test_schemas_keep_the_order_their_document_gave_them(api):
    # PostgreSQL's jsonb would hand these back sorted (by length, then bytes).
    op = Operation.objects.create(api=api, method="POST", url_template="/pets", display_name="Add")
    schema = {"type": "object", "properties": {"name": {}, "id": {}, "photoUrls": {}, "category": {}}}
    examples = {"zebra": {"value": 1}, "cat": {"value": 2}}
    RequestRepresentation.objects.create(operation=op, schema=schema, examples=examples)
    api.components = {"schemas": {"Pet": schema, "Error": {}}}
    api.save()
    stored = RequestRepresentation.objects.get(operation=op)
    assert list(stored.schema["properties"]) == ["name", "id", "photoUrls", "category"]
    assert list(stored.examples) == ["zebra", "cat"]
    assert list(Api.objects.get(pk=api.pk).components["schemas"]) == ["Pet", "Error"]
