"""A sample value made from a JSON Schema: the console's body when no example was given.

Pure Python, no Django. The value takes, in this order, the schema's const,
default, example and first enum value; else one made for its type and format
(a date-time that parses, an e-mail address, a UUID, a number within its
bounds). Objects in a request get their required properties (all of them
when none is required), in a response all of them; arrays one item (or
minItems). A request body leaves readOnly
properties out, a response writeOnly ones. Circular schemas stop where the
reference repeats (the property is left out, an array stays empty), and depth
and size are bounded, so any stored schema gives a small value quickly.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from apis.schemas import ANNOTATIONS, ref_name, resolve, types_of

MAX_DEPTH = 10
MAX_NODES = 500
MAX_ITEMS = 3

FORMATS = {
    "date-time": "2024-05-17T09:30:00Z",
    "date": "2024-05-17",
    "time": "09:30:00Z",
    "duration": "PT1H30M",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "hostname": "api.example.com",
    "idn-hostname": "api.example.com",
    "ipv4": "192.0.2.10",
    "ipv6": "2001:db8::10",
    "uri": "https://example.com/resource",
    "url": "https://example.com/resource",
    "iri": "https://example.com/resource",
    "uri-reference": "/resource",
    "uri-template": "https://example.com/{id}",
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "byte": "U2FtcGxl",
    "binary": "",
    "password": "correct-horse-battery",
    "json-pointer": "/a/b",
    "regex": "^[a-z]+$",
}
NUMBER_FORMATS = {"int32", "int64", "float", "double"}


class _Omit:
    """A value that cannot be made (a circular reference): left out of its parent."""


OMIT = _Omit()


class Generator:
    def __init__(self, components: dict, direction: str) -> None:
        self.components = components if isinstance(components, dict) else {}
        self.skip = "readOnly" if direction == "request" else "writeOnly"
        self.left = MAX_NODES

    def value(self, schema: Any, depth: int, open_refs: frozenset[str]) -> Any:
        self.left -= 1
        if not isinstance(schema, dict):
            return OMIT if schema is False else None
        while isinstance(schema.get("$ref"), str):
            ref = schema["$ref"]
            if ref in open_refs:
                return OMIT
            target = resolve(ref, self.components)
            if target is None:
                return None
            siblings = schema_without(schema, "$ref")
            if set(siblings) - ANNOTATIONS:
                # Properties or constraints beside a reference add to it (3.1): both apply.
                return self.all_of({"allOf": [{"$ref": ref}, siblings]}, depth, open_refs)
            open_refs = open_refs | {ref}
            schema = {**target, **siblings}
        if "const" in schema:
            return schema["const"]
        # A document's default or example is used when it fits (some give an
        # example outside their own enum, or a null default for an array).
        given = [schema[k] for k in ("default", "example") if k in schema]
        if isinstance(schema.get("examples"), list):
            given += schema["examples"][:1]
        for value in given:
            if fits(value, schema):
                return value
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][0]
        if "allOf" in schema and isinstance(schema["allOf"], list):
            return self.all_of(schema, depth, open_refs)
        for keyword in ("oneOf", "anyOf"):
            options = schema.get(keyword)
            if isinstance(options, list) and options:
                # The first alternative that can be made (a circular one cannot).
                rest = {k: v for k, v in schema.items() if k not in (keyword, "discriminator")}
                for option in options:
                    # What sits beside the alternatives applies to each of them.
                    both = {"allOf": [option, rest]} if set(rest) - ANNOTATIONS else as_dict(option)
                    made = self.value(both, depth, open_refs)
                    if made is not OMIT:
                        return discriminated(made, schema.get("discriminator"), as_dict(option))
                return OMIT
        types, nullable = types_of(schema)
        kind = types[0] if types else ""
        if depth >= MAX_DEPTH or self.left <= 0:
            return {"object": {}, "array": []}.get(kind, None if nullable else self.scalar(kind, schema))
        if kind == "object" or (not kind and "properties" in schema):
            return self.object(schema, depth, open_refs)
        if kind == "array":
            return self.array(schema, depth, open_refs)
        if not kind and nullable:
            return None
        return self.scalar(kind, schema)

    def object(self, schema: dict, depth: int, open_refs: frozenset[str]) -> dict:
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = [r for r in schema.get("required") or [] if isinstance(r, str)]
        names = [n for n in properties if n in required] + [n for n in required if n not in properties]
        if not required or self.skip == "writeOnly":
            # A request needs only what is required; a response shows it all.
            names = list(properties) + [n for n in required if n not in properties]
        out = {}
        for name in names:
            if self.left <= 0:
                break
            sub = properties.get(name, {})
            if isinstance(sub, dict) and self.marked_skip(sub):
                continue
            made = self.value(sub, depth + 1, open_refs)
            if made is not OMIT:
                out[name] = made
        return out

    def marked_skip(self, schema: dict) -> bool:
        if schema.get(self.skip) is True:
            return True
        target = resolve(schema.get("$ref", ""), self.components) if "$ref" in schema else None
        return bool(target and target.get(self.skip) is True)

    def array(self, schema: dict, depth: int, open_refs: frozenset[str]) -> list:
        count = schema.get("minItems") if isinstance(schema.get("minItems"), int) else 1
        count = max(1, min(count, MAX_ITEMS))
        items = schema.get("items", {})
        out = []
        for _ in range(count):
            made = self.value(items, depth + 1, open_refs)
            if made is OMIT:
                return []
            out.append(made)
        return out

    def all_of(self, schema: dict, depth: int, open_refs: frozenset[str]) -> Any:
        merged: dict = {}
        rest = schema_without(schema, "allOf")
        parts = [p for p in schema["allOf"]] + ([rest] if rest else [])
        for part in parts:
            made = self.value(part, depth, open_refs)
            if isinstance(made, dict):
                merged.update(made)
            elif made is not OMIT and made is not None and not merged:
                return made  # an allOf of scalars: the first one says enough
        return merged

    @staticmethod
    def scalar(kind: str, schema: dict) -> Any:
        fmt = schema.get("format")
        if kind in ("integer", "number") or (not kind and fmt in NUMBER_FORMATS):
            return number(kind or "number", schema)
        if kind == "boolean":
            return True
        if kind == "string" or fmt in FORMATS:
            return string(schema)
        return None


JSON_TYPES = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def fits(value: Any, schema: dict) -> bool:
    """Whether a given value has the schema's type and is in its enum (a quick check, not validation)."""
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        return False
    types, nullable = types_of(schema)
    if value is None:
        return nullable or not types
    if isinstance(value, bool) and "boolean" not in types:
        return not types
    return not types or any(isinstance(value, JSON_TYPES.get(t, ())) for t in types)


def discriminated(value: Any, discriminator: Any, option: dict) -> Any:
    """An object made from one of several alternatives names it in the
    discriminator property, as OpenAPI readers pick the alternative by it."""
    if not isinstance(value, dict) or not isinstance(discriminator, dict) or "$ref" not in option:
        return value
    name = discriminator.get("propertyName")
    if not isinstance(name, str):
        return value
    mapping = discriminator.get("mapping") if isinstance(discriminator.get("mapping"), dict) else {}
    ref = option["$ref"]
    label = next((k for k, v in mapping.items() if v == ref), None) or ref_name(ref)
    return {**value, name: label}


def schema_without(schema: dict, keyword: str) -> dict:
    return {k: v for k, v in schema.items() if k != keyword}


def as_dict(schema: Any) -> dict:
    return schema if isinstance(schema, dict) else {}


def number(kind: str, schema: dict) -> int | float:
    low = schema.get("minimum")
    if isinstance(schema.get("exclusiveMinimum"), (int, float)) and not isinstance(
        schema.get("exclusiveMinimum"), bool
    ):
        low = schema["exclusiveMinimum"] + (1 if kind == "integer" else 0.5)
    high = schema.get("maximum")
    if isinstance(schema.get("exclusiveMaximum"), (int, float)) and not isinstance(
        schema.get("exclusiveMaximum"), bool
    ):
        high = schema["exclusiveMaximum"] - (1 if kind == "integer" else 0.5)
    value: int | float = low if isinstance(low, (int, float)) else 1
    if isinstance(high, (int, float)) and value > high:
        value = high
    step = schema.get("multipleOf")
    if isinstance(step, (int, float)) and step > 0 and value % step:
        value = (value // step + 1) * step
    if kind == "integer":
        return int(value)
    return float(value)


def string(schema: dict) -> str:
    fmt = schema.get("format")
    text = FORMATS.get(fmt, "string") if isinstance(fmt, str) else "string"
    low = schema.get("minLength")
    if isinstance(low, int) and len(text) < low:
        text = (text * (low // max(len(text), 1) + 1))[:low] if text else "x" * low
    high = schema.get("maxLength")
    if isinstance(high, int) and len(text) > high:
        text = text[:high]
    return text


def sample(schema: Any, components: dict, *, direction: str = "request") -> Any:
    """A value that fits the schema (None when the schema says nothing)."""
    made = Generator(components, direction).value(schema, 0, frozenset())
    if made is OMIT:
        return {}
    return made


def is_json_type(content_type: str) -> bool:
    main = content_type.split(";")[0].strip().lower()
    return main == "application/json" or main.endswith("+json")


def body_text(value: Any, content_type: str) -> str:
    """A value made from a schema as a body of a content type: JSON, or a form's fields; '' for other types."""
    if is_json_type(content_type):
        return json.dumps(value, indent=2, ensure_ascii=False)
    main = content_type.split(";")[0].strip().lower()
    if main == "application/x-www-form-urlencoded" and isinstance(value, dict):
        return urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in value.items()})
    if main.startswith("text/") and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    return ""
