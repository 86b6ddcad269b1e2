"""Policy documents: parsed from XML, checked against the elements Portico
implements, merged across scopes, and written back as XML.

Parsing uses the standard library's expat directly, with DTDs refused
outright: a policy document has no use for one, and refusing it closes the
door on entity expansion attacks (billion laughs, external entities).
Every element keeps its line and column, so that a validation error points
at the first problem as an editor would show it (both 1-based).

Pure Python, no Django.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

SECTIONS = ("inbound", "backend", "outbound", "on-error")
MAX_DOCUMENT_BYTES = 256 * 1024

# API Management's default document at every scope below global.
DEFAULT_DOCUMENT = """<policies>
    <inbound>
        <base />
    </inbound>
    <backend>
        <base />
    </backend>
    <outbound>
        <base />
    </outbound>
    <on-error>
        <base />
    </on-error>
</policies>"""

# ... and at global scope: the backend section forwards the call.
DEFAULT_GLOBAL_DOCUMENT = """<policies>
    <inbound />
    <backend>
        <forward-request />
    </backend>
    <outbound />
    <on-error />
</policies>"""


class PolicyError(ValueError):
    """A document that cannot be used, at ``line``:``column`` (1-based)."""

    def __init__(self, message: str, line: int = 1, column: int = 1):
        super().__init__(f"line {line}, column {column}: {message}")
        self.message, self.line, self.column = message, line, column


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    line: int
    column: int
    children: list[Element] = field(default_factory=list)
    text: str = ""
    # Where in the merged document this element came from ("global",
    # "product starter", ...), for the effective document and the trace.
    scope: str = ""

    def child(self, tag: str) -> Element | None:
        return next((c for c in self.children if c.tag == tag), None)

    def error(self, message: str) -> PolicyError:
        return PolicyError(message, self.line, self.column)


def parse_xml(text: str) -> Element:
    """The element tree of ``text``, or PolicyError at the first problem."""
    if len(text.encode()) > MAX_DOCUMENT_BYTES:
        raise PolicyError(f"The document is larger than {MAX_DOCUMENT_BYTES} bytes.")
    text = escape_expressions(text)
    parser = expat.ParserCreate()
    stack: list[Element] = []
    root: list[Element] = []

    def refuse_dtd(*args) -> None:
        raise PolicyError(
            "A DOCTYPE is not allowed in a policy document.", parser.CurrentLineNumber, parser.CurrentColumnNumber + 1
        )

    def start(tag, attrs) -> None:
        element = Element(tag, dict(attrs), parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)
        if stack:
            stack[-1].children.append(element)
        else:
            root.append(element)
        stack.append(element)

    def end(tag) -> None:
        stack.pop()

    def chars(data) -> None:
        if stack:
            stack[-1].text += data

    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.buffer_text = True
    try:
        parser.Parse(text, True)
    except expat.ExpatError as e:
        raise PolicyError(_expat_message(e), e.lineno, e.offset + 1) from None
    if not root:
        raise PolicyError("The document is empty.")
    return root[0]


ENTITY_RE = re.compile(r"&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);")
XML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}


def escape_expressions(text: str) -> str:
    """API Management's documents write expressions as C#, unescaped, even in
    attributes: condition="@(context.Request.Method == "GET" && ...)". Its
    editor escapes each @( ... ) before the XML parser sees it; so does this.
    Entities already written (&quot;, &amp;&amp;) are left as they are."""
    out, i = [], 0
    while True:
        start = text.find("@(", i)
        if start < 0:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i : start + 2])
        j, depth, quoted = start + 2, 1, False
        while j < len(text) and depth:
            c = text[j]
            if c == '"' and (j == 0 or text[j - 1] != "\\"):
                quoted = not quoted
            elif not quoted and c == "(":
                depth += 1
            elif not quoted and c == ")":
                depth -= 1
            j += 1
        if depth:
            out.append(text[start + 2 :])  # unbalanced: the parser will say where
            return "".join(out)
        body = text[start + 2 : j]
        pieces, k = [], 0
        while k < len(body):
            m = ENTITY_RE.match(body, k) if body[k] == "&" else None
            if m:
                pieces.append(m.group(0))
                k = m.end()
                continue
            pieces.append(XML_ESCAPES.get(body[k], body[k]))
            k += 1
        out.append("".join(pieces))
        i = j


def _expat_message(e: expat.ExpatError) -> str:
    message = expat.ErrorString(e.code)
    return {
        "mismatched tag": "Mismatched tag: an element is closed by another element's end tag.",
        "not well-formed (invalid token)": "Not well-formed XML (invalid token).",
        "unclosed token": "Unclosed token: the document ends inside a tag.",
        "no element found": "The document ends before its root element is closed.",
        "undefined entity": "Undefined entity: write & as &amp; and < as &lt;.",
    }.get(message, message[:1].upper() + message[1:] + ".")


# ---------------------------------------------------------------- the schema


@dataclass(frozen=True)
class Spec:
    """What an element may carry: its attributes (required ones listed
    separately), its child elements, whether it has text, and the sections
    it may stand in (None: those of its parent)."""

    attrs: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    children: frozenset[str] = frozenset()
    text: bool = False
    sections: frozenset[str] | None = frozenset(SECTIONS)
    unsupported: dict[str, str] = field(default_factory=dict)


def _spec(attrs="", required="", children="", text=False, sections: str | None = "all", unsupported=None) -> Spec:
    req = frozenset(required.split())
    return Spec(
        frozenset(attrs.split()) | req,
        req,
        frozenset(children.split()),
        text,
        None if sections is None else frozenset(SECTIONS if sections == "all" else sections.split()),
        unsupported or {},
    )


NOT_HERE = "Portico does not support {} yet."

# The policy statements, by the sections API Management allows them in.
POLICIES: dict[str, Spec] = {
    "base": _spec(),
    "forward-request": _spec(
        "timeout follow-redirects buffer-request-body buffer-response fail-on-error-status-code http-version",
        sections="backend",
    ),
    "set-header": _spec("exists-action", "name", "value", sections="inbound backend outbound on-error"),
    "set-query-parameter": _spec("exists-action", "name", "value", sections="inbound backend"),
    "rewrite-uri": _spec("copy-unmatched-params", "template", sections="inbound"),
    "set-backend-service": _spec(
        "base-url backend-id", sections="inbound backend", unsupported={"backend-id": "backend entities"}
    ),
    "set-method": _spec(text=True, sections="inbound on-error"),
    "cors": _spec(
        "allow-credentials terminate-unmatched-request",
        children="allowed-origins allowed-methods allowed-headers expose-headers",
        sections="inbound",
    ),
    "ip-filter": _spec("", "action", "address address-range", sections="inbound"),
    "check-header": _spec(
        "", "name failed-check-httpcode failed-check-error-message ignore-case", "value", sections="inbound"
    ),
    "return-response": _spec(
        "response-variable-name",
        children="set-status set-header set-body",
        unsupported={"response-variable-name": "response variables"},
    ),
    "set-status": _spec("reason", "code", sections="inbound backend outbound on-error"),
    "set-body": _spec("template xsi-nil parse-date", text=True, unsupported={"template": "body templates"}),
    "choose": _spec(children="when otherwise"),
    "rate-limit-by-key": _spec(
        "increment-condition increment-count retry-after-header-name retry-after-variable-name "
        "remaining-calls-header-name remaining-calls-variable-name total-calls-header-name",
        "calls renewal-period counter-key",
        sections="inbound",
    ),
    "quota-by-key": _spec(
        "calls bandwidth increment-condition first-period-start",
        "renewal-period counter-key",
        sections="inbound",
        unsupported={"bandwidth": "bandwidth quotas"},
    ),
    "cache-lookup": _spec(
        "caching-type downstream-caching-type must-revalidate allow-private-response-caching",
        "vary-by-developer vary-by-developer-groups",
        "vary-by-header vary-by-query-parameter",
        sections="inbound",
    ),
    "cache-store": _spec("cache-response", "duration", sections="outbound"),
    "mock-response": _spec("status-code content-type", sections="inbound outbound on-error"),
    "validate-content": _spec(
        "max-size size-exceeded-action errors-variable-name",
        "unspecified-content-type-action",
        "content",
        sections="inbound on-error",
    ),
    "validate-parameters": _spec(
        "errors-variable-name",
        "specified-parameter-action unspecified-parameter-action",
        "headers query path",
        sections="inbound",
    ),
}

# Child elements that are no policy statements of their own.
PARTS: dict[str, Spec] = {
    "value": _spec(text=True, sections=None),
    "allowed-origins": _spec(children="origin", sections=None),
    "origin": _spec(text=True, sections=None),
    "allowed-methods": _spec("preflight-result-max-age", children="method", sections=None),
    "method": _spec(text=True, sections=None),
    "allowed-headers": _spec(children="header", sections=None),
    "expose-headers": _spec(children="header", sections=None),
    "header": _spec(text=True, sections=None),
    "address": _spec(text=True, sections=None),
    "address-range": _spec("", "from to", sections=None),
    "when": _spec("", "condition", sections=None),
    "otherwise": _spec(sections=None),
    "vary-by-header": _spec(text=True, sections=None),
    "vary-by-query-parameter": _spec(text=True, sections=None),
    "content": _spec(
        "type validate-as action schema-id schema-ref allow-additional-properties case-insensitive-property-names",
        sections=None,
        unsupported={"schema-id": "schemas other than the operation's own", "schema-ref": "schema references"},
    ),
    "validate-parameters:headers": _spec(
        "specified-parameter-action unspecified-parameter-action", children="parameter", sections=None
    ),
    "parameter": _spec("", "name action", sections=None),
}
# <set-header>'s children inside <return-response> take the same form.
PARTS["validate-parameters:query"] = PARTS["validate-parameters:path"] = PARTS["validate-parameters:headers"]


def parse(text: str) -> Element:
    """A checked <policies> document. Every element and attribute must be one
    Portico implements, in a section API Management allows it in."""
    root = parse_xml(text)
    if root.tag != "policies":
        raise root.error(f"The root element must be <policies>, not <{root.tag}>.")
    if root.attrs:
        raise root.error(f"<policies> takes no attributes (found {next(iter(root.attrs))!r}).")
    seen: set[str] = set()
    for section in root.children:
        if section.tag not in SECTIONS:
            raise section.error(
                f"Unknown section <{section.tag}> in <policies>: use inbound, backend, outbound and on-error."
            )
        if section.tag in seen:
            raise section.error(f"<{section.tag}> appears twice.")
        if section.attrs:
            raise section.error(f"<{section.tag}> takes no attributes.")
        _check_text(section)
        seen.add(section.tag)
        bases = [e for e in section.children if e.tag == "base"]
        if len(bases) > 1:
            raise bases[1].error(f"<base /> appears twice in <{section.tag}>.")
        for statement in section.children:
            _check_statement(statement, section.tag, top=True)
    return root


def _check_text(element: Element) -> None:
    if element.text.strip():
        raise element.error(f"<{element.tag}> takes no text, only elements.")


def _check_statement(element: Element, section: str, top: bool) -> None:
    spec = POLICIES.get(element.tag)
    if spec is None:
        known = element.tag in PARTS
        where = "here" if known else "(not an element Portico knows)"
        raise element.error(f"Unknown element <{element.tag}> {where} in <{section}>.")
    if spec.sections is not None and section not in spec.sections:
        raise element.error(f"<{element.tag}> is not allowed in <{section}>.")
    if element.tag == "base" and not top:
        raise element.error("<base /> may only stand directly in a section.")
    _check_element(element, spec, section)


def _check_element(element: Element, spec: Spec, section: str, context: str | None = None) -> None:
    for name in element.attrs:
        if name not in spec.attrs:
            raise element.error(f"Unknown attribute {name!r} on <{element.tag}>.")
        if name in spec.unsupported:
            raise element.error(f"{NOT_HERE.format(spec.unsupported[name])} (attribute {name!r} on <{element.tag}>).")
    for name in sorted(spec.required):
        if name not in element.attrs:
            raise element.error(f"<{element.tag}> needs the attribute {name!r}.")
    if not spec.text:
        _check_text(element)
    if element.tag in ("when", "otherwise"):
        return  # their statements are checked by the <choose> they stand in
    for child in element.children:
        if element.tag in ("choose",) and child.tag in ("when", "otherwise"):
            _check_element(child, PARTS[child.tag], section)
            for statement in child.children:
                _check_statement(statement, section, top=False)
            continue
        if element.tag == "return-response" and child.tag in spec.children:
            _check_element(child, POLICIES[child.tag], section)
            continue
        if child.tag not in spec.children:
            raise child.error(f"Unknown element <{child.tag}> in <{element.tag}>.")
        part = PARTS.get(f"{element.tag}:{child.tag}") or PARTS[child.tag]
        _check_element(child, part, section)
    if element.tag == "choose":
        tags = [c.tag for c in element.children]
        if "when" not in tags:
            raise element.error("<choose> needs at least one <when>.")
        if tags.count("otherwise") > 1 or ("otherwise" in tags and tags[-1] != "otherwise"):
            raise element.error("<otherwise> may appear once, after the <when> elements.")


# ------------------------------------------------------------------ merging


@dataclass(frozen=True)
class Scoped:
    """One scope's document, from the outermost (global) inwards."""

    scope: str  # "global", "product starter", "api echo", "operation get-item"
    root: Element | None  # None: no document at this scope


def merge(scopes: list[Scoped]) -> dict[str, list[Element]]:
    """The statements that run in each section, outermost scope first:
    each scope's <base /> is replaced by the enclosing scope's section.
    A scope without a document behaves as API Management's default document
    (<base /> in every section); so does a section a document leaves out."""
    merged: dict[str, list[Element]] = {}
    for section in SECTIONS:
        statements: list[Element] = []
        for scoped in scopes:
            own = scoped.root.child(section) if scoped.root is not None else None
            if own is None:
                continue  # as <base />: the enclosing statements stand
            expanded: list[Element] = []
            for statement in own.children:
                if statement.tag == "base":
                    expanded.extend(statements)
                else:
                    expanded.append(_scoped(statement, scoped.scope))
            statements = expanded
        merged[section] = statements
    return merged


def _scoped(element: Element, scope: str) -> Element:
    copy = Element(element.tag, element.attrs, element.line, element.column, [], element.text, scope)
    copy.children = [_scoped(c, scope) for c in element.children]
    return copy


def to_xml(merged: dict[str, list[Element]], indent: str = "    ") -> str:
    """The effective document, each statement preceded by a comment naming
    the scope it comes from."""
    lines = ["<policies>"]
    for section in SECTIONS:
        statements = merged.get(section, [])
        if not statements:
            lines.append(f"{indent}<{section} />")
            continue
        lines.append(f"{indent}<{section}>")
        scope = None
        for statement in statements:
            if statement.scope != scope:
                scope = statement.scope
                lines.append(f"{indent * 2}<!-- from {scope} -->")
            lines.extend(_element_xml(statement, 2, indent))
        lines.append(f"{indent}</{section}>")
    lines.append("</policies>")
    return "\n".join(lines) + "\n"


def _element_xml(element: Element, depth: int, indent: str) -> list[str]:
    pad = indent * depth
    attrs = "".join(f" {name}={quoteattr(value)}" for name, value in element.attrs.items())
    text = element.text.strip()
    if not element.children and not text:
        return [f"{pad}<{element.tag}{attrs} />"]
    if not element.children:
        return [f"{pad}<{element.tag}{attrs}>{escape(text)}</{element.tag}>"]
    out = [f"{pad}<{element.tag}{attrs}>"]
    for child in element.children:
        out.extend(_element_xml(child, depth + 1, indent))
    out.append(f"{pad}</{element.tag}>")
    return out


NAMED_VALUE_RE = re.compile(r"\{\{([^{}]*)\}\}")
NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,256}\Z")


def named_values_in(root: Element) -> set[str]:
    """Every {{name}} the document refers to."""
    found: set[str] = set()
    stack = [root]
    while stack:
        element = stack.pop()
        for value in [*element.attrs.values(), element.text]:
            found.update(m.group(1) for m in NAMED_VALUE_RE.finditer(value))
        stack.extend(element.children)
    return found
