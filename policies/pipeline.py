"""The policy evaluator: a merged document compiled once into steps, run for
each call over a plain Context.

The seam with the gateway is three calls, so that the gateway keeps the
forwarding (sync today, async in the data plane) to itself:

    answer = pipeline.request(ctx)       # inbound, then backend up to forward-request
    if answer is None:                   # forward ctx.request, then
        answer = pipeline.response(ctx, backend_response)
    elif answer.outbound:                # a cache hit still runs outbound
        answer = pipeline.response(ctx, answer)
    pipeline.failed(ctx, error, response)  # a failure the gateway saw (backend down)

Everything the evaluator needs from outside (counters, the response cache,
the operation's schemas and examples) comes through ``ctx.services``.

Errors follow API Management: a policy that refuses a call (ip-filter,
check-header, a limit, validation) prepares its answer and jumps to
<on-error>; a policy that fails (a named value that does not exist, an
expression over a missing header) jumps there too, and when <on-error> does
not answer, the caller gets 500 in API Management's error body.

Pure Python, no Django.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote, unquote

from apis import urltemplate
from policies import expressions
from policies.document import NAMED_VALUE_RE, SECTIONS, Element, parse

INTERNAL_ERROR = "Internal server error"


# ------------------------------------------------------------ the call model


class Headers:
    """HTTP headers by case-insensitive name, keeping the first spelling."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()):
        self._items: dict[str, tuple[str, str]] = {}
        for name, value in items:
            self.append(name, value)

    def get(self, name: str, default: Any = None) -> Any:
        found = self._items.get(name.lower())
        return found[1] if found is not None else default

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def set(self, name: str, value: str) -> None:
        old = self._items.get(name.lower())
        self._items[name.lower()] = (old[0] if old else name, value)

    def append(self, name: str, value: str) -> None:
        old = self._items.get(name.lower())
        self._items[name.lower()] = (old[0], f"{old[1]}, {value}") if old else (name, value)

    def delete(self, name: str) -> None:
        self._items.pop(name.lower(), None)

    def items(self) -> list[tuple[str, str]]:
        return list(self._items.values())

    def copy(self) -> Headers:
        return Headers(self.items())


@dataclass
class Request:
    method: str
    path: str  # the operation path, as the caller encoded it, below the API's suffix
    query: list[tuple[str, str]]  # decoded pairs, in order
    headers: Headers
    ip: str | None = None
    scheme: str = "https"
    host: str = ""
    body: bytes | None = None
    base_url: str = ""  # the backend's service URL
    # The operation's template and the values the call matched it with.
    template: urltemplate.UrlTemplate | None = None
    values: dict[str, str] = field(default_factory=dict)
    original_method: str = ""

    def query_value(self, name: str, default: Any = None) -> Any:
        return next((v for k, v in self.query if k == name), default)

    def query_string(self) -> str:
        return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in self.query)

    @property
    def url(self) -> str:
        qs = self.query_string()
        return self.base_url.rstrip("/") + self.path + ("?" + qs if qs else "")


@dataclass
class Response:
    status: int
    headers: Headers
    # None while the backend's body has not been read (it may stream through).
    body: bytes | None = None
    reason: str = ""


@dataclass(frozen=True)
class LastError:
    source: str  # the policy's element name, or a built-in step such as forward-request
    reason: str
    message: str


@dataclass(frozen=True)
class NamedValue:
    value: str
    secret: bool = False


@dataclass(frozen=True)
class Admission:
    allowed: bool
    retry_after: int = 0
    remaining: int = 0


class Services(Protocol):
    """What the evaluator asks the gateway for."""

    def rate_limit(self, key: str, calls: int, period: int, count: bool) -> Admission: ...

    def quota(self, key: str, calls: int, period: int, start: float, count: bool) -> Admission: ...

    def cache_get(self, key: str) -> dict | None: ...

    def cache_set(self, key: str, value: dict, seconds: int) -> None: ...

    def example(self, status: int | None, content_type: str | None) -> tuple[int, str, bytes] | None: ...

    def request_schema(self, content_type: str) -> tuple[dict | None, list[str]]: ...

    def parameters(self) -> list[dict]: ...


@dataclass
class Trace:
    section: str
    policy: str
    scope: str
    detail: str


@dataclass
class Context:
    request: Request
    services: Services
    named_values: dict[str, NamedValue] = field(default_factory=dict)
    subscription_id: str | None = None
    user_id: str | None = None
    product_id: str | None = None
    api_id: str | None = None
    operation_id: str | None = None
    response: Response | None = None
    last_error: LastError | None = None
    trace: list[Trace] = field(default_factory=list)
    # Set by policies, read by the gateway.
    cors_headers: dict[str, str] = field(default_factory=dict)
    forward_timeout: float | None = None
    cached: bool = False
    mocked: bool = False
    refused: str = ""  # the policy that refused the call
    failed: str = ""  # the policy that failed at run time
    section: str = ""
    # Work left for the response: counters to increment on a condition, a
    # cache entry to store.
    after: list[Callable[[Context], None]] = field(default_factory=list)
    cache_key: str | None = None
    secrets_used: set[str] = field(default_factory=set)

    def note(self, policy: str, scope: str, detail: str = "") -> None:
        self.trace.append(Trace(self.section, policy, scope, self.mask(detail)))

    def mask(self, text: str) -> str:
        for name in self.secrets_used:
            value = self.named_values[name].value
            if value:
                text = text.replace(value, "***")
        return text


@dataclass
class Answer(Response):
    """A response made by the policies instead of the backend's."""

    outbound: bool = False  # run <outbound> over it (a cache hit does)


class Refusal(Exception):
    """A policy refused the call: its answer is ready, <on-error> runs."""

    def __init__(self, policy: str, reason: str, message: str, status: int, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.error = LastError(policy, reason, message)
        self.status, self.headers = status, headers or {}


class Failure(Exception):
    """A policy failed at run time: <on-error> runs, else 500."""

    def __init__(self, policy: str, message: str):
        super().__init__(message)
        self.error = LastError(policy, "PolicyFailure", message)


class _Stop(Exception):
    def __init__(self, answer: Answer | None):
        self.answer = answer


def error_body(status: int, message: str) -> bytes:
    return json.dumps({"statusCode": status, "message": message}).encode()


def error_answer(status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
    h = Headers([("Content-Type", "application/json; charset=utf-8"), *(headers or {}).items()])
    return Answer(status, h, error_body(status, message))


# ------------------------------------------------------------- values


class Value:
    """An attribute or text: literal text with {{named values}}, or one
    @(expression). Named values are substituted first, as API Management does."""

    def __init__(self, text: str, element: Element, what: str):
        self.text = text
        self.names = [m.group(1).strip() for m in NAMED_VALUE_RE.finditer(text)]
        self.literal = not self.names
        self.expression: expressions.Compiled | None = None
        if expressions.is_expression(text) and not self.names:
            try:
                self.expression = expressions.compile_expression(expressions.expression_body(text))
            except expressions.ExpressionError as e:
                raise element.error(f"In {what}: {e}") from None
            self.literal = False
        elif "@(" in text and not self.names:
            raise element.error(f"In {what}: an expression @( ... ) must be the whole value.")

    def __call__(self, ctx: Context, policy: str) -> Any:
        if self.literal:
            return self.text
        text = self.text
        if self.names:
            text = NAMED_VALUE_RE.sub(lambda m: _named(ctx, m.group(1).strip(), policy), text)
            if expressions.is_expression(text):
                # A named value may hold an expression, as in API Management.
                try:
                    compiled = expressions.compile_expression(expressions.expression_body(text))
                except expressions.ExpressionError as e:
                    raise Failure(policy, f"Expression from a named value is invalid: {e}") from None
                return _evaluate(compiled, ctx, policy)
            return text
        return _evaluate(self.expression, ctx, policy)  # type: ignore[arg-type]


def _named(ctx: Context, name: str, policy: str) -> str:
    found = ctx.named_values.get(name)
    if found is None:
        raise Failure(policy, f"Named value '{name}' could not be found.")
    if found.secret:
        ctx.secrets_used.add(name)
    return found.value


def _evaluate(compiled: expressions.Compiled, ctx: Context, policy: str) -> Any:
    try:
        return compiled(ctx)
    except expressions.EvaluationError as e:
        raise Failure(policy, f"Expression evaluation failed. {e}") from None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _bool(element: Element, name: str, default: bool) -> bool:
    raw = element.attrs.get(name)
    if raw is None:
        return default
    if raw.strip().lower() not in ("true", "false"):
        raise element.error(f"{name!r} on <{element.tag}> must be true or false, not {raw!r}.")
    return raw.strip().lower() == "true"


def _int(element: Element, name: str, default: int | None = None, low: int = 0) -> int:
    raw = element.attrs.get(name)
    if raw is None:
        if default is None:
            raise element.error(f"<{element.tag}> needs the attribute {name!r}.")
        return default
    try:
        number = int(raw.strip())
    except ValueError:
        raise element.error(f"{name!r} on <{element.tag}> must be a whole number, not {raw!r}.") from None
    if number < low:
        raise element.error(f"{name!r} on <{element.tag}> must be at least {low}.")
    return number


def _choice(element: Element, name: str, choices: tuple[str, ...], default: str | None = None) -> str:
    raw = element.attrs.get(name, default)
    if raw not in choices:
        raise element.error(f"{name!r} on <{element.tag}> must be one of {', '.join(choices)}, not {raw!r}.")
    return raw  # type: ignore[return-value]


# ------------------------------------------------------------- the steps


class Step:
    tag = ""

    def __init__(self, element: Element, section: str):
        self.element, self.section, self.scope = element, section, element.scope

    def run(self, ctx: Context) -> None:
        raise NotImplementedError


class ForwardRequest(Step):
    tag = "forward-request"

    def __init__(self, element, section):
        super().__init__(element, section)
        # Without a timeout the gateway's own read timeout holds (API
        # Management's default, 300 s, is longer than a caller should wait).
        self.timeout = _int(element, "timeout", 0, low=1) if "timeout" in element.attrs else None
        # follow-redirects and the buffering attributes are accepted as API
        # Management's defaults are: the gateway never follows redirects.

    def run(self, ctx):
        ctx.forward_timeout = self.timeout
        ctx.note(self.tag, self.scope, f"timeout {self.timeout}s" if self.timeout else "")


class SetHeader(Step):
    tag = "set-header"

    def __init__(self, element, section):
        super().__init__(element, section)
        self.name = element.attrs["name"]
        self.action = _choice(element, "exists-action", ("override", "skip", "append", "delete"), "override")
        self.values = [
            Value(v.text.strip(), v, f"a value of <{self.tag} name={self.name!r}>") for v in element.children
        ]

    def target(self, ctx: Context) -> Headers:
        if self.section in ("outbound",) or (self.section == "on-error" and ctx.response is not None):
            return ctx.response.headers  # type: ignore[union-attr]
        return ctx.request.headers

    def run(self, ctx):
        headers = self.target(ctx)
        if self.action == "delete":
            headers.delete(self.name)
            ctx.note(self.tag, self.scope, f"{self.name} deleted")
            return
        if self.action == "skip" and self.name in headers:
            ctx.note(self.tag, self.scope, f"{self.name} kept (skip)")
            return
        values = [_text(v(ctx, self.tag)) for v in self.values]
        if self.action == "append" and self.name in headers:
            for value in values:
                headers.append(self.name, value)
        else:
            headers.set(self.name, ", ".join(values))
        ctx.note(self.tag, self.scope, f"{self.name}: {', '.join(values)} ({self.action})")


class SetQueryParameter(SetHeader):
    tag = "set-query-parameter"

    def run(self, ctx):
        query = ctx.request.query
        present = any(k == self.name for k, _ in query)
        if self.action == "delete" or (self.action == "override" and present):
            query[:] = [(k, v) for k, v in query if k != self.name]
        if self.action == "delete":
            ctx.note(self.tag, self.scope, f"{self.name} deleted")
            return
        if self.action == "skip" and present:
            ctx.note(self.tag, self.scope, f"{self.name} kept (skip)")
            return
        values = [_text(v(ctx, self.tag)) for v in self.values]
        query.extend((self.name, value) for value in values)
        ctx.note(self.tag, self.scope, f"{self.name}={','.join(values)} ({self.action})")


class RewriteUri(Step):
    tag = "rewrite-uri"

    def __init__(self, element, section):
        super().__init__(element, section)
        raw = element.attrs["template"]
        if not raw.startswith("/"):
            raw = "/" + raw
        try:
            self.template = urltemplate.parse(raw)
        except urltemplate.TemplateError as e:
            raise element.error(f"Invalid template on <rewrite-uri>: {e}") from None
        self.copy_unmatched = _bool(element, "copy-unmatched-params", True)

    def run(self, ctx):
        request = ctx.request
        # The template's parameters take the values the call matched the
        # operation's template with (path and query parameters alike).
        values = dict(request.values)
        try:
            uri = self.template.expand(values)
        except urltemplate.ExpansionError as e:
            raise Failure(self.tag, str(e)) from None
        path, _, query = uri.partition("?")
        pairs = [(unquote(k), unquote(v)) for k, _, v in (p.partition("=") for p in query.split("&") if p)]
        if self.copy_unmatched:
            # Query parameters the operation's template does not name go along.
            named = set(request.template.query_params) if request.template else set()
            taken = {k for k, _ in pairs}
            pairs += [(k, v) for k, v in request.query if k not in named and k not in taken]
        request.path, request.query[:] = path, pairs
        ctx.note(self.tag, self.scope, request.path)


class SetBackendService(Step):
    tag = "set-backend-service"

    def __init__(self, element, section):
        super().__init__(element, section)
        if "base-url" not in element.attrs:
            raise element.error("<set-backend-service> needs the attribute 'base-url'.")
        self.base_url = Value(element.attrs["base-url"], element, "base-url")
        if self.base_url.literal and not self.base_url.text.startswith(("http://", "https://")):
            raise element.error("base-url on <set-backend-service> must be an http:// or https:// URL.")

    def run(self, ctx):
        url = _text(self.base_url(ctx, self.tag))
        if not url.startswith(("http://", "https://")):
            raise Failure(self.tag, "base-url is not an http:// or https:// URL.")
        ctx.request.base_url = url
        ctx.note(self.tag, self.scope, url)


class SetMethod(Step):
    tag = "set-method"

    def __init__(self, element, section):
        super().__init__(element, section)
        self.method = Value(element.text.strip(), element, "<set-method>")
        if self.method.literal and not self.method.text.isalpha():
            raise element.error(f"<set-method> needs an HTTP method, not {self.method.text!r}.")

    def run(self, ctx):
        method = _text(self.method(ctx, self.tag)).upper()
        if not method.isalpha():
            raise Failure(self.tag, f"{method!r} is not an HTTP method.")
        ctx.request.method = method
        ctx.note(self.tag, self.scope, method)


class Cors(Step):
    tag = "cors"

    def __init__(self, element, section):
        super().__init__(element, section)
        self.credentials = _bool(element, "allow-credentials", False)
        self.terminate = _bool(element, "terminate-unmatched-request", True)
        origins = element.child("allowed-origins")
        if origins is None or not origins.children:
            raise element.error("<cors> needs <allowed-origins> with at least one <origin>.")
        self.origins = [o.text.strip() for o in origins.children]
        self.any_origin = "*" in self.origins
        if self.any_origin and self.credentials:
            raise element.error("<cors> cannot allow credentials for any origin (*): list the origins.")
        methods = element.child("allowed-methods")
        self.max_age = _int(methods, "preflight-result-max-age", 0) if methods is not None else 0
        listed = [m.text.strip().upper() for m in methods.children] if methods is not None else []
        # API Management allows GET and POST when no methods are listed.
        self.methods = listed or ["GET", "POST"]
        self.any_method = "*" in self.methods
        headers = element.child("allowed-headers")
        self.headers = [h.text.strip() for h in headers.children] if headers is not None else []
        self.any_header = "*" in self.headers
        expose = element.child("expose-headers")
        self.expose = [h.text.strip() for h in expose.children] if expose is not None else []

    def origin_allowed(self, origin: str) -> bool:
        return self.any_origin or origin in self.origins

    def preflight(self, ctx: Context) -> Answer | None:
        """The answer to an OPTIONS preflight, made before any key check."""
        request = ctx.request
        origin = request.headers.get("Origin", "")
        method = request.headers.get("Access-Control-Request-Method", "").upper()
        wanted = [h.strip() for h in request.headers.get("Access-Control-Request-Headers", "").split(",") if h.strip()]
        ok = (
            self.origin_allowed(origin)
            and (self.any_method or method in self.methods)
            and (self.any_header or all(h.lower() in {x.lower() for x in self.headers} for h in wanted))
        )
        headers = Headers()
        if ok:
            headers.set("Access-Control-Allow-Origin", "*" if self.any_origin else origin)
            if self.credentials:
                headers.set("Access-Control-Allow-Credentials", "true")
            headers.set("Access-Control-Allow-Methods", method if self.any_method else ", ".join(self.methods))
            if wanted:
                headers.set("Access-Control-Allow-Headers", ", ".join(wanted))
            if self.max_age:
                headers.set("Access-Control-Max-Age", str(self.max_age))
            if not self.any_origin:
                headers.set("Vary", "Origin")
        ctx.note(self.tag, self.scope, f"preflight from {origin or '(no origin)'}: {'allowed' if ok else 'refused'}")
        if not ok and not self.terminate:
            return None  # terminate-unmatched-request="false": the call goes on
        return Answer(200, headers, b"")

    def run(self, ctx):
        origin = ctx.request.headers.get("Origin")
        if origin is None:
            return
        if not self.origin_allowed(origin):
            ctx.note(self.tag, self.scope, f"origin {origin} not allowed")
            return
        ctx.cors_headers["Access-Control-Allow-Origin"] = "*" if self.any_origin else origin
        if self.credentials:
            ctx.cors_headers["Access-Control-Allow-Credentials"] = "true"
        if self.expose:
            ctx.cors_headers["Access-Control-Expose-Headers"] = ", ".join(self.expose)
        if not self.any_origin:
            ctx.cors_headers["Vary"] = "Origin"
        ctx.note(self.tag, self.scope, f"origin {origin} allowed")


class IpFilter(Step):
    tag = "ip-filter"

    def __init__(self, element, section):
        super().__init__(element, section)
        self.allow = _choice(element, "action", ("allow", "forbid")) == "allow"
        self.ranges: list[tuple[Any, Any]] = []
        for child in element.children:
            try:
                if child.tag == "address":
                    one = ipaddress.ip_address(child.text.strip())
                    self.ranges.append((one, one))
                else:
                    low = ipaddress.ip_address(child.attrs["from"].strip())
                    high = ipaddress.ip_address(child.attrs["to"].strip())
                    if low.version != high.version or low > high:
                        raise child.error("<address-range> needs from ≤ to, both IPv4 or both IPv6.")
                    self.ranges.append((low, high))
            except ValueError as e:
                raise child.error(f"Not an IP address: {e}") from None

    def matches(self, ip: str | None) -> bool:
        if not ip:
            return False
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(low.version == address.version and low <= address <= high for low, high in self.ranges)

    def run(self, ctx):
        if self.matches(ctx.request.ip) != self.allow:
            ctx.note(self.tag, self.scope, f"{ctx.request.ip} refused")
            raise Refusal(self.tag, "CallerIpNotAllowed", f"Caller IP address {ctx.request.ip} is not allowed.", 403)
        ctx.note(self.tag, self.scope, f"{ctx.request.ip} allowed")


class CheckHeader(Step):
    tag = "check-header"

    def __init__(self, element, section):
        super().__init__(element, section)
        self.name = element.attrs["name"]
        self.code = _int(element, "failed-check-httpcode", low=100)
        if self.code > 599:
            raise element.error("failed-check-httpcode must be an HTTP status (100-599).")
        self.message = Value(element.attrs["failed-check-error-message"], element, "failed-check-error-message")
        self.ignore_case = _bool(element, "ignore-case", False)
        self.values = [Value(v.text.strip(), v, "a <value> of <check-header>") for v in element.children]

    def run(self, ctx):
        got = ctx.request.headers.get(self.name)
        reason = ""
        if got is None:
            reason = "HeaderNotFound"
        elif self.values:
            wanted = [_text(v(ctx, self.tag)) for v in self.values]
            given = [g.strip() for g in got.split(",")]
            if self.ignore_case:
                wanted, given = [w.lower() for w in wanted], [g.lower() for g in given]
            if not any(g in wanted for g in given):
                reason = "HeaderValueNotAllowed"
        if reason:
            message = _text(self.message(ctx, self.tag))
            ctx.note(self.tag, self.scope, f"{self.name}: {reason}")
            raise Refusal(self.tag, reason, message, self.code)
        ctx.note(self.tag, self.scope, f"{self.name} present")


class SetStatus(Step):
    tag = "set-status"

    def __init__(self, element, section):
        super().__init__(element, section)
        self.code = _int(element, "code", low=100)
        if self.code > 599:
            raise element.error("code on <set-status> must be an HTTP status (100-599).")
        self.reason = element.attrs.get("reason", "")

    def apply(self, response: Response) -> None:
        response.status, response.reason = self.code, self.reason

    def run(self, ctx):
        if ctx.response is None:
            raise Failure(self.tag, "There is no response to set the status of here.")
        self.apply(ctx.response)
        ctx.note(self.tag, self.scope, str(self.code))


class SetBody(Step):
    tag = "set-body"

    def __init__(self, element, section):
        super().__init__(element, section)
        self.body = Value(element.text.strip(), element, "<set-body>")

    def render(self, ctx: Context) -> bytes:
        return _text(self.body(ctx, self.tag)).encode()

    def run(self, ctx):
        if self.section in ("inbound", "backend"):
            ctx.request.body = self.render(ctx)
            ctx.request.headers.set("Content-Length", str(len(ctx.request.body)))
        elif ctx.response is not None:
            ctx.response.body = self.render(ctx)
        ctx.note(self.tag, self.scope)


class ReturnResponse(Step):
    tag = "return-response"

    def __init__(self, element, section):
        super().__init__(element, section)
        self.parts: list[Step] = []
        for child in element.children:
            self.parts.append(STEPS[child.tag](child, "outbound"))

    def run(self, ctx):
        answer = Answer(200, Headers(), b"")
        saved, ctx.response = ctx.response, answer
        try:
            for part in self.parts:
                part.run(ctx)
        finally:
            ctx.response = saved
        ctx.note(self.tag, self.scope, str(answer.status))
        raise _Stop(answer)


class Choose(Step):
    tag = "choose"

    def __init__(self, element, section):
        super().__init__(element, section)
        self.branches: list[tuple[Value | None, list[Step]]] = []
        for child in element.children:
            condition = None
            if child.tag == "when":
                condition = Value(child.attrs["condition"], child, "condition")
                if condition.expression is None:
                    raise child.error("condition on <when> must be an expression @( ... ).")
            self.branches.append((condition, compile_steps(child.children, section)))

    def run(self, ctx):
        for condition, steps in self.branches:
            if condition is not None:
                result = condition(ctx, self.tag)
                if not isinstance(result, bool):
                    raise Failure(self.tag, "A <when> condition must be true or false.")
                if not result:
                    continue
            ctx.note(self.tag, self.scope, "when" if condition is not None else "otherwise")
            run_steps(steps, ctx)
            return


class RateLimitByKey(Step):
    tag = "rate-limit-by-key"

    def __init__(self, element, section):
        super().__init__(element, section)
        self.calls = _int(element, "calls", low=1)
        self.period = _int(element, "renewal-period", low=1)
        self.key = Value(element.attrs["counter-key"], element, "counter-key")
        self.condition = (
            Value(element.attrs["increment-condition"], element, "increment-condition")
            if "increment-condition" in element.attrs
            else None
        )
        self.count = _int(element, "increment-count", 1, low=1)
        self.retry_header = element.attrs.get("retry-after-header-name", "")
        self.remaining_header = element.attrs.get("remaining-calls-header-name", "")
        self.total_header = element.attrs.get("total-calls-header-name", "")

    def counter(self, ctx: Context) -> str:
        value = _text(self.key(ctx, self.tag))
        # One counter per key value whatever scope it is used at, as in API
        # Management; hashed so that any text makes a short cache key.
        return "policy:" + hashlib.sha256(f"{self.tag}:{value}".encode()).hexdigest()[:32]

    def admit(self, ctx: Context, key: str, count: bool) -> Admission:
        return ctx.services.rate_limit(key, self.calls, self.period, count)

    def refusal(self, admission: Admission) -> Refusal:
        headers = {self.retry_header or "Retry-After": str(admission.retry_after)}
        return Refusal(
            self.tag,
            "RateLimitExceeded",
            f"Rate limit is exceeded. Try again in {admission.retry_after} seconds.",
            429,
            headers,
        )

    def run(self, ctx):
        key = self.counter(ctx)
        # Counted now, unless an increment-condition waits for the response.
        admission = self.admit(ctx, key, count=self.condition is None)
        if not admission.allowed:
            ctx.note(self.tag, self.scope, "limit reached")
            raise self.refusal(admission)
        if self.condition is not None:
            condition = self.condition

            def later(c: Context, key=key) -> None:
                if condition(c, self.tag) is True:
                    for _ in range(self.count):
                        self.admit(c, key, count=True)

            ctx.after.append(later)
        elif self.count > 1:
            for _ in range(self.count - 1):
                self.admit(ctx, key, count=True)
        if self.remaining_header:
            ctx.cors_headers[self.remaining_header] = str(admission.remaining)
        if self.total_header:
            ctx.cors_headers[self.total_header] = str(self.calls)
        ctx.note(self.tag, self.scope, f"{admission.remaining} of {self.calls} calls left")


class QuotaByKey(RateLimitByKey):
    tag = "quota-by-key"

    def __init__(self, element, section):
        Step.__init__(self, element, section)
        if "calls" not in element.attrs:
            raise element.error("<quota-by-key> needs the attribute 'calls'.")
        self.calls = _int(element, "calls", low=1)
        self.period = _int(element, "renewal-period", low=1)
        self.key = Value(element.attrs["counter-key"], element, "counter-key")
        self.condition = (
            Value(element.attrs["increment-condition"], element, "increment-condition")
            if "increment-condition" in element.attrs
            else None
        )
        self.count = 1
        self.retry_header = self.remaining_header = self.total_header = ""
        start = element.attrs.get("first-period-start")
        self.start = 0.0
        if start:
            try:
                parsed = datetime.fromisoformat(start.strip().replace("Z", "+00:00"))
            except ValueError:
                raise element.error(f"first-period-start must be a date and time (ISO 8601), not {start!r}.") from None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            self.start = parsed.timestamp()

    def admit(self, ctx, key, count):
        return ctx.services.quota(key, self.calls, self.period, self.start, count)

    def refusal(self, admission):
        seconds = admission.retry_after
        hhmmss = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        return Refusal(
            self.tag,
            "QuotaExceeded",
            f"Out of call volume quota. Quota will be replenished in {hhmmss}.",
            403,
            {"Retry-After": str(seconds)},
        )


class CacheLookup(Step):
    tag = "cache-lookup"

    def __init__(self, element, section):
        super().__init__(element, section)
        self.by_developer = _bool(element, "vary-by-developer", False)
        self.by_groups = _bool(element, "vary-by-developer-groups", False)
        self.private = _bool(element, "allow-private-response-caching", False)
        _choice(element, "caching-type", ("prefer-external", "external", "internal"), "prefer-external")
        self.downstream = _choice(element, "downstream-caching-type", ("none", "private", "public"), "none")
        self.must_revalidate = _bool(element, "must-revalidate", True)
        self.headers = [c.text.strip() for c in element.children if c.tag == "vary-by-header"]
        self.params = [c.text.strip() for c in element.children if c.tag == "vary-by-query-parameter"]

    def key(self, ctx: Context) -> str:
        request = ctx.request
        parts = [ctx.api_id or "", ctx.operation_id or "", request.path]
        parts += [f"q:{p}={request.query_value(p, '')}" for p in sorted(self.params)]
        parts += [f"h:{h.lower()}={request.headers.get(h, '')}" for h in sorted(self.headers)]
        if self.by_developer or self.by_groups:
            parts.append(f"u:{ctx.user_id or ''}")
        return "policy:cache:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def run(self, ctx):
        request = ctx.request
        if request.method != "GET":
            ctx.note(self.tag, self.scope, "skipped: only GET answers are cached")
            return
        if "Authorization" in request.headers and not self.private:
            # API Management does not cache calls that carry credentials
            # unless allow-private-response-caching says so.
            ctx.note(self.tag, self.scope, "skipped: the call has an Authorization header")
            return
        key = self.key(ctx)
        found = ctx.services.cache_get(key)
        if found is None:
            ctx.cache_key = key
            ctx.note(self.tag, self.scope, "miss")
            return
        headers = Headers(found["headers"])
        if self.downstream != "none":
            directive = "private" if self.downstream == "private" else "public"
            headers.set("Cache-Control", directive + (", must-revalidate" if self.must_revalidate else ""))
        ctx.cached = True
        ctx.note(self.tag, self.scope, "hit")
        raise _Stop(Answer(found["status"], headers, found["body"], found.get("reason", ""), outbound=True))


class CacheStore(Step):
    tag = "cache-store"

    def __init__(self, element, section):
        super().__init__(element, section)
        self.duration = _int(element, "duration", low=1)
        self.cache_response = (
            Value(element.attrs["cache-response"], element, "cache-response")
            if "cache-response" in element.attrs
            else None
        )

    def run(self, ctx):
        response = ctx.response
        if ctx.cache_key is None or ctx.cached or response is None:
            return
        if self.cache_response is not None:
            store = self.cache_response(ctx, self.tag)
            store = store is True or _text(store).lower() == "true"
        else:
            store = response.status == 200  # API Management caches 200 OK only by default
        if not store or response.body is None:
            ctx.note(self.tag, self.scope, "not stored")
            return
        headers = [(n, v) for n, v in response.headers.items() if n.lower() not in ("set-cookie",)]
        value = {"status": response.status, "reason": response.reason, "headers": headers, "body": response.body}
        ctx.services.cache_set(ctx.cache_key, value, self.duration)
        ctx.note(self.tag, self.scope, f"stored for {self.duration}s")


class MockResponse(Step):
    tag = "mock-response"

    def __init__(self, element, section):
        super().__init__(element, section)
        self.status = _int(element, "status-code", 0) or None
        self.content_type = element.attrs.get("content-type")

    def run(self, ctx):
        found = ctx.services.example(self.status, self.content_type)
        if found is None:
            status, content_type, body = self.status or 200, None, b""
        else:
            status, content_type, body = found
        headers = Headers([("Content-Type", content_type)] if content_type else [])
        ctx.mocked = True
        ctx.note(self.tag, self.scope, f"{status} {content_type or ''}".strip())
        raise _Stop(Answer(status, headers, body))


ACTIONS = ("prevent", "detect", "ignore")


class ValidateContent(Step):
    tag = "validate-content"

    def __init__(self, element, section):
        super().__init__(element, section)
        self.unspecified = _choice(element, "unspecified-content-type-action", ACTIONS)
        self.max_size = _int(element, "max-size", 0)
        if self.max_size > 4 * 1024 * 1024:
            raise element.error("max-size on <validate-content> may be at most 4194304 bytes (4 MB).")
        self.size_action = _choice(element, "size-exceeded-action", ACTIONS, "prevent" if self.max_size else "ignore")
        if "size-exceeded-action" in element.attrs and not self.max_size:
            raise element.error("size-exceeded-action on <validate-content> needs max-size.")
        self.contents: list[tuple[str, str]] = []
        for child in element.children:
            kind = child.attrs.get("validate-as", "json")
            if kind != "json":
                raise child.error(f"Portico validates JSON bodies only, not {kind!r}.")
            action = _choice(child, "action", ACTIONS, "prevent")
            self.contents.append((child.attrs.get("type", "").lower(), action))

    def refuse(self, ctx: Context, action: str, message: str) -> None:
        if action == "ignore":
            return
        ctx.note(self.tag, self.scope, f"{action}: {message}")
        if action == "prevent":
            raise Refusal(self.tag, "ValidationError", message, 400)

    def run(self, ctx):
        request = ctx.request
        body = request.body or b""
        if self.max_size and len(body) > self.max_size:
            self.refuse(
                ctx,
                self.size_action,
                f"Request's body is {len(body)} bytes long and it exceeds the configured limit of {self.max_size} bytes.",
            )
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        schema, declared = ctx.services.request_schema(content_type)
        listed = {t: a for t, a in self.contents}
        if content_type not in [d.lower() for d in declared] and content_type not in listed:
            self.refuse(
                ctx,
                self.unspecified,
                f"Content type {content_type or '(none)'} is not allowed. Allowed content types: {', '.join(declared) or '(none)'}.",
            )
            return
        action = listed.get(content_type, self.contents[0][1] if self.contents and not listed else "ignore")
        if content_type in listed:
            action = listed[content_type]
        if action == "ignore" or schema is None or not content_type.endswith("json"):
            ctx.note(self.tag, self.scope, "passed")
            return
        try:
            document = json.loads(body or b"null")
        except ValueError as e:
            self.refuse(ctx, action, f"Body of the request is not valid JSON. {e}")
            return
        problem = first_schema_error(schema, document)
        if problem:
            self.refuse(
                ctx,
                action,
                f"Body of the request does not conform to the definition which is associated with the content type {content_type}. {problem}",
            )
            return
        ctx.note(self.tag, self.scope, "passed")


def first_schema_error(schema: dict, document: Any) -> str:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is None:
        return ""
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{error.message}" + (f" (at {where})" if where else "")


class ValidateParameters(Step):
    tag = "validate-parameters"

    def __init__(self, element, section):
        super().__init__(element, section)
        self.specified = _choice(element, "specified-parameter-action", ACTIONS)
        self.unspecified = _choice(element, "unspecified-parameter-action", ACTIONS)
        # Per location (headers, query, path) and per parameter overrides.
        self.by_location: dict[str, tuple[str, str]] = {}
        self.by_name: dict[tuple[str, str], str] = {}
        for child in element.children:
            location = {"headers": "header", "query": "query", "path": "template"}[child.tag]
            self.by_location[location] = (
                _choice(child, "specified-parameter-action", ACTIONS, self.specified),
                _choice(child, "unspecified-parameter-action", ACTIONS, self.unspecified),
            )
            for parameter in child.children:
                self.by_name[(location, parameter.attrs["name"].lower())] = _choice(parameter, "action", ACTIONS)

    def actions(self, location: str) -> tuple[str, str]:
        return self.by_location.get(location, (self.specified, self.unspecified))

    def run(self, ctx):
        request = ctx.request
        declared = ctx.services.parameters()
        names = {(p["location"], p["name"].lower()) for p in declared}
        if request.template is not None:
            names |= {("query", item.key.lower()) for item in request.template.query}
        for p in declared:
            location, name = p["location"], p["name"]
            action = self.by_name.get((location, name.lower()), self.actions(location)[0])
            if action == "ignore":
                continue
            if location == "header":
                value = request.headers.get(name)
            else:
                # Template and query parameters are named as in the
                # operation's URL template (apiversion for api-version=...).
                value = request.values.get(name)
                if value is None and location == "query":
                    value = request.query_value(name)
            problem = ""
            if value is None or value == "":
                if p.get("required"):
                    problem = f"Parameter '{name}' is required"
            else:
                problem = _parameter_problem(name, value, p)
            if problem:
                self.refuse(ctx, action, f"{problem} (in {location}).")
        for location, given in (("query", [k for k, _ in request.query]), ("header", [])):
            unspecified = self.actions(location)[1]
            if unspecified == "ignore":
                continue
            for name in given:
                if (location, name.lower()) not in names:
                    self.refuse(ctx, unspecified, f"Unspecified {location} parameter '{name}' is not allowed.")
        ctx.note(self.tag, self.scope, "passed")

    def refuse(self, ctx: Context, action: str, message: str) -> None:
        ctx.note(self.tag, self.scope, f"{action}: {message}")
        if action == "prevent":
            raise Refusal(self.tag, "ValidationError", message, 400)


def _parameter_problem(name: str, value: str, p: dict) -> str:
    kind = p.get("type") or "string"
    if kind == "integer":
        try:
            int(value)
        except ValueError:
            return f"Parameter '{name}' must be an integer, not '{value}'"
    if kind == "number":
        try:
            float(value)
        except ValueError:
            return f"Parameter '{name}' must be a number, not '{value}'"
    if kind == "boolean" and value.lower() not in ("true", "false"):
        return f"Parameter '{name}' must be true or false, not '{value}'"
    choices = p.get("choices") or []
    if choices and value not in choices:
        return f"Parameter '{name}' must be one of {', '.join(choices)}, not '{value}'"
    return ""


STEPS: dict[str, type[Step]] = {
    cls.tag: cls
    for cls in (
        ForwardRequest,
        SetHeader,
        SetQueryParameter,
        RewriteUri,
        SetBackendService,
        SetMethod,
        Cors,
        IpFilter,
        CheckHeader,
        SetStatus,
        SetBody,
        ReturnResponse,
        Choose,
        RateLimitByKey,
        QuotaByKey,
        CacheLookup,
        CacheStore,
        MockResponse,
        ValidateContent,
        ValidateParameters,
    )
}


def compile_steps(elements: list[Element], section: str) -> list[Step]:
    return [STEPS[e.tag](e, section) for e in elements if e.tag != "base"]


def run_steps(steps: list[Step], ctx: Context) -> None:
    for step in steps:
        step.run(ctx)


# ------------------------------------------------------------- the pipeline


class Pipeline:
    """The compiled policies of one operation (for one product)."""

    def __init__(self, merged: dict[str, list[Element]]):
        self.sections = {s: compile_steps(merged.get(s, []), s) for s in SECTIONS}
        backend = self.sections["backend"]
        forwards = [i for i, step in enumerate(backend) if isinstance(step, ForwardRequest)]
        self.forwards = bool(forwards)
        cut = forwards[0] + 1 if forwards else len(backend)
        self.before_forward = backend[:cut]
        # Statements after forward-request in <backend> see the response.
        self.after_forward = backend[cut:]
        self.cors = next((s for s in self.sections["inbound"] if isinstance(s, Cors)), None)
        self.empty = not any(self.sections[s] for s in ("inbound", "outbound", "on-error")) and all(
            isinstance(s, ForwardRequest) and s.timeout is None for s in backend
        )

    def preflight(self, ctx: Context) -> Answer | None:
        """API Management answers a CORS preflight from the first <cors> of
        the inbound section, before the subscription key is checked."""
        request = ctx.request
        if self.cors is None or request.method != "OPTIONS":
            return None
        if "Origin" not in request.headers or "Access-Control-Request-Method" not in request.headers:
            return None
        ctx.section = "inbound"
        return self.cors.preflight(ctx)

    def request(self, ctx: Context) -> Answer | None:
        """Inbound and backend up to forward-request. None: forward
        ``ctx.request`` (when ``self.forwards``); else the answer to send."""
        try:
            ctx.section = "inbound"
            run_steps(self.sections["inbound"], ctx)
            ctx.section = "backend"
            run_steps(self.before_forward, ctx)
        except _Stop as stop:
            return stop.answer
        except (Refusal, Failure) as e:
            return self._on_error(ctx, e)
        if not self.forwards:
            # No forward-request: API Management answers with an empty 200.
            return Answer(200, Headers(), b"", outbound=True)
        return None

    def response(self, ctx: Context, response: Response) -> Response:
        """Backend statements after forward-request and the outbound section,
        over the backend's response (or a cache hit)."""
        ctx.response = response
        try:
            for later in ctx.after:
                later(ctx)
            ctx.section = "backend"
            if not isinstance(response, Answer):
                run_steps(self.after_forward, ctx)
            ctx.section = "outbound"
            run_steps(self.sections["outbound"], ctx)
        except _Stop as stop:
            return stop.answer or response
        except (Refusal, Failure) as e:
            return self._on_error(ctx, e)
        return ctx.response or response

    def failed(self, ctx: Context, error: LastError, response: Response) -> Response:
        """A failure outside the policies (the backend unreachable): <on-error>
        may change ``response``, the gateway's own error answer."""
        ctx.last_error, ctx.response = error, response
        return self._run_on_error(ctx, response)

    def _on_error(self, ctx: Context, e: Refusal | Failure) -> Answer:
        ctx.last_error = e.error
        if isinstance(e, Refusal):
            ctx.refused = e.error.source
            prepared = error_answer(e.status, e.error.message, e.headers)
        else:
            ctx.failed = e.error.source
            prepared = error_answer(500, INTERNAL_ERROR)
        ctx.note(e.error.source, "", f"error: {e.error.message}")
        return self._run_on_error(ctx, prepared)  # type: ignore[return-value]

    def _run_on_error(self, ctx: Context, prepared: Response) -> Response:
        ctx.section, ctx.response = "on-error", prepared
        try:
            run_steps(self.sections["on-error"], ctx)
        except _Stop as stop:
            return stop.answer or prepared
        except (Refusal, Failure) as e:
            # A failure inside on-error is not handled again.
            ctx.failed = ctx.failed or e.error.source
            ctx.note(e.error.source, "", f"error in on-error: {e.error.message}")
            return error_answer(500, INTERNAL_ERROR)
        return ctx.response or prepared


def check(root: Element) -> None:
    """Compile every section of one scope's document, to report the errors
    only compilation finds (expressions, numbers, addresses) when it is saved."""
    for section in SECTIONS:
        own = root.child(section)
        if own is not None:
            compile_steps(own.children, section)


def load(text: str) -> Element:
    """Parse and compile one scope's document: PolicyError (line, column,
    reason) for the first problem, whether the parser or the compiler finds it."""
    root = parse(text)
    check(root)
    return root
