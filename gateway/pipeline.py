"""The gateway as a pipeline of named steps, without Django or a server.

One call goes route -> authenticate -> admit -> [inbound policies] -> forward
-> answer -> [outbound policies] -> record. Each step is a function of the
call's state (a ``Trip``) and of ``Ports``, the outside world (the catalog,
the key store, the counters, the backend's client, the call records), which a
server adapter provides: ``gateway.asgi`` on the event loop, ``gateway.views``
for Django's own handler (its test client, the console's in-process
transport). A step that refuses the call raises ``Refused`` with a name from
REFUSALS, the one table of the gateway's own errors.

Policies plug in at two seams (see ``Ports.inbound`` / ``Ports.outbound`` /
``Ports.on_error``): inbound runs once the call is admitted and before it is
forwarded, and may answer it itself; outbound runs on the backend's answer
before it goes back; on-error runs on every refusal or failure.
"""

from __future__ import annotations

import asyncio
import http.cookies
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from gateway import httputil
from gateway.limits import hhmmss
from subscriptions import keys

log = logging.getLogger("gateway")

REQUEST_ID_HEADER = "X-Portico-Request-Id"

# Call outcomes, as stored in Call.outcome.
SUCCESS, CLIENT_ERROR, UNAUTHORIZED, THROTTLED, QUOTA, NO_MATCH, BACKEND_ERROR, BAD_REQUEST, UNAVAILABLE = (
    "success",
    "client_error",
    "unauthorized",
    "throttled",
    "quota",
    "no_match",
    "backend_error",
    "bad_request",
    "unavailable",
)

MISSING_KEY = "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."
INVALID_KEY = (
    "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."
)
NOT_FOUND = "Resource not found"
BAD_HEADER = "Invalid request header: header values cannot contain CR or LF."
UNREACHABLE = "Bad gateway: the backend service could not be reached or closed the connection."


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str  # str.format()ed with the Refused's details
    outcome: str
    retry_after: bool = False


# Every answer the gateway makes itself, API Management style.
REFUSALS: dict[str, Refusal] = {
    "no-route": Refusal(404, NOT_FOUND, NO_MATCH),
    "bad-path": Refusal(400, "Invalid request path. {detail}", BAD_REQUEST),
    "bad-query": Refusal(
        400, "Invalid query string: spaces, control and non-ASCII characters must be percent-encoded.", BAD_REQUEST
    ),
    "missing-key": Refusal(401, MISSING_KEY, UNAUTHORIZED),
    "invalid-key": Refusal(401, INVALID_KEY, UNAUTHORIZED),
    "rate": Refusal(429, "Rate limit is exceeded. Try again in {retry_after} seconds.", THROTTLED, True),
    "quota": Refusal(403, "Out of call volume quota. Quota will be replenished in {renewal}.", QUOTA, True),
    "bad-length": Refusal(400, "Invalid Content-Length header.", BAD_REQUEST),
    "chunked": Refusal(411, "Length required: send the request body with a Content-Length.", BAD_REQUEST),
    "too-large": Refusal(
        413, "Request entity too large: the gateway accepts bodies of at most {limit} bytes.", BAD_REQUEST
    ),
    "bad-header": Refusal(400, BAD_HEADER, BAD_REQUEST),
    "unreachable": Refusal(502, UNREACHABLE, BACKEND_ERROR),
    "not-forwarded": Refusal(
        502, "Bad gateway: the call could not be forwarded to the backend service.", BACKEND_ERROR
    ),
    "answer-too-large": Refusal(
        502, "Bad gateway: the backend's response is larger than {limit} bytes.", BACKEND_ERROR
    ),
    "timeout": Refusal(
        504, "Gateway timeout: the backend service did not answer within {seconds:g} seconds.", BACKEND_ERROR
    ),
    "internal": Refusal(500, "Internal gateway error.", BACKEND_ERROR),
    # Redis down and GATEWAY_COUNTERS_FAIL_OPEN off: no limit is ever passed.
    "counters-down": Refusal(
        503,
        "Service unavailable: the rate limit and quota cannot be checked right now. Try again later.",
        UNAVAILABLE,
    ),
}


class Refused(Exception):
    def __init__(self, name: str, **details: Any):
        super().__init__(name)
        self.name, self.details = name, details
        self.refusal = REFUSALS[name]


# --- what goes in and what comes out ----------------------------------------


@dataclass
class Incoming:
    """One request as the server received it."""

    method: str
    raw_path: str  # as sent on the request line, still percent-encoded
    query: str  # raw, without '?'
    headers: list[tuple[str, str]]  # names in any case, in order
    client_ip: str | None
    scheme: str  # http or https, as the caller used
    host: str  # the Host the caller used
    # Reads up to n bytes of the body; b"" at its end.
    read: Callable[[int], Awaitable[bytes]] | None = None
    # When the caller stops waiting, as a time.perf_counter() value: set only
    # by the console's in-process transport (httputil.CALLER_DEADLINE). The
    # backend is given no longer, so the console's thread is free at its deadline.
    deadline: float | None = None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    reason: str = ""
    # A body too large to hold: the chunks, in order. It raises if the backend
    # broke off, and the server must then abort the caller's connection.
    stream: AsyncIterator[bytes] | None = None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


def refusal_answer(refused: Refused) -> Answer:
    r = refused.refusal
    message = r.message.format(**refused.details) if refused.details else r.message
    headers = [("Content-Type", "application/json")]
    if r.retry_after:
        headers.append(("Retry-After", str(refused.details["retry_after"])))
    body = json.dumps({"statusCode": r.status, "message": message}).encode()
    headers.append(("Content-Length", str(len(body))))
    return Answer(r.status, headers, body)


# --- the state of one call, ending as a call record --------------------------


@dataclass
class Record:
    """A Call row, as plain values (see records.COLUMNS)."""

    created: datetime
    request_id: str
    method: str
    client_ip: str | None
    path: str = ""
    api_id: int | None = None
    operation_id: int | None = None
    product_id: int | None = None
    subscription_id: int | None = None
    user_id: int | None = None
    status: int = 0
    outcome: str = ""
    total_ms: float = 0.0
    backend_ms: float | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    # The policy that answered, refused or failed (cache-lookup, ip-filter, ...).
    policy: str = ""


@dataclass
class Outgoing:
    """The request as the inbound policies left it, to forward instead of
    the caller's own (see Ports.inbound)."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes | None = None  # None: the caller's body, read as usual
    read_timeout: float | None = None


@dataclass
class Trip:
    incoming: Incoming
    record: Record
    t0: float = field(default_factory=time.perf_counter)
    extra_headers: list[tuple[str, str]] = field(default_factory=list)
    route: Any = None  # routing.ApiRoute
    op_path: str = ""
    query: str = ""  # the query to forward: the key taken out
    query_key: str | None = None
    holder: Any = None  # the subscription the key belongs to (models.KeyHolder)
    t_backend: float = 0.0
    # Set by the policy seams: what to forward, the outcome to record
    # (cached, mocked, refused by a policy...), the policies' own state.
    outgoing: Outgoing | None = None
    outcome: str = ""
    policies: Any = None


@dataclass(frozen=True)
class Config:
    prefix: str  # "/gateway/": where the gateway is mounted
    enforce_scheme: bool
    connect_timeout: float
    read_timeout: float
    max_request_bytes: int
    max_response_bytes: int
    portal_cookies: frozenset[str]


@dataclass(frozen=True)
class Upstream:
    """The backend's answer, its body not yet read."""

    status: int
    reason: str
    headers: list[tuple[str, str]]  # raw, duplicates kept
    read: Callable[[], Awaitable[bytes]]  # the whole (small) body
    chunks: Callable[[], AsyncIterator[bytes]]
    release: Callable[[bool], None]  # True: read to its end, the connection can be reused


class Ports(Protocol):
    """The outside world of the pipeline, provided by a server adapter."""

    def config(self) -> Config: ...
    async def route_for(self, suffix: str) -> Any: ...
    async def key_holder(self, key: str) -> Any: ...
    # counters.Decision for one call of this key's subscription; outcome
    # "stale" when the key's cached state is out of date (forgotten by then),
    # never for a key just read (fresh).
    async def admit(self, key: Any, fresh: bool = False) -> Any: ...
    async def forward(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes | AsyncIterator[bytes] | None,
        read_timeout: float | None = None,
    ) -> Upstream: ...
    async def record(self, record: Record) -> None: ...
    # Policy seams (the policy engine): preflight may answer a CORS preflight
    # before any key is asked for; inbound may return an Answer to send
    # instead of forwarding, or set trip.outgoing; outbound and on_error
    # return the answer to send.
    async def preflight(self, trip: Trip) -> Answer | None: ...
    async def inbound(self, trip: Trip) -> Answer | None: ...
    async def outbound(self, trip: Trip, answer: Answer) -> Answer: ...
    async def on_error(self, trip: Trip, answer: Answer) -> Answer: ...


# Bodies up to this size are read whole: simpler and faster than streaming.
BUFFER_LIMIT = 256 * 1024
CHUNK = 64 * 1024
# Set by the server that answers the caller; the backend's would be duplicates.
RESPONSE_SKIP = frozenset(["date", "server", "content-length"])
# Never forwarded from the caller: the gateway sets or drops these.
REQUEST_SKIP = frozenset(
    [
        "host",
        "content-length",
        httputil.KEY_HEADER,
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        httputil.SUBSCRIPTION_HEADER.lower(),
    ]
)


# --- the steps ---------------------------------------------------------------


async def route(trip: Trip, ports: Ports, config: Config) -> None:
    """Which API and operation: 404 for none, 400 for a path or query that
    cannot be forwarded as it is."""
    incoming, record = trip.incoming, trip.record
    raw_path = incoming.raw_path
    query, trip.query_key = httputil.split_key_from_query(incoming.query)
    trip.query = query
    record.path = (raw_path + ("?" + query if query else ""))[:2000]
    if not raw_path.startswith(config.prefix):
        raise Refused("no-route")
    try:
        suffix, op_path = httputil.split_gateway_path(raw_path[len(config.prefix) :])
    except httputil.BadPath as e:
        raise Refused("bad-path", detail=str(e)) from None
    if not httputil.valid_query(incoming.query):
        raise Refused("bad-query")
    found_api = await ports.route_for(suffix)
    if found_api is None:
        raise Refused("no-route")
    record.api_id = found_api.id
    if config.enforce_scheme and incoming.scheme not in found_api.url_schemes:
        # API Management does not expose an API on a scheme it does not allow.
        raise Refused("no-route")
    # API Management answers 404, not 405, when only the verb does not fit.
    found = found_api.router.match(incoming.method, op_path, query)
    trip.route, trip.op_path = found_api, op_path
    if found is None:
        if incoming.method == "OPTIONS":
            return  # perhaps a CORS preflight (Ports.preflight), else 404
        raise Refused("no-route")
    record.operation_id = found.key


def key_of(trip: Trip) -> str | None:
    key = trip.incoming.header(httputil.KEY_HEADER)
    return trip.query_key if key is None else key


async def authenticate(trip: Trip, ports: Ports, config: Config) -> None:
    """Whose call: the subscription holding the key, if it is active and its
    product has this API; 401 when the API needs one and there is none."""
    key = key_of(trip)
    trip.holder = None
    if keys.is_well_formed(key):
        holder = await ports.key_holder(key)
        if holder is not None and holder.is_active and holder.product_id in trip.route.product_ids:
            trip.holder = holder
    if trip.route.subscription_required:
        if not key:
            raise Refused("missing-key")
        if trip.holder is None:
            raise Refused("invalid-key")
    holder, record = trip.holder, trip.record
    if holder is not None:
        record.subscription_id, record.product_id, record.user_id = holder.id, holder.product_id, holder.user_id
    else:
        record.subscription_id = record.product_id = record.user_id = None


async def admit(trip: Trip, ports: Ports, config: Config) -> None:
    """Rate limit (429) and quota (403) of the subscription's product; the
    key's validity is confirmed in the same round trip (see Ports.admit)."""
    if trip.holder is None:
        return
    decision = await ports.admit(trip.holder)
    if decision.outcome == "stale":
        # The subscription changed since its key was cached (in this process
        # or another): read it again, and count the call against what it is now.
        await authenticate(trip, ports, config)
        if trip.holder is None:
            return
        decision = await ports.admit(trip.holder, fresh=True)
    limits = trip.holder.limits
    if decision.rate_remaining is not None:
        trip.extra_headers.append(("X-RateLimit-Limit", str(limits.rate_calls)))
        trip.extra_headers.append(("X-RateLimit-Remaining", str(decision.rate_remaining)))
    if decision.quota_remaining is not None:
        trip.extra_headers.append(("X-Quota-Limit", str(limits.quota_calls)))
        trip.extra_headers.append(("X-Quota-Remaining", str(decision.quota_remaining)))
    if decision.outcome == "rate":
        raise Refused("rate", retry_after=decision.retry_after)
    if decision.outcome == "quota":
        raise Refused("quota", retry_after=decision.retry_after, renewal=hhmmss(decision.quota_renewal))


def request_headers(trip: Trip, config: Config) -> list[tuple[str, str]]:
    """The caller's headers minus hop-by-hop ones, the key and the portal's
    cookies; X-Forwarded-* set. 400 for CR/LF in a value."""
    incoming = trip.incoming
    named = httputil.connection_tokens(v for k, v in incoming.headers if k.lower() == "connection")
    headers: list[tuple[str, str]] = []
    previous = None
    for name, value in incoming.headers:
        lowered = name.lower()
        if lowered == "x-forwarded-for":
            previous = value if previous is None else f"{previous}, {value}"
        if httputil.is_hop_by_hop(name, named) or lowered in REQUEST_SKIP:
            continue
        if "\r" in value or "\n" in value:
            raise Refused("bad-header")
        if lowered == "cookie":
            # The gateway shares the portal's address: the caller's portal
            # session must not reach a backend.
            value = httputil.without_cookies(value, config.portal_cookies)
            if not value:
                continue
        headers.append((name, value))
    remote = incoming.client_ip or ""
    headers.append(("X-Forwarded-For", f"{previous}, {remote}" if previous else remote))
    headers.append(("X-Forwarded-Host", incoming.host))
    headers.append(("X-Forwarded-Proto", incoming.scheme or "http"))
    # Whose call, for the backend (the ML service scopes BES jobs by it).
    holder = trip.holder
    headers.append((httputil.SUBSCRIPTION_HEADER, str(holder.id) if holder is not None else "none"))
    return headers


async def _body_stream(read: Callable[[int], Awaitable[bytes]], length: int) -> AsyncIterator[bytes]:
    sent = 0
    while sent < length:
        chunk = await read(min(CHUNK, length - sent))
        if not chunk:
            break
        sent += len(chunk)
        yield chunk


async def forward(trip: Trip, ports: Ports, config: Config) -> Upstream:
    """Send the call to the API's service URL, the path exactly as the caller
    encoded it; 400/411/413 for a body the gateway does not take, 502/504 when
    the backend cannot be reached in time."""
    incoming = trip.incoming
    declared = incoming.header("content-length")
    try:
        length = int(declared or 0)
        if length < 0:
            raise ValueError
    except ValueError:
        raise Refused("bad-length") from None
    if not declared and incoming.header("transfer-encoding"):
        raise Refused("chunked")
    if length > config.max_request_bytes:
        raise Refused("too-large", limit=config.max_request_bytes)
    trip.record.bytes_in = length
    out = trip.outgoing
    if out is None:
        headers = request_headers(trip, config)
    else:
        headers = [(n, v) for n, v in out.headers if n.lower() != "content-length"]
    body: bytes | AsyncIterator[bytes] | None = None
    if out is not None and out.body is not None:
        body = out.body
        if body:
            headers.append(("Content-Length", str(len(body))))
    elif length and incoming.read is not None:
        body = await incoming.read(length) if length <= BUFFER_LIMIT else _body_stream(incoming.read, length)
        headers.append(("Content-Length", str(length)))
    url = trip.route.service_url + trip.op_path + ("?" + trip.query if trip.query else "")
    method = incoming.method
    if out is not None:
        method, url = out.method, out.url
    trip.t_backend = time.perf_counter()
    try:
        if out is not None and out.read_timeout:
            sent = ports.forward(method, url, headers, body, out.read_timeout)
        else:
            sent = ports.forward(method, url, headers, body)
        if incoming.deadline is None:
            return await sent
        left = max(0.05, incoming.deadline - trip.t_backend)
        try:
            return await asyncio.wait_for(sent, left)
        except TimeoutError:
            raise Refused("timeout", seconds=round(left, 1)) from None
    finally:
        trip.record.backend_ms = (time.perf_counter() - trip.t_backend) * 1000


def response_headers(upstream: Upstream, config: Config) -> list[tuple[str, str]]:
    """The backend's headers minus hop-by-hop ones and the portal's cookies,
    sandboxed by CSP."""
    named = httputil.connection_tokens(v for k, v in upstream.headers if k.lower() == "connection")
    merged: dict[str, tuple[str, list[str]]] = {}
    cookies: list[str] = []
    for name, value in upstream.headers:
        lowered = name.lower()
        if httputil.is_hop_by_hop(name, named) or lowered in RESPONSE_SKIP:
            continue
        if lowered == "set-cookie":
            jar = http.cookies.SimpleCookie()
            try:
                jar.load(value)
            except http.cookies.CookieError:
                continue
            cookies.extend(m.OutputString() for m in jar.values() if m.key not in config.portal_cookies)
            continue
        merged.setdefault(lowered, (name, []))[1].append(value)
    headers = [
        (name, ", ".join(values)) for name, values in merged.values() if name.lower() != "content-security-policy"
    ]
    # Whatever a backend answers (HTML, script) is shown on the portal's own
    # address: sandboxed, it can neither run script nor reach the portal's cookies.
    policy = merged.get("content-security-policy")
    headers.append(("Content-Security-Policy", f"{', '.join(policy[1])}; sandbox" if policy else "sandbox"))
    headers.extend(("Set-Cookie", c) for c in cookies)
    return headers


def outcome_of(status: int) -> str:
    """The outcome of a call the gateway forwarded, from the backend's status:
    a backend's own 4xx (a wrong API key, a bad body) is a client error, counted
    apart as API Management's analytics does."""
    if status >= 500:
        return BACKEND_ERROR
    if status >= 400:
        return CLIENT_ERROR
    return SUCCESS


class BrokenStream(Exception):
    """The backend's streamed answer broke off or grew past the limit: the
    server must abort the caller's connection, not end it cleanly."""


async def answer(trip: Trip, upstream: Upstream, config: Config) -> Answer:
    """The backend's answer for the caller: small bodies read whole (502 when
    short or broken), large ones streamed; 502 for one over the size limit."""
    record = trip.record
    declared = next((v for k, v in upstream.headers if k.lower() == "content-length"), "")
    max_out = config.max_response_bytes
    if declared.isdigit() and int(declared) > max_out:
        upstream.release(False)
        raise Refused("answer-too-large", limit=max_out)
    head = trip.incoming.method == "HEAD"
    no_body = head or upstream.status in (204, 304) or upstream.status < 200
    headers = response_headers(upstream, config)
    if no_body or (declared.isdigit() and int(declared) <= BUFFER_LIMIT):
        try:
            content = b"" if no_body else await upstream.read()
        except Exception:
            content = None
        record.backend_ms = (time.perf_counter() - trip.t_backend) * 1000
        complete = content is not None and (no_body or len(content) == int(declared))
        upstream.release(complete)
        if not complete:
            raise Refused("unreachable")
        assert content is not None
        # A HEAD answer tells the length of the body a GET would get.
        length = declared if head and declared.isdigit() else str(len(content))
        if not (head and not declared.isdigit()):
            headers.append(("Content-Length", length))
        return Answer(upstream.status, headers, content, upstream.reason)

    # A large or unsized body streams through; the call is recorded once the
    # last byte has gone (or the stream broke).
    if declared.isdigit():
        headers.append(("Content-Length", declared))

    async def stream() -> AsyncIterator[bytes]:
        sent, complete = 0, False
        try:
            async for chunk in upstream.chunks():
                sent += len(chunk)
                if sent > max_out:
                    raise BrokenStream(f"answer over {max_out} bytes")
                yield chunk
            if declared.isdigit() and sent != int(declared):
                raise BrokenStream("answer shorter than its Content-Length")
            complete = True
        except Exception as e:
            record.outcome = BACKEND_ERROR
            log.warning("Backend stream broke for call %s", record.request_id)
            if isinstance(e, BrokenStream):
                raise
            raise BrokenStream(str(e) or type(e).__name__) from e
        finally:
            # Unread bytes would poison the next call on this connection.
            upstream.release(complete)
            record.bytes_out = sent

    return Answer(upstream.status, headers, reason=upstream.reason, stream=stream())


# --- the whole call ----------------------------------------------------------


def new_record(incoming: Incoming) -> Record:
    return Record(
        created=datetime.now(UTC),
        request_id=uuid.uuid4().hex,
        method=incoming.method[:10],
        client_ip=incoming.client_ip,
    )


async def handle(incoming: Incoming, ports: Ports) -> Answer:
    """One call, from the request to the answer; the call is recorded once its
    answer is complete (at once, or when a stream ends)."""
    trip = Trip(incoming, new_record(incoming))
    config = ports.config()
    try:
        try:
            await route(trip, ports, config)
            result = await ports.preflight(trip)
            if result is None:
                if trip.record.operation_id is None:
                    raise Refused("no-route")
                await authenticate(trip, ports, config)
                await admit(trip, ports, config)
                result = await ports.inbound(trip)
            if result is None:
                upstream = await forward(trip, ports, config)
                result = await answer(trip, upstream, config)
                result = await ports.outbound(trip, result)
            outcome = outcome_of(result.status)
        except Refused as refused:
            result, outcome = refusal_answer(refused), refused.refusal.outcome
            result = await ports.on_error(trip, result)
    except Exception:
        # Whatever went wrong, the caller gets a JSON answer and the call is recorded.
        log.exception("Gateway failure for call %s", trip.record.request_id)
        result, outcome = refusal_answer(Refused("internal")), BACKEND_ERROR
    return await finish(trip, result, outcome, ports)


async def finish(trip: Trip, result: Answer, outcome: str, ports: Ports) -> Answer:
    result.headers.append((REQUEST_ID_HEADER, trip.record.request_id))
    result.headers.extend(trip.extra_headers)
    record = trip.record
    record.status, record.outcome = result.status, trip.outcome or outcome
    if result.stream is None:
        record.bytes_out = len(result.body)
        await _save(trip, ports)
        return result
    inner = result.stream

    async def recorded() -> AsyncIterator[bytes]:
        try:
            async for chunk in inner:
                yield chunk
        finally:
            await _save(trip, ports)

    result.stream = recorded()
    return result


async def _save(trip: Trip, ports: Ports) -> None:
    record = trip.record
    record.total_ms = (time.perf_counter() - trip.t0) * 1000
    try:
        await ports.record(record)
    except Exception:
        log.exception("Could not record call %s", record.request_id)
