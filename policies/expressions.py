"""The policy expressions Portico understands: a small, safe subset of API
Management's C# expressions, parsed by hand and evaluated over a plain
context object. Nothing here is ever passed to eval().

An expression is written ``@( ... )`` as the whole of an attribute or value.
The grammar (docs/policies.md lists it for publishers):

    expr    := or
    or      := and ("||" and)*
    and     := unary ("&&" unary)*
    unary   := "!" unary | compare
    compare := term (("==" | "!=" | "<" | "<=" | ">" | ">=") term)?
    term    := literal | member | "(" expr ")"
    literal := "string" | integer | true | false | null
    member  := "context" ("." Name | "." Name "(" args ")")*

The members a ``context.`` path may name are the ones in PROPERTIES and
METHODS below; anything else is refused when the document is saved, so a
typo never waits for a call to show.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class ExpressionError(ValueError):
    """An expression outside the subset; ``position`` is 0-based in its text."""

    def __init__(self, message: str, position: int = 0):
        super().__init__(message)
        self.position = position


class EvaluationError(RuntimeError):
    """An expression that failed at run time, e.g. a method called on null
    (a header that is not there)."""


TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>\d+)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>==|!=|<=|>=|&&|\|\||[<>!().,])
    )""",
    re.VERBOSE,
)
ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "0": "\0"}


@dataclass(frozen=True)
class Token:
    kind: str  # string, number, name, op, end
    text: str
    position: int


def tokenize(text: str) -> list[Token]:
    tokens, i = [], 0
    while i < len(text):
        if text[i:].strip() == "":
            break
        m = TOKEN_RE.match(text, i)
        if m is None or m.end() == i:
            start = i + len(text[i:]) - len(text[i:].lstrip())
            raise ExpressionError(f"Unexpected character {text[start]!r} in expression.", start)
        kind = m.lastgroup or "op"
        value = m.group(kind)
        tokens.append(Token(kind, value, m.start(kind)))
        i = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _unquote(literal: str, position: int) -> str:
    out, i, body = [], 0, literal[1:-1]
    while i < len(body):
        c = body[i]
        if c == "\\":
            nxt = body[i + 1] if i + 1 < len(body) else ""
            if nxt not in ESCAPES:
                raise ExpressionError(f"Unknown escape \\{nxt} in a string.", position + i + 1)
            out.append(ESCAPES[nxt])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


# What each member path gives, as a function of the evaluation context (see
# pipeline.Context). A path is the dotted names after "context.".
PROPERTIES: dict[str, Callable[[Any], Any]] = {
    "Request.IpAddress": lambda c: c.request.ip,
    "Request.Method": lambda c: c.request.method,
    "Request.Url.Path": lambda c: c.request.path,
    "Request.Url.Host": lambda c: c.request.host,
    "Request.Url.Scheme": lambda c: c.request.scheme,
    "Request.Url.QueryString": lambda c: c.request.query_string(),
    "Subscription.Id": lambda c: c.subscription_id,
    "User.Id": lambda c: c.user_id,
    "Product.Id": lambda c: c.product_id,
    "Api.Id": lambda c: c.api_id,
    "Operation.Id": lambda c: c.operation_id,
    "Operation.Method": lambda c: c.request.original_method,
    "Response.StatusCode": lambda c: c.response.status if c.response is not None else None,
    "Response.StatusReason": lambda c: c.response.reason if c.response is not None else None,
    "LastError.Source": lambda c: c.last_error.source if c.last_error else None,
    "LastError.Reason": lambda c: c.last_error.reason if c.last_error else None,
    "LastError.Message": lambda c: c.last_error.message if c.last_error else None,
}


def _headers_of(path: str):
    if path == "Request.Headers":
        return lambda c: c.request.headers
    if path == "Response.Headers":
        return lambda c: c.response.headers if c.response is not None else None
    return None


# Methods on a member path (name -> (min args, max args, function of the
# target and the arguments)).
COLLECTION_METHODS: dict[str, tuple[int, int, Callable[..., Any]]] = {
    "GetValueOrDefault": (1, 2, lambda h, name, default=None: h.get(name, default)),
    "ContainsKey": (1, 1, lambda h, name: name in h),
}
QUERY_METHODS: dict[str, tuple[int, int, Callable[..., Any]]] = {
    "GetValueOrDefault": (1, 2, lambda r, name, default=None: r.query_value(name, default)),
    "ContainsKey": (1, 1, lambda r, name: r.query_value(name, None) is not None),
}


def _string_method(name: str) -> Callable[..., Any]:
    def call(target, *args):
        if not isinstance(target, str):
            raise EvaluationError(f"{name}() was called on {_describe(target)}, not a string.")
        return STRING_METHODS[name][2](target, *args)

    return call


STRING_METHODS: dict[str, tuple[int, int, Callable[..., Any]]] = {
    "StartsWith": (1, 1, lambda s, x: s.startswith(x)),
    "EndsWith": (1, 1, lambda s, x: s.endswith(x)),
    "Contains": (1, 1, lambda s, x: x in s),
    "Equals": (1, 1, lambda s, x: s == x),
    "ToLower": (0, 0, lambda s: s.lower()),
    "ToUpper": (0, 0, lambda s: s.upper()),
    "Trim": (0, 0, lambda s: s.strip()),
    "ToString": (0, 0, lambda s: s),
}


def _describe(value: Any) -> str:
    return "null" if value is None else type(value).__name__


# A compiled expression is a function of the context.
Compiled = Callable[[Any], Any]


class _Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self, text: str | None = None, kind: str | None = None) -> Token:
        token = self.peek()
        if (text is not None and token.text != text) or (kind is not None and token.kind != kind):
            wanted = repr(text) if text is not None else kind
            found = repr(token.text) if token.kind != "end" else "the end"
            raise ExpressionError(f"Expected {wanted}, found {found}.", token.position)
        self.i += 1
        return token

    def parse(self) -> Compiled:
        expr = self.or_()
        if self.peek().kind != "end":
            token = self.peek()
            raise ExpressionError(f"Unexpected {token.text!r}.", token.position)
        return expr

    def or_(self) -> Compiled:
        left = self.and_()
        while self.peek().text == "||":
            self.take()
            right, first = self.and_(), left
            left = lambda c, a=first, b=right: _truth(a(c)) or _truth(b(c))  # noqa: E731
        return left

    def and_(self) -> Compiled:
        left = self.unary()
        while self.peek().text == "&&":
            self.take()
            right, first = self.unary(), left
            left = lambda c, a=first, b=right: _truth(a(c)) and _truth(b(c))  # noqa: E731
        return left

    def unary(self) -> Compiled:
        if self.peek().text == "!":
            self.take()
            inner = self.unary()
            return lambda c: not _truth(inner(c))
        return self.compare()

    def compare(self) -> Compiled:
        left = self.term()
        op = self.peek().text
        if self.peek().kind == "op" and op in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            right = self.term()
            return lambda c: _compare(op, left(c), right(c))
        return left

    def term(self) -> Compiled:
        token = self.peek()
        if token.kind == "string":
            self.take()
            value = _unquote(token.text, token.position)
            return lambda c: value
        if token.kind == "number":
            self.take()
            number = int(token.text)
            return lambda c: number
        if token.text == "(":
            self.take()
            inner = self.or_()
            self.take(")")
            return inner
        if token.kind == "name" and token.text in ("true", "false", "null"):
            self.take()
            constant = {"true": True, "false": False, "null": None}[token.text]
            return lambda c: constant
        if token.kind == "name" and token.text == "context":
            return self.member()
        found = repr(token.text) if token.kind != "end" else "the end"
        raise ExpressionError(f"Expected a value or context.…, found {found}.", token.position)

    def member(self) -> Compiled:
        self.take("context")
        names: list[str] = []
        start = self.peek().position
        while self.peek().text == ".":
            self.take(".")
            name_token = self.take(kind="name")
            if self.peek().text == "(":
                return self.call(".".join(names), name_token, start)
            names.append(name_token.text)
            path = ".".join(names)
            getter = PROPERTIES.get(path)
            if getter is not None and self.peek().text != ".":
                return self.methods_on(getter)
            if getter is not None and self.peek().text == ".":
                # context.Request.Method.ToLower(): a string method follows.
                return self.methods_on(getter)
        raise ExpressionError(f"Unknown member context.{'.'.join(names)}.", start)

    def call(self, path: str, name_token: Token, start: int) -> Compiled:
        name = name_token.text
        if path in ("Request.Headers", "Response.Headers") and name in COLLECTION_METHODS:
            target, table = _headers_of(path), COLLECTION_METHODS
        elif path == "Request.Url.Query" and name in QUERY_METHODS:
            target, table = (lambda c: c.request), QUERY_METHODS
        else:
            raise ExpressionError(f"Unknown member context.{path}.{name}().", name_token.position)
        low, high, fn = table[name]
        args = self.arguments(low, high, name_token)

        def run(c):
            collection = target(c)
            if collection is None:
                raise EvaluationError(f"context.{path} is null here.")
            return fn(collection, *(a(c) for a in args))

        return self.methods_on(run)

    def arguments(self, low: int, high: int, name_token: Token) -> list[Compiled]:
        self.take("(")
        args: list[Compiled] = []
        if self.peek().text != ")":
            args.append(self.or_())
            while self.peek().text == ",":
                self.take(",")
                args.append(self.or_())
        self.take(")")
        if not low <= len(args) <= high:
            count = str(low) if low == high else f"{low} to {high}"
            raise ExpressionError(f"{name_token.text}() takes {count} arguments.", name_token.position)
        return args

    def methods_on(self, target: Compiled) -> Compiled:
        while self.peek().text == ".":
            self.take(".")
            name_token = self.take(kind="name")
            if name_token.text not in STRING_METHODS:
                raise ExpressionError(f"Unknown method {name_token.text}().", name_token.position)
            low, high, _ = STRING_METHODS[name_token.text]
            args = self.arguments(low, high, name_token)
            method, inner = _string_method(name_token.text), target
            target = lambda c, m=method, t=inner, a=tuple(args): m(t(c), *(x(c) for x in a))  # noqa: E731
        return target


def _truth(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise EvaluationError(f"Expected true or false, got {_describe(value)}.")


def _compare(op: str, a: Any, b: Any) -> bool:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, int) or not isinstance(b, int):
        raise EvaluationError(f"{op} compares numbers, not {_describe(a)} and {_describe(b)}.")
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def compile_expression(text: str) -> Compiled:
    """``text`` is what stands inside ``@( ... )``."""
    return _Parser(text).parse()


def is_expression(value: str) -> bool:
    stripped = value.strip()
    return stripped.startswith("@(") or stripped.startswith("@{")


def expression_body(value: str) -> str:
    """The inside of ``@( ... )``; multi-statement ``@{ ... }`` blocks are
    not part of the subset."""
    stripped = value.strip()
    if stripped.startswith("@{"):
        raise ExpressionError("Multi-statement expressions @{ ... } are not supported; use @( ... ).", 0)
    if not stripped.endswith(")"):
        raise ExpressionError("An expression @( must end with ')'.", len(stripped) - 1)
    return stripped[2:-1]
