"""URL templates of API operations, as API Management writes them.

    /workspaces/{workspace}/services/{service}/execute?api-version={apiversion}&details={details}

A template has a path, made of segments that mix literal text and
``{parameters}``, and an optional query of ``key=value`` pairs whose value is a
literal or one ``{parameter}``. This module parses and validates templates,
expands them with values (the console builds requests with it) and matches
concrete requests against a set of them (the gateway routes with it).

Pure Python, no Django: it is tested on its own and reused everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import parse_qsl, quote, unquote

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
# What may stand literally in a path segment or a query key/value: RFC 3986
# unreserved characters, sub-delimiters, ':' and '@' (path only), and
# percent-escapes. Everything else must be written percent-encoded.
PATH_LITERAL_RE = re.compile(r"(?:[A-Za-z0-9\-._~!$'()*+,;=:@]|%[0-9A-Fa-f]{2})*\Z")
QUERY_LITERAL_RE = re.compile(r"(?:[A-Za-z0-9\-._~!$'()*+,;:@/?]|%[0-9A-Fa-f]{2})*\Z")
MAX_TEMPLATE_LENGTH = 2000


class TemplateError(ValueError):
    """A template that cannot be used, with the position (0-based) of the problem."""

    def __init__(self, message: str, position: int):
        super().__init__(f"{message} (at position {position + 1})")
        self.message = message
        self.position = position


class ExpansionError(ValueError):
    """Values that cannot fill a template, e.g. a path parameter left empty."""

    def __init__(self, message: str, name: str):
        super().__init__(message)
        self.name = name


@dataclass(frozen=True)
class Param:
    name: str


# A segment is a tuple of pieces: literal strings and Params, e.g.
# ("jobs",) or (Param("name"), ".csv").
Piece = str | Param
Segment = tuple[Piece, ...]


@dataclass(frozen=True)
class QueryItem:
    key: str
    # Exactly one of these is set: a literal value the request must carry, or
    # the parameter whose value goes there.
    literal: str | None = None
    param: str | None = None


@dataclass(frozen=True)
class UrlTemplate:
    text: str
    segments: tuple[Segment, ...]
    query: tuple[QueryItem, ...]
    _regexes: tuple[re.Pattern[str] | None, ...] = field(default=(), compare=False, repr=False)

    @property
    def path_params(self) -> list[str]:
        return [p.name for segment in self.segments for p in segment if isinstance(p, Param)]

    @property
    def query_params(self) -> list[str]:
        return [item.param for item in self.query if item.param is not None]

    @property
    def params(self) -> list[str]:
        return self.path_params + self.query_params

    @property
    def specificity(self) -> tuple:
        """Sort key: the larger, the more specific. Literal segments beat mixed
        ones, which beat bare parameters, from the left; then more segments;
        then more literal query pairs."""
        ranks = []
        for segment in self.segments:
            if all(isinstance(p, str) for p in segment):
                ranks.append(2)
            elif any(isinstance(p, str) and p for p in segment):
                ranks.append(1)
            else:
                ranks.append(0)
        literal_query = sum(1 for item in self.query if item.literal is not None)
        return (tuple(ranks), len(self.segments), literal_query)

    def expand(self, values: Mapping[str, str], extra_query: Iterable[tuple[str, str]] = ()) -> str:
        """The path and query with every value percent-encoded.

        No value can add a path segment, a query pair, a fragment, user info or
        a header: '/', '?', '#', '&', '=', '@', '%', CR and LF are all encoded,
        and a value of '.' or '..' is encoded so that it is not a dot-segment.
        Path parameters must have a non-empty value; query parameters without a
        value are left out.
        """
        parts = []
        for segment in self.segments:
            text = []
            for piece in segment:
                if isinstance(piece, Param):
                    value = values.get(piece.name, "")
                    if value is None or str(value) == "":
                        raise ExpansionError(f"A value is required for {{{piece.name}}}.", piece.name)
                    text.append(encode_path_value(str(value)))
                else:
                    text.append(piece)
            parts.append("".join(text))
        path = "/" + "/".join(parts)
        pairs = []
        for item in self.query:
            if item.literal is not None:
                pairs.append(f"{item.key}={item.literal}" if item.literal != "" else item.key)
            else:
                value = values.get(item.param or "")
                if value is None or str(value) == "":
                    continue
                pairs.append(f"{item.key}={encode_query_value(str(value))}")
        for key, value in extra_query:
            if key:
                pairs.append(f"{encode_query_value(key)}={encode_query_value(value)}")
        return path + ("?" + "&".join(pairs) if pairs else "")

    def match_path(self, path: str) -> dict[str, str] | None:
        """The path parameters' values if the raw (percent-encoded) path fits."""
        raw_segments = path.split("/")
        if not raw_segments or raw_segments[0] != "":
            return None
        raw_segments = raw_segments[1:]
        if len(raw_segments) != len(self.segments):
            return None
        values: dict[str, str] = {}
        for raw, segment, regex in zip(raw_segments, self.segments, self._regexes, strict=True):
            if regex is None:
                if unquote(raw) != unquote("".join(str(p) for p in segment)):
                    return None
                continue
            found = regex.fullmatch(unquote(raw))
            if not found:
                return None
            values.update({_ungroup(k): v for k, v in found.groupdict().items()})
        return values

    def match(self, path: str, query: str = "") -> dict[str, str] | None:
        """Values for every parameter found, if the request fits the template.

        The path must fit exactly. Literal query pairs must be present with
        their value; parameterised ones are optional for matching (the backend
        is the judge of a missing value, and says so better than a 404).
        """
        values = self.match_path(path)
        if values is None:
            return None
        if not self.query:
            return values
        given: dict[str, str] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            given.setdefault(key, value)
        for item in self.query:
            if item.literal is not None:
                if given.get(item.key) != unquote(item.literal):
                    return None
            elif item.key in given and item.param:
                values[item.param] = given[item.key]
        return values


def shape(template: UrlTemplate) -> tuple:
    """A template with its parameter names erased: two templates of one shape
    catch the same requests."""
    return (
        tuple(tuple("{}" if isinstance(p, Param) else p for p in segment) for segment in template.segments),
        tuple(sorted((item.key, item.literal) for item in template.query)),
    )


def encode_path_value(value: str) -> str:
    if value in (".", ".."):
        return value.replace(".", "%2E")
    return quote(value, safe="")


def encode_query_value(value: str) -> str:
    return quote(value, safe="")


def _split_pieces(text: str, offset: int, names: dict[str, int]) -> list[Piece]:
    """Literal text and {params} of one path segment or query value."""
    pieces: list[Piece] = []
    i = 0
    while i < len(text):
        if text[i] == "}":
            raise TemplateError("Unbalanced '}': no '{' opens it", offset + i)
        if text[i] != "{":
            j = i
            while j < len(text) and text[j] not in "{}":
                j += 1
            pieces.append(text[i:j])
            i = j
            continue
        end = text.find("}", i + 1)
        nested = text.find("{", i + 1)
        if end == -1 or (nested != -1 and nested < end):
            raise TemplateError("Unbalanced '{': it is not closed", offset + i)
        name = text[i + 1 : end]
        if name == "":
            raise TemplateError("Empty parameter name '{}'", offset + i)
        if not NAME_RE.match(name):
            raise TemplateError(
                f"Illegal parameter name '{name}': use letters, digits, '_', '-' and '.', starting with a letter",
                offset + i + 1,
            )
        if name in names:
            raise TemplateError(f"Duplicate parameter name '{name}'", offset + i + 1)
        names[name] = offset + i
        if pieces and isinstance(pieces[-1], Param):
            raise TemplateError(
                f"Parameters '{pieces[-1].name}' and '{name}' touch: separate them with literal text",
                offset + i,
            )
        pieces.append(Param(name))
        i = end + 1
    return pieces


def _check_literal(text: str, offset: int, pattern: re.Pattern[str], where: str) -> None:
    if pattern.match(text):
        return
    for i, char in enumerate(text):
        if char == "%":
            if not re.match(r"%[0-9A-Fa-f]{2}", text[i : i + 3]):
                raise TemplateError(f"Malformed percent-escape in the {where}", offset + i)
            continue
        if not pattern.match(char):
            shown = repr(char)[1:-1] if not char.isprintable() or char == " " else char
            raise TemplateError(f"Illegal character '{shown}' in the {where}", offset + i)
    raise TemplateError(f"Illegal text in the {where}", offset)  # pragma: no cover


def _segment_regex(segment: Segment) -> re.Pattern[str] | None:
    if all(isinstance(p, str) for p in segment):
        return None
    parts = []
    for piece in segment:
        if isinstance(piece, Param):
            # Group names must be identifiers; map them back with the index.
            parts.append(f"(?P<{_group(piece.name)}>.+?)")
        else:
            parts.append(re.escape(unquote(piece)))
    return re.compile("".join(parts), re.DOTALL)


def _group(name: str) -> str:
    return name.replace("-", "__dash__").replace(".", "__dot__")


def _ungroup(name: str) -> str:
    return name.replace("__dash__", "-").replace("__dot__", ".")


def parse(text: str) -> UrlTemplate:
    """Parse and validate a template; TemplateError says what is wrong and where."""
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise TemplateError(f"Too long: at most {MAX_TEMPLATE_LENGTH} characters", MAX_TEMPLATE_LENGTH)
    if not text.startswith("/"):
        raise TemplateError("A URL template starts with '/'", 0)
    if "#" in text:
        raise TemplateError("A URL template cannot have a fragment ('#')", text.index("#"))
    # The query starts at the first '?' outside braces.
    depth = 0
    split_at = len(text)
    for i, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        elif char == "?" and depth == 0:
            split_at = i
            break
    path_text, query_text = text[:split_at], text[split_at + 1 :]
    names: dict[str, int] = {}

    segments: list[Segment] = []
    raw_segments = path_text[1:].split("/")
    offset = 1
    for index, raw in enumerate(raw_segments):
        if raw == "" and index < len(raw_segments) - 1:
            raise TemplateError("Empty path segment ('//')", offset)
        pieces = _split_pieces(raw, offset, names)
        position = offset
        for piece in pieces:
            if isinstance(piece, str):
                _check_literal(piece, position, PATH_LITERAL_RE, "path")
                position += len(piece)
            else:
                position += len(piece.name) + 2
        segments.append(tuple(pieces))
        offset += len(raw) + 1

    query: list[QueryItem] = []
    keys: set[str] = set()
    if split_at < len(text):
        if query_text == "":
            raise TemplateError("Empty query after '?'", split_at)
        offset = split_at + 1
        for pair in query_text.split("&"):
            if pair == "":
                raise TemplateError("Empty query pair ('&&' or a trailing '&')", offset)
            key, eq, value = pair.partition("=")
            if "{" in key or "}" in key:
                raise TemplateError("A query key cannot be a parameter: write key={name}", offset)
            if key == "":
                raise TemplateError("Empty query key", offset)
            _check_literal(key, offset, QUERY_LITERAL_RE, "query")
            if key in keys:
                raise TemplateError(f"Duplicate query key '{key}'", offset)
            keys.add(key)
            value_offset = offset + len(key) + len(eq)
            pieces = _split_pieces(value, value_offset, names)
            if any(isinstance(p, Param) for p in pieces):
                if len(pieces) != 1:
                    raise TemplateError("A query value is either literal text or one {parameter}", value_offset)
                query.append(QueryItem(key=key, param=pieces[0].name))  # type: ignore[union-attr]
            else:
                _check_literal(value, value_offset, QUERY_LITERAL_RE, "query")
                query.append(QueryItem(key=key, literal=value))
            offset += len(pair) + 1

    regexes = tuple(_segment_regex(segment) for segment in segments)
    return UrlTemplate(text=text, segments=tuple(segments), query=tuple(query), _regexes=regexes)


K = TypeVar("K")


@dataclass(frozen=True)
class RouteMatch(Generic[K]):
    key: K
    template: UrlTemplate
    values: dict[str, str]


class Router(Generic[K]):
    """Matches method + path + query against a set of (method, template, key)
    routes, most specific template first. Built once, matched many times."""

    def __init__(self, routes: Iterable[tuple[str, UrlTemplate, K]]):
        self.routes = sorted(
            ((method.upper(), template, key) for method, template, key in routes),
            key=lambda route: route[1].specificity,
            reverse=True,
        )

    def match(self, method: str, path: str, query: str = "") -> RouteMatch[K] | None:
        method = method.upper()
        for route_method, template, key in self.routes:
            if route_method != method:
                continue
            values = template.match(path, query)
            if values is not None:
                return RouteMatch(key, template, values)
        return None

    def allowed_methods(self, path: str, query: str = "") -> list[str]:
        """Methods of the routes whose template fits, for a 405's Allow header."""
        found = {method for method, template, _ in self.routes if template.match(path, query) is not None}
        return sorted(found)
