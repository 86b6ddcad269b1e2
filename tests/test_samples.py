"""Sample bodies made from schemas (apis/samples.py), without the database."""

from __future__ import annotations

import datetime
import uuid

from apis.samples import sample
from tests.petstore import COMPONENTS, ref


def test_an_object_gets_its_required_properties_with_enum_and_format_values():
    event = sample(ref("Event"), COMPONENTS)
    assert set(event) == {"at", "id", "kind"}
    assert datetime.datetime.fromisoformat(event["at"]).tzinfo is not None
    assert uuid.UUID(event["id"])
    assert event["kind"] == "created"


def test_an_object_with_nothing_required_gets_all_its_properties_within_their_bounds():
    value = sample({"type": "object", "properties": {"n": {"type": "integer", "minimum": 5, "maximum": 9}}}, {})
    assert value == {"n": 5}
    assert sample({"type": "integer", "maximum": -3}, {}) == -3
    assert sample({"type": "integer", "exclusiveMinimum": 0, "multipleOf": 5}, {}) == 5
    assert sample({"type": "number"}, {}) == 1.0


def test_defaults_and_examples_win_over_made_up_values():
    assert sample({"type": "number", "default": 2.5}, {}) == 2.5
    assert sample({"type": "integer", "example": 10}, {}) == 10
    assert sample({"type": "string", "examples": ["Tom"]}, {}) == "Tom"
    assert sample({"const": "fixed", "type": "string"}, {}) == "fixed"


def test_a_request_body_leaves_read_only_properties_out_and_a_response_write_only_ones():
    schema = {
        "type": "object",
        "properties": {"id": {"type": "integer", "readOnly": True}, "pw": {"type": "string", "writeOnly": True}},
    }
    assert sample(schema, {}) == {"pw": "string"}
    assert sample(schema, {}, direction="response") == {"id": 1}


def test_all_of_merges_its_parts_and_one_of_takes_the_first():
    new_pet = sample(ref("NewPet"), COMPONENTS)
    assert new_pet == {
        "name": "string",
        "photoUrls": ["https://example.com/resource"],
        "status": "available",
        "adopted": True,
    }
    assert sample({"oneOf": [{"type": "string", "format": "email"}, ref("Phone")]}, COMPONENTS) == "user@example.com"


def test_string_lengths_are_kept():
    assert len(sample({"type": "string", "minLength": 20}, {})) == 20
    assert sample({"type": "string", "format": "date-time", "maxLength": 10}, {}) == "2024-05-17"


def test_a_circular_schema_stops_where_the_reference_repeats():
    assert sample(ref("Node"), COMPONENTS) == {"label": "string"}
    everything = {"schemas": {"Node": {**COMPONENTS["schemas"]["Node"], "required": ["label", "children", "parent"]}}}
    assert sample(ref("Node"), everything) == {"label": "string", "children": []}
    assert sample(ref("Loop"), {"schemas": {"Loop": ref("Loop")}}) == {}


def test_a_huge_schema_gives_a_small_value_quickly():
    wide = {
        "schemas": {
            f"S{i}": {"type": "object", "properties": {f"p{j}": ref(f"S{i + 1}") for j in range(6)}} for i in range(40)
        }
    }
    value = sample(ref("S0"), wide)

    def size(v):
        return 1 + sum(size(x) for x in v.values()) if isinstance(v, dict) else 1

    assert size(value) <= 600


def test_nullable_and_untyped_schemas():
    assert sample({"type": ["null"]}, {}) is None
    assert sample({"type": ["string", "null"], "format": "date"}, {}) == "2024-05-17"
    assert sample({"type": "array", "items": {"type": "boolean"}, "minItems": 2}, {}) == [True, True]
    assert sample({"type": "object", "additionalProperties": {"type": "string"}}, {}) == {}
    assert sample(ref("Missing"), COMPONENTS) is None


def test_a_default_or_example_that_does_not_fit_the_schema_is_not_used():
    assert sample({"type": "string", "enum": ["a", "b"], "example": "Choose..."}, {}) == "a"
    assert sample({"type": "array", "items": {"type": "string"}, "default": None}, {}) == ["string"]
    assert sample({"type": ["array", "null"], "default": None}, {}) is None


def test_one_of_with_a_discriminator_names_the_alternative_it_made():
    components = {
        "schemas": {
            "Dog": {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}}},
            "Cat": {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}}},
        }
    }
    pet = {"oneOf": [ref("Dog"), ref("Cat")], "discriminator": {"propertyName": "kind"}}
    assert sample(pet, components) == {"kind": "Dog"}
    pet["discriminator"]["mapping"] = {"dog": "#/components/schemas/Dog"}
    assert sample(pet, components) == {"kind": "dog"}
