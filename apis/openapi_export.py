"""OpenAPI documents out: an API of the catalog as OpenAPI 3.1, 3.0 or Swagger 2.0.

``document(api, operations, ...)`` writes the 3.1 form from the catalog's rows
(read through their attributes, so no Django import here); ``to_30`` and
``to_20`` convert that document down, schemas included, so each validates
against its own version. Servers point at the gateway and the subscription
key is declared as the API's security, because that is how callers reach it.
"""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import unquote, urlsplit

from apis import urltemplate

HEADER_SCHEME, QUERY_SCHEME = "apiKeyHeader", "apiKeyQuery"
# Keywords JSON Schema 2020-12 has and OpenAPI 3.0's schema object has not.
NOT_IN_30 = {
    "$schema",
    "$id",
    "$anchor",
    "$dynamicAnchor",
    "$dynamicRef",
    "$defs",
    "$comment",
    "$vocabulary",
    "prefixItems",
    "contains",
    "minContains",
    "maxContains",
    "if",
    "then",
    "else",
    "dependentSchemas",
    "dependentRequired",
    "unevaluatedProperties",
    "unevaluatedItems",
    "propertyNames",
    "patternProperties",
    "contentMediaType",
    "contentEncoding",
    "contentSchema",
    "examples",
    "const",
}
NOT_IN_20 = NOT_IN_30 | {"oneOf", "anyOf", "not", "nullable", "writeOnly", "deprecated", "discriminator"}
SCHEMA_LISTS = ("allOf", "oneOf", "anyOf", "prefixItems")
SCHEMA_ONE = ("items", "additionalProperties", "not", "contains", "if", "then", "else", "propertyNames")
SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")


def parse_example(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def document(api, operations, *, gateway_url: str, key_header: str, key_param: str) -> dict:
    """The API as OpenAPI 3.1. Each operation needs its parameters,
    representations and responses (with theirs) prefetched."""
    info: dict = {"title": api.name, "version": api.version or "1.0"}
    if api.description:
        info["description"] = api.description
    components = copy.deepcopy(api.components or {})
    # The backend's own schemes do not reach callers: the gateway asks for a key.
    components["securitySchemes"] = {
        HEADER_SCHEME: {"type": "apiKey", "in": "header", "name": key_header},
        QUERY_SCHEME: {"type": "apiKey", "in": "query", "name": key_param},
    }
    doc: dict = {"openapi": "3.1.0", "info": info, "servers": [{"url": gateway_url}]}
    if api.tags:
        doc["tags"] = [{k: v for k, v in tag.items() if v or k == "name"} for tag in api.tags]
    paths: dict = {}
    for op in operations:
        template = urltemplate.parse(op.url_template)
        path = op.url_template.split("?", 1)[0] if template.query else op.url_template
        item = paths.setdefault(path, {})
        method = op.method.lower()
        if method in item:
            continue  # two templates differing only in their query: OpenAPI keeps one per path and verb
        item[method] = operation(op, template)
    doc["paths"] = paths
    doc["components"] = components
    if api.subscription_required:
        doc["security"] = [{HEADER_SCHEME: []}, {QUERY_SCHEME: []}]
    return doc


def parameter_schema(param) -> dict:
    if param.schema:
        return copy.deepcopy(param.schema)
    schema: dict = {"type": param.type}
    if param.choices:
        schema["enum"] = [typed(v, param.type) for v in param.choices]
    if param.default_value:
        schema["default"] = typed(param.default_value, param.type)
    return schema


def typed(text: str, kind: str) -> Any:
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
        if kind == "boolean" and text in ("true", "false"):
            return text == "true"
    except ValueError:
        pass
    return text


def operation(op, template: urltemplate.UrlTemplate) -> dict:
    out: dict = {"operationId": op.key or op.slug, "summary": op.display_name}
    if op.description:
        out["description"] = op.description
    if op.tags:
        out["tags"] = list(op.tags)
    if op.deprecated:
        out["deprecated"] = True
    params_by_name = {(p.location, p.name): p for p in op.parameters.all()}
    parameters = []
    for name in template.path_params:
        p = params_by_name.pop(("template", name), None)
        parameters.append(param_object(p, name, "path", True))
    for item in template.query:
        if item.param is not None:
            p = params_by_name.pop(("query", item.param), None)
            parameters.append(param_object(p, unquote(item.key), "query", True))
        else:
            # A literal pair the call must carry: the one value allowed.
            parameters.append(
                {
                    "name": unquote(item.key),
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "enum": [unquote(item.literal or "")]},
                }
            )
    for (location, name), p in params_by_name.items():
        if location == "template":
            continue  # a leftover of an older template
        parameters.append(param_object(p, name, "header" if location == "header" else "query", p.required))
    if parameters:
        out["parameters"] = parameters
    reps = list(op.representations.all())
    if reps:
        out["requestBody"] = {"content": {r.content_type: media(r) for r in reps}}
    responses = {}
    for response in op.responses.all():
        entry: dict = {"description": response.description}
        if response.headers:
            entry["headers"] = copy.deepcopy(response.headers)
        rreps = list(response.representations.all())
        if rreps:
            entry["content"] = {r.content_type: media(r) for r in rreps}
        responses[response.status_code] = entry
    if responses:
        out["responses"] = responses
    return out


def param_object(p, name: str, where: str, required: bool) -> dict:
    out: dict = {"name": name, "in": where}
    if p is not None and p.description:
        out["description"] = p.description
    if required:
        out["required"] = True
    if p is not None and p.deprecated:
        out["deprecated"] = True
    out["schema"] = parameter_schema(p) if p is not None else {"type": "string"}
    return out


def media(rep) -> dict:
    out: dict = {}
    if rep.schema:
        out["schema"] = copy.deepcopy(rep.schema)
    if rep.examples:
        # The default example (the body the console starts from) first: the
        # stored mapping may have lost the document's order (PostgreSQL's
        # jsonb keeps keys sorted its own way), and an importer takes the first.
        examples = copy.deepcopy(rep.examples)
        body = rep.example if rep.example.lstrip()[:1] not in ("{", "[") else parse_example(rep.example)
        default = [name for name, e in examples.items() if "value" in e and e["value"] == body]
        if default:
            # Its value as the example text has it: in the document's key order.
            examples[default[0]]["value"] = body
        out["examples"] = {name: examples[name] for name in default[:1] + [n for n in examples if n not in default[:1]]}
    elif rep.example:
        out["examples"] = {"default": {"value": parse_example(rep.example)}}
    return out


# -- 3.1 → 3.0 -------------------------------------------------------------------


def schema_30(schema: Any) -> Any:
    if isinstance(schema, bool):
        return {} if schema else {"not": {}}
    if not isinstance(schema, dict):
        return schema
    s = dict(schema)
    out: dict = {}
    if "$ref" in s:
        ref = s.pop("$ref")
        rest = schema_30({k: v for k, v in s.items() if k not in NOT_IN_30})
        # 3.0 ignores a reference's siblings: keep them by wrapping the reference.
        return {"allOf": [{"$ref": ref}], **rest} if rest else {"$ref": ref}
    if "examples" in s and isinstance(s["examples"], list) and s["examples"]:
        out["example"] = s["examples"][0]
    if "const" in s:
        out["enum"] = [s["const"]]
    kind = s.pop("type", None)
    nullable = False
    if isinstance(kind, list):
        types = [t for t in kind if t != "null"]
        nullable = len(types) < len(kind)
        if len(types) == 1:
            out["type"] = types[0]
        elif len(types) > 1:
            out["anyOf"] = [{"type": t} for t in types]
    elif kind == "null":
        nullable = True
        out["enum"] = [None]
    elif kind is not None:
        out["type"] = kind
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if bound in s and not isinstance(s[bound], bool):
            out[limit] = s.pop(bound)
            out[bound] = True
    for key, value in s.items():
        if key in NOT_IN_30 or key in out:
            continue
        if key in SCHEMA_LISTS and isinstance(value, list):
            value = [schema_30(v) for v in value]
            if key == "anyOf" and "anyOf" in out:
                out = {"allOf": [{"anyOf": out.pop("anyOf")}, {"anyOf": value}], **out}
                continue
        elif key in SCHEMA_ONE:
            value = schema_30(value) if not isinstance(value, list) else {"anyOf": [schema_30(v) for v in value]}
        elif key in SCHEMA_MAPS and isinstance(value, dict):
            value = {k: schema_30(v) for k, v in value.items()}
        out[key] = value
    # anyOf with {"type": "null"}: 3.0 says nullable instead.
    for key in ("anyOf", "oneOf"):
        if key in out:
            alternatives = [a for a in out[key] if a not in ({"type": "null"}, {"enum": [None], "nullable": True})]
            if len(alternatives) < len(out[key]):
                nullable = True
                out[key] = alternatives or [{}]
    if nullable:
        if "type" not in out and "anyOf" not in out and "oneOf" not in out and "allOf" not in out:
            out.setdefault("enum", [None])
        out["nullable"] = True
    return out


def _convert_content(content: dict, convert) -> dict:
    out = {}
    for content_type, m in content.items():
        entry = dict(m)
        if "schema" in entry:
            entry["schema"] = convert(entry["schema"])
        out[content_type] = entry
    return out


def _headers_30(headers: dict) -> dict:
    out = {}
    for name, header in headers.items():
        entry = {k: v for k, v in header.items() if k in ("description", "required", "deprecated", "schema")}
        entry["schema"] = schema_30(header.get("schema") or {})
        out[name] = entry
    return out


def to_30(doc: dict) -> dict:
    out = copy.deepcopy(doc)
    out["openapi"] = "3.0.3"
    components = out.get("components", {})
    components.pop("pathItems", None)
    if "schemas" in components:
        components["schemas"] = {k: schema_30(v) for k, v in components["schemas"].items()}
    for section in ("parameters", "headers"):
        for value in components.get(section, {}).values():
            if "schema" in value:
                value["schema"] = schema_30(value["schema"])
    for value in components.get("requestBodies", {}).values():
        if "content" in value:
            value["content"] = _convert_content(value["content"], schema_30)
    for value in components.get("responses", {}).values():
        if "content" in value:
            value["content"] = _convert_content(value["content"], schema_30)
        if "headers" in value:
            value["headers"] = _headers_30(value["headers"])
    for item in out["paths"].values():
        for op in item.values():
            for p in op.get("parameters", []):
                p["schema"] = schema_30(p["schema"])
            if "requestBody" in op:
                op["requestBody"]["content"] = _convert_content(op["requestBody"]["content"], schema_30)
            responses = op.setdefault("responses", {})
            if not responses:
                responses["default"] = {"description": ""}  # 3.0 wants at least one
            for r in responses.values():
                if "content" in r:
                    r["content"] = _convert_content(r["content"], schema_30)
                if "headers" in r:
                    r["headers"] = _headers_30(r["headers"])
    out.pop("webhooks", None)
    out["info"].pop("summary", None)
    out["info"].get("license", {}).pop("identifier", None)
    return out


# -- 3.1 → 2.0 -------------------------------------------------------------------


def _ref_20(ref: str) -> str:
    return "#/definitions/" + ref[len("#/components/schemas/") :] if ref.startswith("#/components/schemas/") else ref


def schema_20(schema: Any) -> Any:
    """A 2.0 schema: from the 3.0 form, without what 2.0 lacks (alternatives
    become the first one, nullable an extension)."""
    s = schema_30(schema)
    return _strip_20(s)


def _strip_20(s: Any) -> Any:
    if not isinstance(s, dict):
        return s
    out: dict = {}
    if "$ref" in s:
        return {"$ref": _ref_20(s["$ref"])}
    for key in ("oneOf", "anyOf"):
        if key in s and s[key]:
            # 2.0 has no alternatives: the first one stands, the rest are described.
            first = _strip_20(s[key][0])
            rest = {k: v for k, v in s.items() if k not in ("oneOf", "anyOf")}
            merged = {**_strip_20(rest), "x-" + key: [_strip_20(a) for a in s[key]]}
            return {"allOf": [first], **merged} if first else merged
    for key, value in s.items():
        if key == "nullable":
            if value:
                out["x-nullable"] = True
            continue
        if key == "discriminator":
            if isinstance(value, dict) and value.get("propertyName") in (s.get("required") or []):
                out["discriminator"] = value["propertyName"]
            continue
        if key in NOT_IN_20:
            continue
        if key in ("default", "example") and value is None:
            continue  # 2.0 has no null: x-nullable says it instead
        if key == "enum" and isinstance(value, list):
            # 2.0 wants distinct, non-null values; a 3.x document may repeat one.
            unique: list = []
            for v in value:
                if v is not None and v not in unique:
                    unique.append(v)
            if not unique:
                continue
            value = unique
        if key in ("allOf",) and isinstance(value, list):
            value = [_strip_20(v) for v in value]
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            value = _strip_20(value)
        elif key == "properties" and isinstance(value, dict):
            value = {k: _strip_20(v) for k, v in value.items()}
        out[key] = value
    return out


def _file_20(schema: dict) -> dict:
    """2.0 writes a binary form field as type file."""
    if schema.get("type") == "string" and schema.get("format") == "binary":
        return {"type": "file", **{k: v for k, v in schema.items() if k in ("title", "description")}}
    return schema


def _simple_20(schema: dict) -> dict:
    """A non-body 2.0 parameter or header: type, format, items, enum, default, limits."""
    s = schema_20(schema)
    if "$ref" in s or "allOf" in s or s.get("type") in (None, "object", "file"):
        return {"type": "string"}
    out = {
        k: v
        for k, v in s.items()
        if k
        in (
            "type",
            "format",
            "enum",
            "default",
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "minLength",
            "maxLength",
            "pattern",
            "minItems",
            "maxItems",
            "uniqueItems",
            "multipleOf",
        )
    }
    if s.get("type") == "array":
        out["items"] = _simple_20(s.get("items") or {})
    return out


def to_20(doc: dict) -> dict:
    server = urlsplit(doc["servers"][0]["url"])
    out: dict = {"swagger": "2.0", "info": copy.deepcopy(doc["info"])}
    out["info"].pop("summary", None)
    out["info"].get("license", {}).pop("identifier", None)
    out["host"] = server.netloc
    out["basePath"] = server.path or "/"
    out["schemes"] = [server.scheme]
    if "tags" in doc:
        out["tags"] = copy.deepcopy(doc["tags"])
    components = doc.get("components", {})
    if components.get("schemas"):
        out["definitions"] = {k: schema_20(v) for k, v in components["schemas"].items()}
    out["securityDefinitions"] = {
        name: {"type": "apiKey", "in": s["in"], "name": s["name"]}
        for name, s in components.get("securitySchemes", {}).items()
        if s.get("type") == "apiKey" and s.get("in") in ("header", "query")
    }
    if "security" in doc:
        out["security"] = copy.deepcopy(doc["security"])
    paths: dict = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            paths.setdefault(path, {})[method] = _operation_20(op)
    out["paths"] = paths
    return out


def _operation_20(op: dict) -> dict:
    out = {
        k: copy.deepcopy(v)
        for k, v in op.items()
        if k in ("operationId", "summary", "description", "tags", "deprecated")
    }
    params = []
    for p in op.get("parameters", []):
        entry = {k: p[k] for k in ("name", "in", "description", "required") if k in p}
        entry.update(_simple_20(p.get("schema") or {}))
        if entry.get("type") == "array":
            entry["collectionFormat"] = "multi" if p["in"] == "query" else "csv"
        params.append(entry)
    body = op.get("requestBody", {}).get("content", {})
    if body:
        out["consumes"] = list(body)
        forms = [t for t in body if t in ("multipart/form-data", "application/x-www-form-urlencoded")]
        first = body[forms[0] if forms and len(forms) == len(body) else next(t for t in body if t not in forms)]
        schema = first.get("schema") or {}
        if forms and len(forms) == len(body) and isinstance(schema.get("properties"), dict):
            required = schema.get("required") or []
            for name, prop in schema["properties"].items():
                field = {"name": name, "in": "formData", "required": name in required}
                converted = _file_20(schema_20(prop))
                field.update({"type": "file"} if converted.get("type") == "file" else _simple_20(prop))
                if field.get("type") == "array":
                    field["collectionFormat"] = "multi"
                params.append(field)
        else:
            params.append({"name": "body", "in": "body", "schema": schema_20(schema)})
    if params:
        out["parameters"] = params
    responses = {}
    produces: list[str] = []
    for code, r in (op.get("responses") or {"default": {"description": ""}}).items():
        if code.endswith("XX"):
            continue  # 2.0 has no ranges
        entry: dict = {"description": r.get("description", "")}
        content = r.get("content", {})
        if content:
            produces.extend(t for t in content if t not in produces)
            first = next(iter(content.values()))
            if "schema" in first:
                entry["schema"] = schema_20(first["schema"])
            examples = {
                t: next(iter(m["examples"].values())).get("value")
                for t, m in content.items()
                if m.get("examples") and "value" in next(iter(m["examples"].values()))
            }
            if examples:
                entry["examples"] = examples
        if r.get("headers"):
            entry["headers"] = {}
            for name, h in r["headers"].items():
                header = _simple_20(h.get("schema") or {})
                if h.get("description"):
                    header["description"] = h["description"]
                entry["headers"][name] = header
        responses[code] = entry
    out["responses"] = responses or {"default": {"description": ""}}
    if produces:
        out["produces"] = produces
    return out
