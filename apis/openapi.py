"""OpenAPI documents in: parse, validate and map to a plan of the catalog.

``read(data)`` takes the bytes of an OpenAPI 2.0, 3.0 or 3.1 document (JSON or
YAML), refuses what cannot be imported with a ``DocumentError`` that says why,
and ``plan(document, ...)`` maps it the way API Management's import does: one
operation per path and verb, path and required query parameters in the URL
template, optional query parameters and headers declared, request bodies and
responses per content type with their schemas and named examples.

Schemas are kept in OpenAPI 3.1 form (JSON Schema 2020-12) with their
``#/components/schemas/...`` references in place: the plan never expands a
schema reference, so a circular schema costs nothing. Other references
(parameters, responses, request bodies, examples, headers, path items) are
resolved with ``referencing``, because each operation keeps its own rows.

Pure Python, no Django: the importer (apis/importing.py) applies the plan.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import referencing
import referencing.exceptions
import referencing.jsonschema
import yaml
from openapi_spec_validator import validate as validate_spec
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from apis import headers, urltemplate

MAX_BYTES = 20 * 1024 * 1024
# A YAML document can make a small file into a huge tree with aliases; past
# this many nodes once expanded it is refused (a 20 MB JSON file has fewer).
MAX_NODES = 5_000_000
METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
DOCUMENT_URI = "urn:portico:openapi-document"
PARAMETER_TYPES = ("string", "number", "integer", "boolean")
# Body-less verbs: API Management drops a request body declared on these.
NO_BODY = {"GET", "HEAD", "OPTIONS"}
# What a query key may hold unencoded in a URL template (urltemplate.QUERY_LITERAL_RE).
QUERY_KEY_SAFE = "-._~!$'()*+,;:@/?"
# Keywords whose values are data, not schemas or references: never walked.
DATA_KEYWORDS = {"example", "examples", "default", "enum", "const", "x-examples"}


class DocumentError(ValueError):
    """A document that cannot be imported; the message says why, for a person."""


# -- reading -------------------------------------------------------------------


class _Loader(yaml.CSafeLoader):
    """The C loader without YAML's timestamp type: a date in a document stays
    the string it was written as (JSON has no dates, and neither do the
    stored schemas)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}


def read(data: bytes | str) -> dict:
    """The document as JSON data, validated; DocumentError if it cannot be imported."""
    size = len(data.encode() if isinstance(data, str) else data)
    if size > MAX_BYTES:
        raise DocumentError(f"The document is {size / 1024 / 1024:.1f} MB: at most {MAX_BYTES // 1024 // 1024} MB.")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise DocumentError(f"Not JSON or YAML: the file is not UTF-8 text (byte {e.start + 1}).") from e
    if not data.strip():
        raise DocumentError("The document is empty.")
    try:
        # JSON is YAML, but the JSON parser is several times faster.
        document = json.loads(data) if data.lstrip().startswith("{") else yaml.load(data, Loader=_Loader)
    except json.JSONDecodeError as e:
        raise DocumentError(f"Not JSON: {e.msg} at line {e.lineno}, column {e.colno}.") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise DocumentError(f"Not JSON or YAML: {problem}{where}.") from e
    if not isinstance(document, dict):
        raise DocumentError("Not an OpenAPI document: it is not a JSON or YAML object.")
    document, nodes = _plain(document, {})
    if nodes > MAX_NODES:
        raise DocumentError("The document is too large once its YAML aliases are expanded.")
    version = detect_version(document)
    first = first_external_ref(document)
    if first:
        ref, where = first
        raise DocumentError(
            f"External references are not supported: '{ref}' at {where}. Bundle the document into one file first."
        )
    try:
        validate_spec(document)
    except OpenAPIValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "the top level"
        raise DocumentError(f"Not a valid OpenAPI {version} document: {e.message} (at {where}).") from e
    except referencing.exceptions.Unresolvable as e:
        raise DocumentError(f"A reference points nowhere: {e}.") from e
    return document


def _plain(value: Any, memo: dict[int, tuple[Any, int]]) -> tuple[Any, int]:
    """JSON data (YAML reads `200:` as a number: keys become strings), and the
    number of nodes it has once YAML aliases are expanded. Each shared node is
    converted once, so an alias bomb costs its size in the file, not its
    expansion."""
    if isinstance(value, (dict, list)):
        found = memo.get(id(value))
        if found is not None:
            return found
        size = 1
        if isinstance(value, dict):
            out: Any = {}
            for k, v in value.items():
                out[str(k)], n = _plain(v, memo)
                size += n
        else:
            out = []
            for v in value:
                item, n = _plain(v, memo)
                out.append(item)
                size += n
        memo[id(value)] = (out, size)
        return out, size
    if isinstance(value, float) and value != value:  # NaN has no JSON form
        return None, 1
    if value is None or isinstance(value, (str, int, float, bool)):
        return value, 1
    return str(value), 1


def detect_version(document: dict) -> str:
    """'2.0', '3.0' or '3.1'."""
    if "swagger" in document:
        if str(document["swagger"]) == "2.0":
            return "2.0"
        raise DocumentError(f"Unknown Swagger version '{document['swagger']}': only 2.0 exists.")
    if "openapi" in document:
        text = str(document["openapi"])
        if re.match(r"3\.0\.\d+\Z", text):
            return "3.0"
        if re.match(r"3\.1\.\d+\Z", text):
            return "3.1"
        raise DocumentError(f"Unknown OpenAPI version '{text}': use 2.0, 3.0.x or 3.1.x.")
    raise DocumentError("Not an OpenAPI document: it has neither an 'openapi' nor a 'swagger' field.")


def _walk_refs(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str):
            yield ref, path or "/"
        for key, child in value.items():
            if key == "examples" and isinstance(child, dict):
                # A map of Example objects, each of which may be a reference;
                # what they hold is data.
                for name, example in child.items():
                    if isinstance(example, dict) and isinstance(example.get("$ref"), str):
                        yield example["$ref"], f"{path}/examples/{name}"
            elif key not in DATA_KEYWORDS:
                yield from _walk_refs(child, f"{path}/{key}")
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _walk_refs(child, f"{path}/{i}")


def first_external_ref(document: dict) -> tuple[str, str] | None:
    """The first reference to another file or URL, and where it is."""
    for ref, where in _walk_refs(document, ""):
        if not ref.startswith("#"):
            return ref, where
    return None


# -- the plan --------------------------------------------------------------------


@dataclass
class ParameterPlan:
    name: str
    location: str  # template, query or header, as Parameter.LOCATIONS
    description: str = ""
    type: str = "string"
    default_value: str = ""
    allowed_values: str = ""
    required: bool = False
    deprecated: bool = False
    schema: dict = field(default_factory=dict)


@dataclass
class BodyPlan:
    content_type: str
    schema: dict = field(default_factory=dict)
    examples: dict = field(default_factory=dict)
    example: str = ""


@dataclass
class ResponsePlan:
    status_code: str
    description: str = ""
    headers: dict = field(default_factory=dict)
    representations: list[BodyPlan] = field(default_factory=list)


@dataclass
class OperationPlan:
    key: str
    method: str
    url_template: str
    display_name: str
    description: str = ""
    tags: list[str] = field(default_factory=list)
    deprecated: bool = False
    parameters: list[ParameterPlan] = field(default_factory=list)
    representations: list[BodyPlan] = field(default_factory=list)
    responses: list[ResponsePlan] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.method} {self.url_template}"


@dataclass
class ApiPlan:
    name: str
    description: str
    version: str
    # Absolute, or relative to the service URL the admin gives ("" if none).
    service_url: str
    suffix: str
    openapi_version: str
    components: dict = field(default_factory=dict)
    tags: list[dict] = field(default_factory=list)
    operations: list[OperationPlan] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def slug(text: str) -> str:
    """Letters, digits and '-' only: for the URL suffix and operation keys."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")


def operation_key(operation_id: str | None, method: str, path: str) -> str:
    """API Management's operation name: the operationId made URL-safe, else verb + path."""
    if operation_id:
        key = re.sub(r"[^A-Za-z0-9_.~-]+", "-", operation_id).strip("-")
        if key:
            return key[:200]
    return slug(f"{method.lower()} {path}")[:200] or method.lower()


def service_url(base: str, relative_to: str) -> str:
    """A server URL made absolute against the one the admin gave, if it is relative."""
    if urlsplit(base).scheme:
        return base
    if not relative_to:
        return base
    return urljoin(relative_to.rstrip("/") + "/", base.lstrip("/")).rstrip("/") if base else relative_to


def plan(
    document: dict, *, name: str = "", suffix: str = "", given_service_url: str = "", existing_suffix: str = ""
) -> ApiPlan:
    """The catalog rows a validated document maps to."""
    return _Mapper(document).plan(
        name=name, suffix=suffix, given_service_url=given_service_url, existing_suffix=existing_suffix
    )


class _Mapper:
    def __init__(self, document: dict):
        self.doc = document
        self.version = detect_version(document)
        spec = referencing.jsonschema.DRAFT202012 if self.version == "3.1" else referencing.jsonschema.DRAFT4
        self.registry = referencing.Registry().with_resource(DOCUMENT_URI, spec.create_resource(document))
        self.resolver = self.registry.resolver(base_uri=DOCUMENT_URI)
        self.warnings: list[str] = []
        # Where schemas live that references may keep pointing at.
        self.schema_prefix = "#/definitions/" if self.version == "2.0" else "#/components/"

    # -- references

    def resolve(self, value: Any) -> Any:
        """A referenced object (parameter, response, ...), references followed."""
        seen = set()
        while isinstance(value, dict) and isinstance(value.get("$ref"), str):
            ref = value["$ref"]
            if ref in seen:
                raise DocumentError(f"The reference '{ref}' refers to itself.")
            seen.add(ref)
            try:
                value = self.resolver.lookup(ref).contents
            except referencing.exceptions.Unresolvable as e:
                raise DocumentError(f"The reference '{ref}' points nowhere.") from e
        return value

    # -- schemas

    def schema(self, value: Any, stack: tuple = ()) -> Any:
        """A schema in 3.1 form; references into the stored components kept."""
        if isinstance(value, list):
            return [self.schema(v, stack) for v in value]
        if not isinstance(value, dict):
            return value
        out: dict = {}
        ref = value.get("$ref")
        if isinstance(ref, str):
            if self.version == "2.0" and ref.startswith("#/definitions/"):
                out["$ref"] = "#/components/schemas/" + ref[len("#/definitions/") :]
            elif self.version != "2.0" and ref.startswith("#/components/"):
                out["$ref"] = ref
            else:
                # A reference into paths or 2.0's shared parameters: the target
                # is not stored, so it is copied here (once per chain).
                if ref in stack:
                    self.warnings.append(f"The circular reference '{ref}' outside the schemas was cut.")
                    return {}
                return self.schema(self.resolve({"$ref": ref}), (*stack, ref))
        for key, child in value.items():
            if key == "$ref":
                continue
            if key in ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas"):
                out[key] = {k: self.schema(v, stack) for k, v in child.items()} if isinstance(child, dict) else child
            elif key in (
                "items",
                "additionalProperties",
                "not",
                "allOf",
                "oneOf",
                "anyOf",
                "prefixItems",
                "contains",
                "if",
                "then",
                "else",
                "propertyNames",
                "unevaluatedProperties",
                "unevaluatedItems",
                "additionalItems",
            ):
                out[key] = self.schema(child, stack)
            else:
                out[key] = child
        if self.version == "3.1":
            return out
        return self._upgrade(out)

    def _upgrade(self, out: dict) -> dict:
        """A 2.0 or 3.0 schema's keywords as 3.1 writes them."""
        nullable = out.pop("nullable", False) or out.pop("x-nullable", False)
        if self.version == "2.0":
            if out.get("type") == "file":
                out["type"], out["format"] = "string", "binary"
            if isinstance(out.get("discriminator"), str):
                out["discriminator"] = {"propertyName": out["discriminator"]}
        if nullable and "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"] if "null" not in types else types
        elif nullable and "$ref" not in out:
            out = {"anyOf": [out, {"type": "null"}]} if out else out
        if "example" in out:
            out["examples"] = [out.pop("example")]
        for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            if isinstance(out.get(bound), bool):
                if out.pop(bound) and limit in out:
                    out[bound] = out.pop(limit)
        return out

    def components(self) -> dict:
        if self.version == "2.0":
            components: dict = {}
            if self.doc.get("definitions"):
                components["schemas"] = {k: self.schema(v) for k, v in self.doc["definitions"].items()}
            if self.doc.get("securityDefinitions"):
                components["securitySchemes"] = self.doc["securityDefinitions"]
            return components
        components = dict(self.doc.get("components") or {})
        if "schemas" in components:
            components["schemas"] = {k: self.schema(v) for k, v in components["schemas"].items()}
        # Parameters, headers and bodies kept for schemas that point into
        # them; their own schemas upgraded where they are.
        for section in ("parameters", "headers", "requestBodies", "responses"):
            if section in components:
                components[section] = self._upgrade_schemas_in(components[section])
        return components

    def _upgrade_schemas_in(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: (self.schema(v) if k == "schema" else v if k in DATA_KEYWORDS else self._upgrade_schemas_in(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._upgrade_schemas_in(v) for v in value]
        return value

    # -- the API

    def plan(self, *, name: str, suffix: str, given_service_url: str, existing_suffix: str) -> ApiPlan:
        info = self.doc.get("info") or {}
        title = str(info.get("title") or "").strip()
        api = ApiPlan(
            name=(name or title or "Imported API")[:200],
            description=str(info.get("description") or ""),
            version=str(info.get("version") or "")[:100],
            service_url=self.service_url(given_service_url),
            suffix=suffix or existing_suffix or slug(title).lower()[:100] or "api",
            openapi_version=self.version,
        )
        api.components = self.components()
        api.tags = [
            {"name": str(t.get("name")), "description": str(t.get("description") or "")}
            for t in self.doc.get("tags") or []
            if isinstance(t, dict) and t.get("name") is not None
        ]
        api.operations = list(self.operations())
        declared = {t["name"] for t in api.tags}
        for operation in api.operations:
            for tag in operation.tags:
                if tag not in declared:
                    api.tags.append({"name": tag, "description": ""})
                    declared.add(tag)
        self.check(api.operations)
        if self.doc.get("webhooks"):
            self.warnings.append(
                f"Webhooks are not imported as operations (the API calls them, callers do not): "
                f"{', '.join(sorted(self.doc['webhooks']))}."
            )
        if self.doc.get("security") or any(op_security for op_security in self._securities()):
            self.warnings.append(
                "The document's security requirements are not imported: "
                "callers authenticate to the gateway with a subscription key."
            )
        api.warnings = list(dict.fromkeys(self.warnings))
        return api

    def _securities(self) -> Iterator[Any]:
        for item in (self.doc.get("paths") or {}).values():
            item = self.resolve(item)
            for method in METHODS:
                if isinstance(item.get(method), dict):
                    yield item[method].get("security")

    def service_url(self, given: str) -> str:
        """The admin's URL wins over an absolute server URL; a relative one is joined to it."""
        base = self.server_url()
        if not given:
            return base
        return service_url(base, given) if base and not urlsplit(base).scheme else given

    def server_url(self) -> str:
        if self.version == "2.0":
            host = self.doc.get("host")
            base_path = (self.doc.get("basePath") or "").rstrip("/")
            if not host:
                return base_path
            schemes = self.doc.get("schemes") or ["https"]
            scheme = "https" if "https" in schemes else schemes[0]
            return f"{scheme}://{host}{base_path}"
        servers = self.doc.get("servers") or []
        if not servers:
            return ""
        server = servers[0]
        url = str(server.get("url") or "")
        for var, spec in (server.get("variables") or {}).items():
            url = url.replace("{" + var + "}", str(spec.get("default", "")))
        return url.rstrip("/")

    # -- operations

    def operations(self) -> Iterator[OperationPlan]:
        keys: set[str] = set()
        for path, item in (self.doc.get("paths") or {}).items():
            if not path.startswith("/"):
                continue  # extensions (x-...)
            item = self.resolve(item)
            shared = item.get("parameters") or []
            for method in METHODS:
                operation = item.get(method)
                if not isinstance(operation, dict):
                    continue
                planned = self.operation(path, method.upper(), operation, shared)
                key, n = planned.key, 2
                while planned.key in keys:
                    planned.key, n = f"{key[:195]}-{n}", n + 1
                keys.add(planned.key)
                yield planned

    def operation(self, path: str, method: str, op: dict, shared: list) -> OperationPlan:
        label = f"{method} {path}"
        display = str(op.get("summary") or op.get("operationId") or label).strip().splitlines()[0][:200] or label
        description = str(op.get("description") or "")
        planned = OperationPlan(
            key=operation_key(op.get("operationId"), method, path),
            method=method,
            url_template="",
            display_name=display,
            description=description,
            tags=[str(t) for t in op.get("tags") or []],
            deprecated=bool(op.get("deprecated")),
        )
        # Operation-level parameters win over path-level ones of the same name and place.
        merged: dict[tuple[str, str], dict] = {}
        for raw in [*shared, *(op.get("parameters") or [])]:
            param = self.resolve(raw)
            merged[(str(param.get("in")), str(param.get("name")))] = param
        params = list(merged.values())
        template_query: list[tuple[str, str]] = []
        names = set(re.findall(r"{([^}]*)}", path))
        form_fields: list[dict] = []
        for param in params:
            where, pname = param.get("in"), str(param.get("name"))
            if where == "path":
                planned.parameters.append(self.parameter(param, "template", label))
            elif where == "query":
                if param.get("required"):
                    placeholder = self.placeholder(pname, names)
                    names.add(placeholder)
                    template_query.append((pname, placeholder))
                    p = self.parameter(param, "query", label)
                    p.name = placeholder
                    planned.parameters.append(p)
                else:
                    planned.parameters.append(self.parameter(param, "query", label))
            elif where == "header":
                if not headers.is_header_name(pname):
                    self.warnings.append(
                        f"{label}: the header parameter '{pname}' is not a valid header name, skipped."
                    )
                    continue
                planned.parameters.append(self.parameter(param, "header", label))
            elif where == "cookie":
                self.warnings.append(
                    f"{label}: the cookie parameter '{pname}' is not imported (cookies are not supported)."
                )
            elif where == "body":
                planned.representations.extend(self.body_2(param, op))
            elif where == "formData":
                form_fields.append(param)
        if form_fields:
            planned.representations.extend(self.form_2(form_fields, op))
        if "requestBody" in op:
            body = self.resolve(op["requestBody"])
            for content_type, media in (body.get("content") or {}).items():
                planned.representations.append(self.media(content_type, media))
        if planned.representations and method in NO_BODY:
            self.warnings.append(f"{label}: a request body on {method} is dropped, as API Management does.")
            planned.representations = []
        query = "&".join(f"{quote(k, safe=QUERY_KEY_SAFE)}={{{v}}}" for k, v in template_query)
        planned.url_template = path + ("?" + query if query else "")
        # Path parameters first, in template order; then the others as declared.
        order = {n: i for i, n in enumerate(re.findall(r"{([^}]*)}", planned.url_template))}
        planned.parameters.sort(key=lambda p: (p.location == "header", order.get(p.name, len(order))))
        for code, response in (op.get("responses") or {}).items():
            if str(code).startswith("x-"):
                continue
            planned.responses.append(self.response(str(code).upper().replace("DEFAULT", "default"), response, op))
        if op.get("callbacks"):
            self.warnings.append(
                f"{label}: callbacks are not imported as operations ({', '.join(sorted(op['callbacks']))})."
            )
        for server_list in (op.get("servers"),):
            if server_list:
                self.warnings.append(f"{label}: the operation's own servers are not imported; it uses the API's.")
        return planned

    @staticmethod
    def placeholder(name: str, taken: set[str]) -> str:
        """A template parameter name for a query parameter (the query key keeps the real name)."""
        base = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.-") or "value"
        if not re.match(r"[A-Za-z_]", base):
            base = "p_" + base
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}_{n}", n + 1
        return candidate

    def parameter(self, param: dict, location: str, label: str) -> ParameterPlan:
        if self.version == "2.0":
            schema = {k: v for k, v in param.items() if k not in ("name", "in", "description", "required")}
            schema.pop("allowEmptyValue", None)
            schema.pop("collectionFormat", None)
            schema = self.schema(schema)
        elif "schema" in param:
            schema = self.schema(param["schema"])
        else:
            schema = next((self.schema(m.get("schema", {})) for m in (param.get("content") or {}).values()), {})
        style, explode = param.get("style"), param.get("explode")
        simple = {"path": "simple", "query": "form", "header": "simple"}.get(str(param.get("in")))
        if style and style != simple or (param.get("in") != "query" and explode):
            self.warnings.append(
                f"{label}: the parameter '{param.get('name')}' uses style '{style or simple}'"
                f"{' with explode' if explode else ''}, which the console does not build; its values are sent as typed."
            )
        if param.get("collectionFormat") and param["collectionFormat"] not in ("csv",):
            self.warnings.append(
                f"{label}: the parameter '{param.get('name')}' uses collectionFormat "
                f"'{param['collectionFormat']}'; its values are sent as typed."
            )
        simple_view = self.resolve(schema) if isinstance(schema, dict) else {}
        kind = simple_view.get("type", "string")
        if isinstance(kind, list):
            kind = next((t for t in kind if t != "null"), "string")
        enum = simple_view.get("enum") or []
        default = simple_view.get("default", "")
        return ParameterPlan(
            name=str(param.get("name"))[:200],
            location=location,
            description=str(param.get("description") or ""),
            type=kind if kind in PARAMETER_TYPES else "string",
            default_value=text_value(default)[:1000],
            allowed_values="\n".join(text_value(v) for v in enum if v is not None),
            required=location == "template" or bool(param.get("required")),
            deprecated=bool(param.get("deprecated")),
            schema=schema if isinstance(schema, dict) else {},
        )

    def examples(self, media: dict) -> dict:
        found: dict = {}
        for name, example in (media.get("examples") or {}).items():
            example = self.resolve(example)
            if not isinstance(example, dict):
                continue
            entry = {k: example[k] for k in ("summary", "description", "value", "externalValue") if k in example}
            found[str(name)] = entry
        if not found and "example" in media:
            found["default"] = {"value": media["example"]}
        return found

    def media(self, content_type: str, media: dict) -> BodyPlan:
        media = media or {}
        examples = self.examples(media)
        return BodyPlan(
            content_type=content_type[:200],
            schema=self.schema(media.get("schema") or {}),
            examples=examples,
            example=first_example_text(examples),
        )

    def _consumes(self, op: dict) -> list[str]:
        return op.get("consumes") or self.doc.get("consumes") or ["application/json"]

    def body_2(self, param: dict, op: dict) -> list[BodyPlan]:
        examples = {str(k): {"value": v} for k, v in (param.get("x-examples") or {}).items()}
        types = [t for t in self._consumes(op) if t not in ("multipart/form-data", "application/x-www-form-urlencoded")]
        return [
            BodyPlan(
                content_type=t[:200],
                schema=self.schema(param.get("schema") or {}),
                examples=examples,
                example=first_example_text(examples),
            )
            for t in types or ["application/json"]
        ]

    def form_2(self, fields: list[dict], op: dict) -> list[BodyPlan]:
        properties, required = {}, []
        for param in fields:
            schema = {k: v for k, v in param.items() if k not in ("name", "in", "description", "required")}
            schema.pop("allowEmptyValue", None)
            schema.pop("collectionFormat", None)
            if param.get("description"):
                schema["description"] = param["description"]
            properties[str(param["name"])] = self.schema(schema)
            if param.get("required"):
                required.append(str(param["name"]))
        schema: dict = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        types = [t for t in self._consumes(op) if t in ("multipart/form-data", "application/x-www-form-urlencoded")]
        return [BodyPlan(content_type=t, schema=schema) for t in types or ["application/x-www-form-urlencoded"]]

    def response(self, code: str, response: Any, op: dict) -> ResponsePlan:
        response = self.resolve(response)
        planned = ResponsePlan(status_code=code, description=str(response.get("description") or ""))
        for name, header in (response.get("headers") or {}).items():
            header = self.resolve(header)
            if self.version == "2.0":
                schema = self.schema({k: v for k, v in header.items() if k not in ("description", "collectionFormat")})
                entry: dict = {"schema": schema}
            else:
                entry = {k: v for k, v in header.items() if k not in ("schema", "content", "examples", "example")}
                entry["schema"] = self.schema(header.get("schema") or {})
            if header.get("description"):
                entry["description"] = str(header["description"])
            planned.headers[str(name)] = entry
        if self.version == "2.0":
            produces = op.get("produces") or self.doc.get("produces") or ["application/json"]
            examples = response.get("examples") or {}
            if "schema" in response or examples:
                for content_type in produces:
                    named = {"default": {"value": examples[content_type]}} if content_type in examples else {}
                    planned.representations.append(
                        BodyPlan(
                            content_type=content_type[:200],
                            schema=self.schema(response.get("schema") or {}),
                            examples=named,
                            example=first_example_text(named),
                        )
                    )
        else:
            for content_type, media in (response.get("content") or {}).items():
                planned.representations.append(self.media(content_type, media))
        if response.get("links"):
            self.warnings.append("Response links are not imported.")
        return planned

    # -- checks

    def check(self, operations: list[OperationPlan]) -> None:
        """Templates the catalog accepts, and no two operations answering the same calls."""
        seen: dict[tuple, OperationPlan] = {}
        for op in operations:
            try:
                template = urltemplate.parse(op.url_template)
            except urltemplate.TemplateError as e:
                raise DocumentError(f"{op.method} {op.url_template}: the URL template is not accepted: {e}.") from e
            shape = (op.method, urltemplate.shape(template))
            if shape in seen:
                other = seen[shape]
                raise DocumentError(f"Duplicate operation: {op.label} and {other.label} would answer the same calls.")
            seen[shape] = op


def text_value(value: Any) -> str:
    """A JSON value as a parameter field shows it."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def first_example_text(examples: dict) -> str:
    """The body the console starts from: the first named example's value."""
    for example in examples.values():
        if "value" in example:
            value = example["value"]
            return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
    return ""
