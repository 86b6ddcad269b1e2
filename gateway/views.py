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
  checked: Redis is down and GATEWAY_COUNTERS_FAIL_OPEN is off); anything
  else is the backend's own answer,
  redirects included (passed back, not followed);
- every answer carries X-Portico-Request-Id, the request_id of its Call
  record; calls of a product with limits also carry X-RateLimit-Limit,
  X-RateLimit-Remaining, X-Quota-Limit and X-Quota-Remaining.

The path is forwarded exactly as the caller encoded it, read from the raw
request line (the ASGI scope's raw_path; RAW_URI or REQUEST_URI under a WSGI
server). Servers that do not pass it on (Django's runserver) get the decoded
path re-encoded: an encoded slash can then not be told from a real one, and
is forwarded as one.

The work itself is gateway.pipeline's; this module is its adapter for
Django's own handler (the test client, a WSGI server, the console's
in-process transport). gateway.asgi is the one for the ASGI server, which
serves gateway calls before Django sees them.

URL schemes: an API's allowed schemes (the demo API: HTTPS only) are
enforced when GATEWAY_ENFORCE_SCHEME is on, which it is by default when DEBUG
is off and SITE_URL is https; locally everything runs on http. Behind a TLS-terminating proxy set
SECURE_PROXY_SSL_HEADER so that https calls are seen as such.
"""

from __future__ import annotations

import http.cookies
import ipaddress
from collections.abc import Iterator

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from gateway import bridge, httputil, pipeline
from gateway.ports import Ports


@csrf_exempt
def gateway(request: HttpRequest, rest: str = "") -> HttpResponse:
    caller = bridge.Caller()
    ports = Ports(caller.blocking)

    async def read(n: int) -> bytes:
        return await caller.blocking(request.read, n)

    answer = caller.run(pipeline.handle(incoming(request, read), ports))
    return django_response(answer, caller)


def incoming(request: HttpRequest, read) -> pipeline.Incoming:
    meta = request.META
    raw_uri = meta.get("RAW_URI") or meta.get("REQUEST_URI")
    raw_path = httputil.raw_path_from_uri(raw_uri) if raw_uri else httputil.requote(request.path)
    headers = [(httputil.header_name_from_meta(k), v) for k, v in meta.items() if k.startswith("HTTP_")]
    for key, name in (("CONTENT_TYPE", "Content-Type"), ("CONTENT_LENGTH", "Content-Length")):
        if meta.get(key):
            headers.append((name, meta[key]))
    try:
        host = request.get_host()
    except DisallowedHost:
        host = meta.get("HTTP_HOST", "")
    return pipeline.Incoming(
        method=request.method or "GET",
        raw_path=raw_path,
        query=meta.get("QUERY_STRING", ""),
        headers=headers,
        client_ip=client_ip(meta.get("REMOTE_ADDR", "")),
        scheme=request.scheme or "http",
        host=host,
        read=read,
        deadline=meta.get(httputil.CALLER_DEADLINE),
    )


def client_ip(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def django_response(answer: pipeline.Answer, caller: bridge.Caller) -> HttpResponse:
    if answer.stream is None:
        response: HttpResponse = HttpResponse(answer.body, status=answer.status)
    else:
        response = StreamingHttpResponse(_chunks(answer.stream, caller), status=answer.status)
    if answer.reason:
        response.reason_phrase = answer.reason
    # Django sets a default Content-Type; the answer's (or none) is the truth.
    del response["Content-Type"]
    for name, value in answer.headers:
        if name.lower() == "set-cookie":
            jar = http.cookies.SimpleCookie()
            jar.load(value)
            for morsel in jar.values():
                response.cookies[morsel.key] = morsel
        else:
            response[name] = value
    return response


def _chunks(stream, caller: bridge.Caller) -> Iterator[bytes]:
    """The streamed body, one chunk at a time from the gateway's loop; a
    broken stream raises, so that the server aborts the connection."""

    async def step() -> bytes | None:
        try:
            return await anext(stream)
        except StopAsyncIteration:
            return None

    try:
        while (chunk := caller.run(step())) is not None:
            yield chunk
    finally:
        caller.run(stream.aclose())
