"""Pure helpers for the proxy: raw paths, query strings and headers. No Django."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, unquote, unquote_plus

from subscriptions import keys

# RFC 9110 7.6.1, plus Proxy-* (Proxy-Authorization, Proxy-Connection, ...).
HOP_BY_HOP = frozenset(["connection", "keep-alive", "te", "trailer", "trailers", "transfer-encoding", "upgrade"])
# How callers send a subscription key (lowercased, as headers are compared).
KEY_HEADER = keys.KEY_HEADER.lower()
KEY_PARAM = keys.KEY_QUERY_PARAMETER
# The key header's name in a WSGI environ.
KEY_META = "HTTP_" + KEY_HEADER.upper().replace("-", "_")
# The gateway tells the backend whose call it forwards: the subscription's id,
# or "none" for an API that needs no subscription. Always set by the gateway,
# never passed on from a caller (the embedded ML service scopes BES jobs by it).
SUBSCRIPTION_HEADER = "X-Portico-Subscription"
# A WSGI environ key (never a header, so never from a client) by which the
# console's in-process transport tells the gateway when it stops waiting, as a
# time.perf_counter() value: the backend call is given no more time than that.
CALLER_DEADLINE = "portico.deadline"
# Characters a path segment may hold unencoded (RFC 3986 pchar without '%').
PATH_SAFE = "/!$&'()*+,;=:@-._~"
SUFFIX_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]*\Z")
# An encoded '/', '\' or NUL would let one segment become several (or none)
# after a backend decodes it.
BAD_ESCAPE_RE = re.compile(r"%(2f|5c|00)", re.IGNORECASE)


class BadPath(ValueError):
    pass


def requote(decoded_path: str) -> str:
    """A percent-encoded path from a decoded one, when the server did not
    keep the raw request line. An encoded slash cannot be told from a real
    one any more; dot-segments are still caught by split_gateway_path."""
    return quote(decoded_path, safe=PATH_SAFE)


def raw_path_from_uri(uri: str) -> str:
    """The path of a request-target, which may be in absolute form."""
    uri = uri.split("#", 1)[0].split("?", 1)[0]
    if uri.startswith("/"):
        return uri
    if "://" in uri:
        authority_and_path = uri.split("://", 1)[1]
        return "/" + authority_and_path.partition("/")[2]
    return "/" + uri


def split_gateway_path(raw: str) -> tuple[str, str]:
    """('api suffix', '/operation/path') from the raw path after the gateway
    prefix, e.g. 'azureml-demo/workspaces/w/...'; an empty suffix when it
    cannot name an API. Raises BadPath for a path that tries to climb out of
    its API or smuggle separators."""
    for segment in raw.split("/"):
        if unquote(segment) in (".", ".."):
            raise BadPath("Path segments '.' and '..' are not allowed.")
        if BAD_ESCAPE_RE.search(segment) or "\\" in segment or "\x00" in segment:
            raise BadPath("Encoded '/', '\\' and NUL characters are not allowed in the path.")
        if not segment.isascii() or any(ord(c) < 0x21 or ord(c) == 0x7F for c in segment):
            raise BadPath("Spaces, control and non-ASCII characters must be percent-encoded in the path.")
    suffix, _, rest = raw.partition("/")
    suffix = unquote(suffix)
    # A suffix no API can have is simply not found.
    if not SUFFIX_RE.match(suffix):
        suffix = ""
    op_path = "/" + rest
    return suffix, op_path


def valid_query(query: str) -> bool:
    """A raw query string that can be forwarded as it is."""
    return query.isascii() and not any(ord(c) < 0x21 or ord(c) == 0x7F or c == "#" for c in query)


def split_key_from_query(query: str) -> tuple[str, str | None]:
    """The raw query without any subscription-key pair, and that key's value."""
    kept, key = [], None
    for pair in query.split("&") if query else []:
        name, _, value = pair.partition("=")
        if unquote_plus(name) == KEY_PARAM:
            if key is None:
                key = unquote_plus(value)
            continue
        kept.append(pair)
    return "&".join(kept), key


def connection_tokens(values: Iterable[str]) -> set[str]:
    """Header names listed in Connection headers: hop-by-hop for this hop only."""
    return {token.strip().lower() for value in values for token in value.split(",") if token.strip()}


def is_hop_by_hop(name: str, named: set[str]) -> bool:
    lowered = name.lower()
    return lowered in HOP_BY_HOP or lowered.startswith("proxy-") or lowered in named


def header_name_from_meta(key: str) -> str:
    """HTTP_X_FORWARDED_FOR -> X-Forwarded-For."""
    return "-".join(part.capitalize() for part in key[5:].split("_"))


def without_cookies(header: str, names: frozenset[str]) -> str:
    """A Cookie header minus the named cookies ("" when none is left)."""
    kept = [pair.strip() for pair in header.split(";") if pair.split("=", 1)[0].strip() not in names]
    return "; ".join(pair for pair in kept if pair)
