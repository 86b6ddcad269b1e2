"""Stored JSON Schemas (OpenAPI 3.1 form) as the portal shows them: a display tree.

Pure Python, no Django. A schema is walked lazily from the operation's body or
parameter down, resolving "#/components/..." references only when reached, so
a 2 MB document costs only what one page shows. A reference to a schema that
is already open above (a circular schema such as a tree Node) becomes a link
back to that node and is never expanded again; depth and the number of nodes
per tree are bounded, and what does not fit is marked as left out.

The helpers at the top (resolve, types_of, merged) are shared with the body
generator (apis/samples.py): one reading of a schema for both.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

MAX_DEPTH = 12
MAX_NODES = 400
MAX_ENUM = 50
COMBINERS = (("oneOf", "One of"), ("anyOf", "Any of"), ("allOf", "All of"))
# Keywords shown as constraints, in this order, with their labels.
CONSTRAINTS = [
    ("minimum", "≥ {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "≤ {}"),
    ("exclusiveMaximum", "< {}"),
    ("multipleOf", "multiple of {}"),
    ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"),
    ("pattern", "matches {}"),
    ("minItems", "at least {} items"),
    ("maxItems", "at most {} items"),
    ("minProperties", "at least {} properties"),
    ("maxProperties", "at most {} properties"),
]


# Keywords that describe a schema without constraining it: beside a $ref they
# describe that use of it; anything else beside a $ref applies as well (allOf).
ANNOTATIONS = {
    "title",
    "description",
    "summary",
    "example",
    "examples",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "nullable",
    "externalDocs",
    "xml",
    "$comment",
}


def resolve(ref: str, components: dict) -> dict | None:
    """The schema a local reference ("#/components/schemas/Pet") points at, or None.

    Only references into the API's own components are stored (the importer
    refuses external ones), so a JSON Pointer walk over them is all it takes.
    """
    if not isinstance(ref, str) or not ref.startswith("#/components/"):
        return None
    node: Any = components
    for part in ref[len("#/components/") :].split("/"):
        part = unquote(part).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node if isinstance(node, dict) else None


def ref_name(ref: str) -> str:
    return unquote(ref.rsplit("/", 1)[-1]).replace("~1", "/").replace("~0", "~")


def types_of(schema: dict) -> tuple[list[str], bool]:
    """The schema's types without "null", and whether null is allowed
    (3.1's type: [x, "null"], 3.0's nullable: true, or null in the enum)."""
    raw = schema.get("type")
    types = [raw] if isinstance(raw, str) else [t for t in raw if isinstance(t, str)] if isinstance(raw, list) else []
    nullable = "null" in types or schema.get("nullable") is True
    enum = schema.get("enum")
    if isinstance(enum, list) and None in enum:
        nullable = True
    types = [t for t in types if t != "null"]
    if not types:
        if "properties" in schema or "additionalProperties" in schema:
            types = ["object"]
        elif "items" in schema or "prefixItems" in schema:
            types = ["array"]
    return types, nullable


@dataclass
class Node:
    name: str = ""  # the property name; "" for the root, "[]" for array items
    type: str = ""  # "string", "object", "array", "string | integer", or "" for any
    ref: str = ""  # the component's name when the node came from a $ref
    format: str = ""
    required: bool = False
    nullable: bool = False
    deprecated: bool = False
    read_only: bool = False
    write_only: bool = False
    description: str = ""
    enum: list[str] = field(default_factory=list)
    enum_more: int = 0  # enum values left out
    default: str | None = None
    const: str | None = None
    example: str | None = None
    constraints: list[str] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)
    # oneOf/anyOf/allOf: [(label, [alternative, ...]), ...]
    alternatives: list[tuple[str, list[Node]]] = field(default_factory=list)
    anchor: str = ""  # the id a circular reference further down links back to
    link: str = ""  # set instead of children: the anchor of the open node this refers back to
    missing_ref: str = ""  # a reference that points at nothing
    cut: str = ""  # why the children are left out (too deep, too large)

    @property
    def expandable(self) -> bool:
        return bool(self.children or self.alternatives)

    @property
    def label(self) -> str:
        """The type as read aloud: "Pet", "array of Pet", "string (date-time)"."""
        if self.type == "array" and self.children and self.children[0].name == "[]":
            item = self.children[0]
            return f"array of {item.label}"
        text = self.ref or self.type or "any"
        if self.format:
            text += f" ({self.format})"
        return text


def show(text: Any) -> str:
    """A JSON value as it is written in a document."""
    if isinstance(text, str):
        return text
    return json.dumps(text, ensure_ascii=False)


class Builder:
    def __init__(self, components: dict, prefix: str, max_nodes: int, max_depth: int) -> None:
        self.components = components if isinstance(components, dict) else {}
        self.prefix = prefix
        self.left = max_nodes
        self.max_depth = max_depth
        self.anchors = 0

    def anchor(self) -> str:
        self.anchors += 1
        return f"{self.prefix}-{self.anchors}"

    def build(self, schema: Any, name: str, required: bool, depth: int, open_refs: dict[str, Node]) -> Node:
        self.left -= 1
        node = Node(name=name, required=required)
        if not isinstance(schema, dict):
            # true/false schemas: anything, or nothing.
            node.type = "" if schema is not False else "never"
            return node
        # A $ref with siblings (3.1 allows a description next to it): the
        # siblings describe this use, the target gives the rest.
        ref = schema.get("$ref")
        if isinstance(ref, str):
            node.ref = ref_name(ref)
            if ref in open_refs:
                target = open_refs[ref]
                if not target.anchor:
                    target.anchor = self.anchor()
                node.link = target.anchor
                node.description = str(schema.get("description") or "")
                return node
            target_schema = resolve(ref, self.components)
            if target_schema is None:
                node.missing_ref = ref
                return node
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            if set(siblings) - ANNOTATIONS:
                # Properties or constraints beside a reference add to it (3.1): both apply.
                self.left += 1
                return self.build({"allOf": [{"$ref": ref}, siblings]}, name, required, depth, open_refs)
            open_refs = open_refs | {ref: node}
            schema = {**target_schema, **siblings}
            # A chain of references ($ref to a $ref) names the last one.
            while isinstance(schema.get("$ref"), str):
                inner = schema["$ref"]
                if inner in open_refs:  # a chain that comes back to itself
                    node.link = open_refs[inner].anchor = open_refs[inner].anchor or self.anchor()
                    return node
                target_schema = resolve(inner, self.components)
                if target_schema is None:
                    node.missing_ref = inner
                    return node
                open_refs = open_refs | {inner: node}
                node.ref = ref_name(inner)
                schema = {**target_schema, **{k: v for k, v in schema.items() if k != "$ref"}}
        self.describe(node, schema)
        if depth >= self.max_depth:
            if self.has_children(schema):
                node.cut = "nested too deep to show here"
            return node
        self.add_children(node, schema, depth, open_refs)
        return node

    def describe(self, node: Node, schema: dict) -> None:
        types, node.nullable = types_of(schema)
        node.type = " | ".join(types)
        node.format = str(schema.get("format") or "")
        node.description = str(schema.get("description") or schema.get("title") or "")
        node.deprecated = schema.get("deprecated") is True
        node.read_only = schema.get("readOnly") is True
        node.write_only = schema.get("writeOnly") is True
        enum = schema.get("enum")
        if isinstance(enum, list):
            values = [v for v in enum if v is not None]
            node.enum = [show(v) for v in values[:MAX_ENUM]]
            node.enum_more = max(len(values) - MAX_ENUM, 0)
        if "default" in schema:
            node.default = show(schema["default"])
        if "const" in schema:
            node.const = show(schema["const"])
        examples = schema.get("examples")
        if "example" in schema:
            node.example = show(schema["example"])
        elif isinstance(examples, list) and examples:
            node.example = show(examples[0])
        node.constraints = [label.format(schema[key]) for key, label in CONSTRAINTS if key in schema]
        if schema.get("uniqueItems") is True:
            node.constraints.append("unique items")

    @staticmethod
    def has_children(schema: dict) -> bool:
        return any(k in schema for k in ("properties", "items", "additionalProperties", "oneOf", "anyOf", "allOf"))

    def add_children(self, node: Node, schema: dict, depth: int, open_refs: dict[str, Node]) -> None:
        properties = schema.get("properties")
        required = schema.get("required") if isinstance(schema.get("required"), list) else []
        children: list[tuple[Any, str, bool]] = []
        if isinstance(properties, dict):
            children += [(sub, str(key), key in required) for key, sub in properties.items()]
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            children.append((additional, "{any name}", False))
        items = schema.get("items")
        if isinstance(items, dict):
            children.append((items, "[]", False))
        for index, (sub, key, is_required) in enumerate(children):
            if self.left <= 0:
                node.cut = f"{len(children) - index} more not shown: the schema is too large to show here in full"
                return
            node.children.append(self.build(sub, key, is_required, depth + 1, open_refs))
        for keyword, label in COMBINERS:
            options = schema.get(keyword)
            if not isinstance(options, list) or not options:
                continue
            shown = []
            for option in options:
                if self.left <= 0:
                    node.cut = "some alternatives not shown: the schema is too large to show here in full"
                    break
                shown.append(self.build(option, "", False, depth + 1, open_refs))
            node.alternatives.append((label, shown))
            if not node.type and shown and all(o.type == shown[0].type for o in shown):
                node.type = shown[0].type


def tree(
    schema: Any, components: dict, *, prefix: str = "schema", max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH
) -> Node | None:
    """The display tree of a schema, or None when there is no schema to show.

    prefix makes the anchors of circular links unique on a page that shows
    several trees.
    """
    if schema in (None, {}, True):
        return None
    return Builder(components, prefix, max_nodes, max_depth).build(schema, "", False, 0, {})


def count(node: Node) -> int:
    """How many nodes a tree holds (for tests and benchmarks)."""
    return 1 + sum(count(c) for c in node.children) + sum(count(a) for _, alts in node.alternatives for a in alts)


@dataclass
class Row:
    """One step of a tree laid out flat, so that it renders in one loop, without recursion."""

    kind: str  # "open", "leaf", "close", "alts", "end-alts"
    node: Node | None = None
    depth: int = 0
    label: str = ""


def rows(node: Node, open_depth: int = 1) -> list[Row]:
    """The tree as rows; nodes down to open_depth start unfolded."""
    out: list[Row] = []

    def walk(n: Node, depth: int) -> None:
        if not n.expandable:
            out.append(Row("leaf", n, depth))
            return
        out.append(Row("open", n, depth, "open" if depth < open_depth else ""))
        for c in n.children:
            walk(c, depth + 1)
        for label, options in n.alternatives:
            out.append(Row("alts", depth=depth, label=label))
            for option in options:
                walk(option, depth + 1)
            out.append(Row("end-alts"))
        out.append(Row("close", n, depth))

    walk(node, 0)
    return out


INTEGER_RE = re.compile(r"[+-]?[0-9]+\Z")
NUMBER_RE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
DATE_TIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?([Zz]|[+-][0-9]{2}:[0-9]{2})\Z"
)


def value_problem(text: str, schema: dict, choices: list[str] = ()) -> str:
    """What is wrong with a parameter's text value for its schema, or "".

    A parameter travels as text; this checks the text reads as the schema's
    type (integer, number, boolean) and format (date, date-time), and is one
    of the allowed values when there are some. An empty value is for the
    required check to judge.
    """
    if text == "" or not isinstance(schema, dict):
        return ""
    if choices and text not in choices:
        return "Choose one of: " + ", ".join(choices[:MAX_ENUM]) + "."
    types, _ = types_of(schema)
    fmt = schema.get("format")
    if types and "string" not in types:
        if "integer" in types and INTEGER_RE.match(text):
            return bound_problem(int(text), schema)
        if "number" in types and NUMBER_RE.match(text):
            return bound_problem(float(text), schema)
        if "boolean" in types and text in ("true", "false"):
            return ""
        if types == ["integer"]:
            return "Enter a whole number, such as 42."
        if types == ["number"] or types == ["integer", "number"]:
            return "Enter a number, such as 4.2."
        if types == ["boolean"]:
            return "Enter true or false."
        return ""
    if fmt == "date" and not (DATE_RE.match(text) and parses(text, date=True)):
        return "Enter a date as YYYY-MM-DD, such as 2024-05-17."
    if fmt == "date-time" and not (DATE_TIME_RE.match(text) and parses(text, date=False)):
        return "Enter a date and time with its offset, such as 2024-05-17T09:30:00Z."
    return ""


def bound_problem(value: float, schema: dict) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if isinstance(low, (int, float)) and not isinstance(low, bool) and value < low:
        return f"At least {low}."
    if isinstance(high, (int, float)) and not isinstance(high, bool) and value > high:
        return f"At most {high}."
    return ""


def parses(text: str, *, date: bool) -> bool:
    try:
        if date:
            datetime.date.fromisoformat(text)
        else:
            datetime.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return False
    return True
