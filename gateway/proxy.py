"""Forwarding one call to its backend and the answer back to the caller.

One pooled ``requests.Session`` per thread: sessions are not thread-safe, and
a per-thread pool keeps connections to the backend alive between calls.
"""

from __future__ import annotations

import http.cookiejar
import http.cookies
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import requests
from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from requests.adapters import HTTPAdapter
from requests.hooks import default_hooks
from requests.structures import CaseInsensitiveDict

from gateway import httputil

# Bodies up to this size are read whole: simpler and faster than streaming.
BUFFER_LIMIT = 256 * 1024
CHUNK = 64 * 1024
# Set by the server that answers the caller; the backend's would be duplicates.
RESPONSE_SKIP = frozenset(["date", "server", "content-length"])

_local = threading.local()


def session() -> requests.Session:
    s = getattr(_local, "session", None)
    if s is None:
        s = requests.Session()
        # Forward exactly the caller's headers, not requests' defaults, and
        # ignore proxy/netrc settings from the environment (a lookup per call).
        s.headers.clear()
        s.trust_env = False
        s.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=4, max_retries=0)
        s.mount("http://", adapter)
        s.mount("https://", adapter)
        _local.session = s
    return s


class BodyTooLarge(Exception):
    pass


class RequestBody:
    """A request body streamed to the backend with a known length, so it goes
    with Content-Length rather than chunked."""

    def __init__(self, stream, length: int):
        self.stream, self.length, self.sent = stream, length, 0

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        while self.sent < self.length:
            chunk = self.stream.read(min(CHUNK, self.length - self.sent))
            if not chunk:
                break
            self.sent += len(chunk)
            yield chunk


@dataclass
class Upstream:
    response: requests.Response | None = None
    error_status: int = 0
    error_message: str = ""


def forward(method: str, url: str, headers: dict[str, str], body, *, read_timeout: float | None = None) -> Upstream:
    """Send the call through this thread's pooled session.

    The request is prepared by hand and given straight to the session's
    adapter: Session.request() would re-quote the URL (it must go out exactly
    as the caller encoded it), merge cookies and environment settings, and
    cost more CPU than all the rest of the gateway's work. Cookies must never
    be kept between calls anyway: they belong to the callers, not to us.
    """
    prepared = requests.PreparedRequest()
    prepared.method = method
    prepared.url = url
    prepared.headers = CaseInsensitiveDict(headers)
    prepared.body = body
    prepared.hooks = default_hooks()
    s = session()
    read = settings.GATEWAY_READ_TIMEOUT if read_timeout is None else min(read_timeout, settings.GATEWAY_READ_TIMEOUT)
    try:
        response = s.get_adapter(url).send(
            prepared,
            stream=True,
            timeout=(min(settings.GATEWAY_CONNECT_TIMEOUT, read), read),
            verify=True,
        )
    except (requests.ConnectTimeout, requests.ReadTimeout):
        return Upstream(error_status=504, error_message=timeout_message(read))
    except requests.exceptions.InvalidHeader:
        return Upstream(
            error_status=400, error_message="Invalid request header: header values cannot contain CR or LF."
        )
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
        return Upstream(error_status=502, error_message=unreachable_message())
    except (requests.RequestException, ValueError):
        return Upstream(
            error_status=502, error_message="Bad gateway: the call could not be forwarded to the backend service."
        )
    return Upstream(response=response)


def done(upstream: requests.Response, complete: bool) -> None:
    """Give the connection back to this thread's pool when the body was read
    to its end; otherwise close it (unread bytes would poison the next call).
    requests' Response.close() would close it even when complete."""
    if complete:
        upstream.raw.release_conn()
    else:
        upstream.close()


def timeout_message(seconds: float | None = None) -> str:
    seconds = settings.GATEWAY_READ_TIMEOUT if seconds is None else seconds
    shown = f"{seconds:.1f}".rstrip("0").rstrip(".")
    return f"Gateway timeout: the backend service did not answer within {shown} second{'' if shown == '1' else 's'}."


def unreachable_message() -> str:
    return "Bad gateway: the backend service could not be reached or closed the connection."


def portal_cookies() -> frozenset[str]:
    """Cookies of the portal itself, which backends neither see nor set."""
    return frozenset(
        [settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME, settings.LANGUAGE_COOKIE_NAME, "messages"]
    )


def response_headers(upstream: requests.Response) -> tuple[list[tuple[str, str]], list[str]]:
    """The backend's headers minus hop-by-hop ones; Set-Cookie apart."""
    raw = upstream.raw.headers
    named = httputil.connection_tokens(raw.getlist("Connection"))
    headers, cookies = [], []
    for name in raw:
        lowered = name.lower()
        if httputil.is_hop_by_hop(name, named) or lowered in RESPONSE_SKIP:
            continue
        values = raw.getlist(name)
        if lowered == "set-cookie":
            cookies.extend(values)
        else:
            headers.append((name, ", ".join(values)))
    return headers, cookies


def build_response(upstream: requests.Response, body, streaming: bool, head: bool = False) -> HttpResponse:
    if streaming:
        response: HttpResponse = StreamingHttpResponse(body, status=upstream.status_code)
    else:
        response = HttpResponse(body, status=upstream.status_code)
    if upstream.reason:
        response.reason_phrase = upstream.reason
    headers, cookies = response_headers(upstream)
    # Django sets a default Content-Type; the backend's (or none) is the truth.
    del response["Content-Type"]
    for name, value in headers:
        response[name] = value
    for value in cookies:
        jar = http.cookies.SimpleCookie()
        try:
            jar.load(value)
        except http.cookies.CookieError:
            continue
        for morsel in jar.values():
            if morsel.key not in portal_cookies():
                response.cookies[morsel.key] = morsel
    # Whatever a backend answers (HTML, script) is shown on the portal's own
    # address: sandboxed, it can neither run script nor reach the portal's cookies.
    policy = response.get("Content-Security-Policy")
    response["Content-Security-Policy"] = f"{policy}; sandbox" if policy else "sandbox"
    length = upstream.headers.get("Content-Length")
    if streaming or head:
        # A HEAD answer tells the length of the body a GET would get.
        if length and length.isdigit():
            response["Content-Length"] = length
    else:
        response["Content-Length"] = str(len(body))
    return response
