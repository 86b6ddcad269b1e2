"""A Petstore-like API written for these tests: stored as the OpenAPI importer stores it.

Components in OpenAPI 3.1 form with their references kept, a circular `Node`,
oneOf/anyOf/allOf, enums, formats, nullable types, arrays of objects, named
examples and response headers. `load()` puts it in the catalog with the ORM.
"""

from __future__ import annotations

import json

COMPONENTS = {
    "schemas": {
        "Category": {
            "type": "object",
            "properties": {"id": {"type": "integer", "format": "int64"}, "name": {"type": "string"}},
        },
        "Tag": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
        "Pet": {
            "type": "object",
            "description": "A pet in the store.",
            "required": ["name", "photoUrls", "status"],
            "properties": {
                "id": {"type": "integer", "format": "int64", "readOnly": True, "example": 10},
                "name": {"type": "string", "minLength": 1, "maxLength": 40, "description": "The pet's name."},
                "category": {"$ref": "#/components/schemas/Category"},
                "photoUrls": {"type": "array", "items": {"type": "string", "format": "uri"}},
                "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}},
                "status": {
                    "type": "string",
                    "enum": ["available", "pending", "sold"],
                    "description": "pet status in the store",
                },
                "birthday": {"type": ["string", "null"], "format": "date"},
                "weight": {"type": "number", "minimum": 0.1, "default": 2.5},
                "nickname": {"type": "string", "deprecated": True},
                "secret": {"type": "string", "writeOnly": True},
                "contact": {
                    "oneOf": [
                        {"type": "string", "format": "email"},
                        {"$ref": "#/components/schemas/Phone"},
                    ]
                },
            },
        },
        "Phone": {
            "type": "object",
            "required": ["number"],
            "properties": {"number": {"type": "string", "pattern": "^[0-9+ ]+$"}},
        },
        "NewPet": {
            "allOf": [
                {"$ref": "#/components/schemas/Pet"},
                {"type": "object", "required": ["adopted"], "properties": {"adopted": {"type": "boolean"}}},
            ]
        },
        "Node": {
            "type": "object",
            "description": "A family tree: each node holds its children.",
            "required": ["label"],
            "properties": {
                "label": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                "parent": {"$ref": "#/components/schemas/Node"},
            },
        },
        "Error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "integer", "format": "int32"}, "message": {"type": "string"}},
        },
        "Pets": {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}},
        "Search": {
            "anyOf": [
                {"type": "object", "properties": {"name": {"type": "string"}}},
                {"type": "object", "properties": {"tag": {"type": "string"}}},
            ]
        },
        "Event": {
            "type": "object",
            "required": ["at", "id", "kind"],
            "properties": {
                "at": {"type": "string", "format": "date-time"},
                "id": {"type": "string", "format": "uuid"},
                "kind": {"type": "string", "enum": ["created", "deleted"]},
                "count": {"type": "integer", "minimum": 5, "maximum": 9},
                "meta": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
    }
}

TAGS = [
    {"name": "pet", "description": "Everything about your pets"},
    {"name": "store", "description": "Access to the store's orders"},
]

PET_EXAMPLES = {
    "cat": {"summary": "A cat", "value": {"name": "Tom", "photoUrls": [], "status": "available"}},
    "dog": {
        "summary": "A dog",
        "description": "Sold already.",
        "value": {"name": "Rex", "photoUrls": [], "status": "sold"},
    },
}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def load(service_url: str = "http://127.0.0.1:9/petstore", path: str = "petstore"):
    """The Petstore API in the catalog, published, with its operations."""
    from apis.models import Api, Operation, Parameter, RequestRepresentation, Response, ResponseRepresentation

    api = Api.objects.create(
        name="Petstore", path=path, service_url=service_url, version="1.0.0", components=COMPONENTS, tags=TAGS
    )
    add = Operation.objects.create(
        api=api, method="POST", url_template="/pets", display_name="Add a pet", key="addPet", tags=["pet"], order=1
    )
    RequestRepresentation.objects.create(
        operation=add,
        content_type="application/json",
        schema=ref("NewPet"),
        examples=PET_EXAMPLES,
        example=json.dumps(PET_EXAMPLES["cat"]["value"], indent=2),
    )
    ok = Response.objects.create(
        operation=add,
        status_code="200",
        description="The pet as stored",
        headers={
            "X-Rate-Limit": {"description": "Calls left this hour", "schema": {"type": "integer"}, "required": True},
            "Location": {"description": "Where the pet is", "schema": {"type": "string", "format": "uri"}},
        },
    )
    ResponseRepresentation.objects.create(response=ok, content_type="application/json", schema=ref("Pet"))
    bad = Response.objects.create(operation=add, status_code="default", description="Unexpected error")
    ResponseRepresentation.objects.create(response=bad, content_type="application/json", schema=ref("Error"))

    find = Operation.objects.create(
        api=api,
        method="GET",
        url_template="/pets/findByStatus?status={status}",
        display_name="Find pets by status",
        key="findPetsByStatus",
        tags=["pet"],
        order=2,
    )
    Parameter.objects.filter(operation=find, name="status").update(
        schema={"type": "string", "enum": ["available", "pending", "sold"], "default": "available"},
        allowed_values="available\npending\nsold",
        default_value="available",
    )
    Parameter.objects.create(
        operation=find,
        name="limit",
        location=Parameter.QUERY,
        type="integer",
        schema={"type": "integer", "format": "int32", "minimum": 1, "maximum": 100},
        description="How many pets at most",
        order=5,
    )
    Parameter.objects.create(
        operation=find,
        name="since",
        location=Parameter.QUERY,
        schema={"type": "string", "format": "date-time"},
        description="Changed after",
        order=6,
    )
    Parameter.objects.create(
        operation=find,
        name="X-Trace",
        location=Parameter.HEADER,
        type="boolean",
        schema={"type": "boolean"},
        description="Trace the call",
    )
    found = Response.objects.create(operation=find, status_code="200", description="The pets")
    ResponseRepresentation.objects.create(
        response=found, content_type="application/json", schema=ref("Pets"), example='[{"name": "Tom"}]'
    )
    Response.objects.create(operation=find, status_code="4XX", description="Bad status value")

    tree = Operation.objects.create(
        api=api,
        method="PUT",
        url_template="/family",
        display_name="Replace the family tree",
        key="putFamily",
        tags=["pet"],
        deprecated=True,
        order=3,
    )
    RequestRepresentation.objects.create(operation=tree, content_type="application/json", schema=ref("Node"))
    Response.objects.create(operation=tree, status_code="204", description="Replaced")

    order = Operation.objects.create(
        api=api,
        method="POST",
        url_template="/store/events",
        display_name="Record an event",
        key="recordEvent",
        tags=["store"],
        order=4,
    )
    RequestRepresentation.objects.create(operation=order, content_type="application/json", schema=ref("Event"))
    RequestRepresentation.objects.create(
        operation=order, content_type="application/x-www-form-urlencoded", schema=ref("Event")
    )
    Response.objects.create(operation=order, status_code="201", description="Recorded")

    Operation.objects.create(
        api=api, method="GET", url_template="/health", display_name="Health check", key="health", order=5
    )
    return api
