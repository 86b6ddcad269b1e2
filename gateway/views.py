"""The gateway: GATEWAY_URL/{api suffix}{operation path}?{query}.

For each request: route (404), key (401), rate limit (429) and quota (403),
forward (502/504), answer, and record the call whatever happened.

The contract callers (curl, the Try It console) rely on:
- the key in the Ocp-Apim-Subscription-Key header or the subscription-key
  query parameter; neither is forwarded nor recorded;
- errors the gateway makes are JSON in the API Management style,
  {"statusCode": N, "message": "..."}: 400 (a path with '..', encoded '/',
  '\\' or NUL, raw spaces or non-ASCII; CR/LF in a header; a bad
  Content-Length), 401 (missing or invalid key), 404 "Resource not found"
  (unknown API, no operation for this verb and path: API Management answers
  404, not 405, for a verb no operation has), 411 (a chunked body), 413 (a
  body over GATEWAY_MAX_REQUEST_BYTES), 429 and 403 with Retry-After, 502
  (backend unreachable, broken or oversized answer), 504 (backend slower
  than GATEWAY_READ_TIMEOUT), 503 (the rate limit and quota cannot be
  checked: Redis is down and GATEWAY_COUNTERS_FAIL_OPEN is off); anything else is the backend's own answer,
  redirects included (passed back, not followed);
- every answer carries X-Portico-Request-Id, the request_id of its Call
  record; calls of a product with limits also carry X-RateLimit-Limit,
  X-RateLimit-Remaining, X-Quota-Limit and X-Quota-Remaining.

The path is forwarded exactly as the caller encoded it, read from the raw
request line (RAW_URI under gunicorn, REQUEST_URI under uWSGI). Servers that
do not pass it on (Django's runserver) get the decoded path re-encoded: an
encoded slash can then not be told from a real one, and is forwarded as one.

URL schemes: an API's allowed schemes (the demo API: HTTPS only) are
enforced when GATEWAY_ENFORCE_SCHEME is on, which it is by default when DEBUG
is off and SITE_URL is https; locally everything runs on http. Behind a TLS-terminating proxy set
SECURE_PROXY_SSL_HEADER so that https calls are seen as such.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import time
import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import get_resolver, get_script_prefix
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from gateway import counters, dbpool, httputil, proxy, records, routing
from gateway.limits import hhmmss
from gateway.models import Call
from subscriptions.models import Subscription

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Portico-Request-Id"
MISSING_KEY = "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."
INVALID_KEY = (
    "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."
)
NOT_FOUND = "Resource not found"
COUNTERS_DOWN = "Service unavailable: the rate limit and quota cannot be checked right now. Try again later."


def error(status: int, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"statusCode": status, "message": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


class Gate:
    """The state of one call on its way through, ending as a Call record."""

    def __init__(self, request: HttpRequest):
        self.request = request
        self.t0 = time.perf_counter()
        self.call = Call(
            created=timezone.now(),
            request_id=uuid.uuid4().hex,
            method=request.method[:10] if request.method else "",
            client_ip=_client_ip(request),
        )
        self.extra_headers: dict[str, str] = {}

    def finish(self, response: HttpResponse, outcome: str, bytes_out: int | None = None) -> HttpResponse:
        response[REQUEST_ID_HEADER] = self.call.request_id
        for name, value in self.extra_headers.items():
            response[name] = value
        if bytes_out is None and not response.streaming:
            bytes_out = len(response.content)
        if not response.streaming:
            self.save(response.status_code, outcome, bytes_out or 0)
        return response

    def save(self, status: int, outcome: str, bytes_out: int) -> None:
        call = self.call
        call.status, call.outcome, call.bytes_out = status, outcome, bytes_out
        call.total_ms = (time.perf_counter() - self.t0) * 1000
        try:
            records.record(call)
        except Exception:
            log.exception("Could not record call %s", call.request_id)


@csrf_exempt
def gateway(request: HttpRequest, rest: str = "") -> HttpResponse:
    gate = Gate(request)
    try:
        return _gateway(request, gate)
    except Exception:
        # Whatever went wrong, the caller gets a JSON answer and the call is recorded.
        log.exception("Gateway failure for call %s", gate.call.request_id)
        return gate.finish(error(500, "Internal gateway error."), Call.BACKEND_ERROR)


def _gateway(request: HttpRequest, gate: Gate) -> HttpResponse:
    call = gate.call
    raw_uri = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    raw_path = httputil.raw_path_from_uri(raw_uri) if raw_uri else httputil.requote(request.path)
    raw_query = request.META.get("QUERY_STRING", "")
    query, query_key = httputil.split_key_from_query(raw_query)
    prefix = get_script_prefix() + _gateway_root()
    call.path = (raw_path + ("?" + query if query else ""))[:2000]

    if not raw_path.startswith(prefix):
        return gate.finish(error(404, NOT_FOUND), Call.NO_MATCH)
    try:
        suffix, op_path = httputil.split_gateway_path(raw_path[len(prefix) :])
    except httputil.BadPath as e:
        return gate.finish(error(400, f"Invalid request path. {e}"), Call.BAD_REQUEST)

    if not httputil.valid_query(raw_query):
        return gate.finish(
            error(400, "Invalid query string: spaces, control and non-ASCII characters must be percent-encoded."),
            Call.BAD_REQUEST,
        )

    route = routing.route_for(suffix)
    if route is None:
        return gate.finish(error(404, NOT_FOUND), Call.NO_MATCH)
    call.api_id = route.id
    if settings.GATEWAY_ENFORCE_SCHEME and request.scheme not in route.url_schemes:
        # API Management does not expose an API on a scheme it does not allow.
        return gate.finish(error(404, NOT_FOUND), Call.NO_MATCH)
    # API Management answers 404, not 405, when only the verb does not fit.
    found = route.router.match(request.method or "", op_path, query)
    if found is None:
        return gate.finish(error(404, NOT_FOUND), Call.NO_MATCH)
    call.operation_id = found.key

    key = request.META.get(httputil.KEY_META)
    if key is None:
        key = query_key
    subscription = None
    if key:
        # Through the gateway's few pooled connections (see gateway.dbpool).
        holder = Subscription.objects.holder_of(key, fetchall=dbpool.fetchall)
        if holder is not None and holder.is_active and holder.product_id in route.product_ids:
            subscription = holder
    if route.subscription_required:
        if not key:
            return gate.finish(error(401, MISSING_KEY), Call.UNAUTHORIZED)
        if subscription is None:
            return gate.finish(error(401, INVALID_KEY), Call.UNAUTHORIZED)

    if subscription is not None:
        call.subscription_id = subscription.id
        call.product_id = subscription.product_id
        call.user_id = subscription.user_id
        limits = counters.Limits.of(subscription)
        try:
            decision = counters.admit(
                subscription.counter_id, limits, subscription.quota_start, seed=_recorded_calls(subscription.id)
            )
        except Exception as e:
            # The counters' store (Redis) is down: refuse rather than pass a
            # limit, unless the operator chose to keep serving.
            if not settings.GATEWAY_COUNTERS_FAIL_OPEN:
                log.error("Call %s refused: the rate limit and quota cannot be checked: %r", call.request_id, e)
                return gate.finish(error(503, COUNTERS_DOWN), Call.UNAVAILABLE)
            log.warning("Rate limit and quota not enforced for call %s: counter store failed", call.request_id)
            decision = counters.Decision(counters.OK)
        _limit_headers(gate, limits, decision)
        if decision.outcome == counters.RATE:
            return gate.finish(
                error(
                    429,
                    f"Rate limit is exceeded. Try again in {decision.retry_after} seconds.",
                    Retry_After=str(decision.retry_after),
                ),
                Call.THROTTLED,
            )
        if decision.outcome == counters.QUOTA:
            return gate.finish(
                error(
                    403,
                    f"Out of call volume quota. Quota will be replenished in {hhmmss(decision.quota_renewal)}.",
                    Retry_After=str(decision.retry_after),
                ),
                Call.QUOTA,
            )

    return _forward(request, gate, route, op_path, query)


def _recorded_calls(subscription_id: int) -> counters.Seed:
    """The calls already recorded in a quota window, for a cold counter."""

    def seed(start: float, now: float) -> int:
        # Records still queued in this process are not in the database yet.
        records.flush()
        return Call.objects.counted(subscription_id, _utc(start), _utc(now))

    return seed


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _limit_headers(gate: Gate, limits: counters.Limits, decision: counters.Decision) -> None:
    if decision.rate_remaining is not None:
        gate.extra_headers["X-RateLimit-Limit"] = str(limits.rate_calls)
        gate.extra_headers["X-RateLimit-Remaining"] = str(decision.rate_remaining)
    if decision.quota_remaining is not None:
        gate.extra_headers["X-Quota-Limit"] = str(limits.quota_calls)
        gate.extra_headers["X-Quota-Remaining"] = str(decision.quota_remaining)


def _forward(request: HttpRequest, gate: Gate, route: routing.ApiRoute, op_path: str, query: str) -> HttpResponse:
    call = gate.call
    meta = request.META
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
        if length < 0:
            raise ValueError
    except ValueError:
        return gate.finish(error(400, "Invalid Content-Length header."), Call.BAD_REQUEST)
    if not meta.get("CONTENT_LENGTH") and meta.get("HTTP_TRANSFER_ENCODING"):
        return gate.finish(
            error(411, "Length required: send the request body with a Content-Length."), Call.BAD_REQUEST
        )
    limit = settings.GATEWAY_MAX_REQUEST_BYTES
    if length > limit:
        return gate.finish(
            error(413, f"Request entity too large: the gateway accepts bodies of at most {limit} bytes."),
            Call.BAD_REQUEST,
        )
    call.bytes_in = length

    headers = _request_headers(request, subscription_id=call.subscription_id)
    if headers is None:
        return gate.finish(
            error(400, "Invalid request header: header values cannot contain CR or LF."), Call.BAD_REQUEST
        )
    body: bytes | proxy.RequestBody | None
    if length == 0:
        body = None
    elif length <= proxy.BUFFER_LIMIT:
        body = request.read(length)
    else:
        body = proxy.RequestBody(request, length)
    if body is not None:
        headers["Content-Length"] = str(length)

    url = route.service_url + op_path + ("?" + query if query else "")
    t_backend = time.perf_counter()
    upstream = proxy.forward(request.method or "GET", url, headers, body, read_timeout=_time_left(request))
    if upstream.response is None:
        call.backend_ms = (time.perf_counter() - t_backend) * 1000
        outcome = Call.BAD_REQUEST if upstream.error_status == 400 else Call.BACKEND_ERROR
        return gate.finish(error(upstream.error_status, upstream.error_message), outcome)
    return _answer(gate, upstream.response, t_backend)


def _answer(gate: Gate, upstream, t_backend: float) -> HttpResponse:
    call = gate.call
    declared = upstream.headers.get("Content-Length", "")
    max_out = settings.GATEWAY_MAX_RESPONSE_BYTES
    if declared.isdigit() and int(declared) > max_out:
        upstream.close()
        call.backend_ms = (time.perf_counter() - t_backend) * 1000
        return gate.finish(
            error(502, f"Bad gateway: the backend's response is larger than {max_out} bytes."), Call.BACKEND_ERROR
        )
    no_body = response_has_no_body(gate, upstream)
    if declared.isdigit() and int(declared) <= proxy.BUFFER_LIMIT or no_body:
        try:
            content = upstream.raw.read(decode_content=False)
        except Exception:
            content = None
        call.backend_ms = (time.perf_counter() - t_backend) * 1000
        short = not no_body and declared.isdigit() and content is not None and len(content) < int(declared)
        complete = content is not None and not short
        proxy.done(upstream, complete)
        if not complete:
            return gate.finish(error(502, proxy.unreachable_message()), Call.BACKEND_ERROR)
        response = proxy.build_response(upstream, content, streaming=False, head=call.method == "HEAD")
        return gate.finish(response, _outcome(upstream.status_code))

    # A large or unsized body streams through; the call is recorded once the
    # last byte has gone (or the stream broke).
    def stream():
        sent, status, outcome, complete = 0, upstream.status_code, _outcome(upstream.status_code), False
        try:
            for chunk in upstream.raw.stream(proxy.CHUNK, decode_content=False):
                sent += len(chunk)
                if sent > max_out:
                    outcome = Call.BACKEND_ERROR
                    break
                yield chunk
            else:
                complete = True
        except Exception:
            outcome = Call.BACKEND_ERROR
            log.warning("Backend stream broke for call %s", call.request_id)
        finally:
            proxy.done(upstream, complete)
            call.backend_ms = (time.perf_counter() - t_backend) * 1000
            gate.save(status, outcome, sent)

    response = proxy.build_response(upstream, stream(), streaming=True)
    return gate.finish(response, _outcome(upstream.status_code))


def response_has_no_body(gate: Gate, upstream) -> bool:
    """HEAD answers and 1xx/204/304 have no body whatever their headers say."""
    return gate.call.method == "HEAD" or upstream.status_code in (204, 304) or upstream.status_code < 200


def _outcome(status: int) -> str:
    return Call.outcome_of(status)


def _request_headers(request: HttpRequest, *, subscription_id: int | None) -> dict[str, str] | None:
    meta = request.META
    named = httputil.connection_tokens([meta.get("HTTP_CONNECTION", "")])
    headers: dict[str, str] = {}
    for key, value in meta.items():
        if not key.startswith("HTTP_"):
            continue
        name = httputil.header_name_from_meta(key)
        lowered = name.lower()
        if httputil.is_hop_by_hop(name, named) or lowered in (
            "host",
            "content-length",
            httputil.KEY_HEADER,
            "x-forwarded-for",
            "x-forwarded-host",
            "x-forwarded-proto",
            httputil.SUBSCRIPTION_HEADER.lower(),
        ):
            continue
        if "\r" in value or "\n" in value:
            return None
        if lowered == "cookie":
            # The gateway shares the portal's address: the caller's portal
            # session must not reach a backend.
            value = httputil.without_cookies(value, proxy.portal_cookies())
            if not value:
                continue
        headers[name] = value
    if meta.get("CONTENT_TYPE"):
        headers["Content-Type"] = meta["CONTENT_TYPE"]
    remote = meta.get("REMOTE_ADDR", "")
    previous = meta.get("HTTP_X_FORWARDED_FOR", "")
    headers["X-Forwarded-For"] = f"{previous}, {remote}" if previous else remote
    headers["X-Forwarded-Host"] = request.get_host()
    headers["X-Forwarded-Proto"] = request.scheme or "http"
    headers[httputil.SUBSCRIPTION_HEADER] = str(subscription_id) if subscription_id is not None else "none"
    return headers


def _time_left(request: HttpRequest) -> float | None:
    """Seconds left before the in-process caller (the console) stops waiting, if it set a deadline.

    A WSGI environ key, not a header: only the console's in-process transport can set it.
    """
    deadline = request.META.get(httputil.CALLER_DEADLINE)
    return None if deadline is None else max(0.05, round(deadline - time.perf_counter(), 2))


@functools.cache
def _gateway_root() -> str:
    """'gateway/': where the gateway is mounted, without the script prefix."""
    return get_resolver().reverse("gateway-root").lstrip("/")


def _client_ip(request: HttpRequest) -> str | None:
    try:
        return str(ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")))
    except ValueError:
        return None
