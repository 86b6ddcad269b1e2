"""Bodies for mock-response: the stored example, else one generated from the
JSON Schema (OpenAPI 3.1 form, "#/components/..." references into the API's
components), as API Management does. Pure Python, no Django."""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 8  # a circular schema still makes a finite example
FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00Z",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-0000-0000-000000000000",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "hostname": "example.com",
    "byte": "U3dhZ2dlciByb2Nrcw==",
}


def resolvable(schema: dict, components: dict) -> dict:
    """``schema`` with the API's components beside it, so that its
    "#/components/schemas/X" references resolve against the root."""
    if not components:
        return schema
    return {**schema, "components": components}


def _resolve(schema: Any, components: dict) -> Any:
    seen = 0
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < MAX_DEPTH:
        ref = schema["$ref"]
        if not ref.startswith("#/components/"):
            return {}
        node: Any = {"components": components}
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part) if isinstance(node, dict) else None
        schema, seen = node or {}, seen + 1
    return schema


def generate(schema: Any, components: dict | None = None, depth: int = 0) -> Any:
    """A value that fits ``schema`` (its example or default when it has one)."""
    components = components or {}
    schema = _resolve(schema, components)
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return None
    for key in ("example", "default", "const"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return generate(schema[key][0], components, depth + 1)
    if schema.get("allOf"):
        merged: dict = {}
        for part in schema["allOf"]:
            value = generate(part, components, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else None
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: generate(sub, components, depth + 1) for name, sub in props.items()}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1) or 1))
        return [generate(schema.get("items", {}), components, depth + 1) for _ in range(min(count, 3))]
    if kind == "string":
        text = FORMATS.get(schema.get("format", ""), "string")
        return text if len(text) >= int(schema.get("minLength", 0) or 0) else text * int(schema["minLength"])
    if kind == "integer":
        return int(schema.get("minimum", 0) or 0)
    if kind == "number":
        return float(schema.get("minimum", 0) or 0)
    if kind == "boolean":
        return True
    return None


def body_of(example: str, examples: dict, schema: dict, components: dict, content_type: str) -> bytes:
    """The stored example body, else the first named example, else one
    generated from the schema; empty when there is none of them."""
    if example:
        return example.encode()
    for named in (examples or {}).values():
        if isinstance(named, dict) and "value" in named:
            value = named["value"]
            return value.encode() if isinstance(value, str) else json.dumps(value).encode()
    if schema:
        value = generate(schema, components)
        if "json" in content_type.lower():
            return json.dumps(value).encode()
        return ("" if value is None else str(value)).encode()
    return b""
