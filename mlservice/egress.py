"""Where the BES worker may connect: an allow-list of storage hosts, checked on every connection.

A BES job names its own storage (a connection string's BlobEndpoint or
AccountName, or a BaseLocation), so without a check the worker would send
requests wherever a caller points it: to the portal's own database port, a
cloud metadata address, anything on the worker's network. So:

* The endpoint's host (and port, when the entry names one) must match an
  entry of MLSERVICE_STORAGE_ALLOWED_HOSTS: an exact host (``127.0.0.1:10000``,
  ``azurite.internal``) or a domain wildcard (``*.blob.core.windows.net``).
* The host is resolved when each connection is made, and the worker connects
  to the address it checked (so DNS cannot answer one address to the check and
  another to the connection). A loopback, private, link-local or otherwise
  non-public address is refused unless the entry that matched names that host
  exactly: a wildcard only ever reaches public addresses.
* No proxy from the environment and no redirects (see blobs.open_blob).

This module is pure: no Django. The transport plugs it into azure-core's
requests pipeline.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from azure.core.pipeline.transport import RequestsTransport
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util.retry import Retry


@dataclass(frozen=True)
class Entry:
    host: str  # lower case; for a wildcard, the suffix after "*" (".blob.core.windows.net")
    port: int | None  # None: any port
    wildcard: bool

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.wildcard:
            return host.endswith(self.host) and len(host) > len(self.host)
        return host == self.host


def normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def parse_entry(text: str) -> Entry:
    """``host``, ``host:port``, ``[v6]:port``, ``*.domain`` or ``*.domain:port``."""
    text = text.strip()
    port: int | None = None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":"):
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, number = text.partition(":")
        port = int(number)
    else:
        host = text
    host = normal_host(host)
    if host.startswith("*."):
        return Entry(host[1:], port, True)
    return Entry(host, port, False)


class AllowList:
    def __init__(self, entries: list[str] | tuple[str, ...]) -> None:
        self.entries = tuple(parse_entry(entry) for entry in entries if entry.strip())

    def entry_for(self, host: str, port: int) -> Entry | None:
        host = normal_host(host)
        # An exact entry wins over a wildcard: it may reach a private address.
        matching = [entry for entry in self.entries if entry.matches(host, port)]
        return min(matching, key=lambda entry: entry.wildcard, default=None)

    def permits_host(self, host: str, port: int) -> bool:
        return self.entry_for(host, port) is not None


def public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class Refused(NewConnectionError):
    """The worker may not connect there; urllib3 and azure-core see a failed connection."""


def addresses_for(allowed: AllowList, host: str, port: int) -> list[tuple]:
    """The resolved addresses this host may be reached at, in resolver order (getaddrinfo tuples)."""
    entry = allowed.entry_for(host, port)
    if entry is None:
        return []
    infos = socket.getaddrinfo(normal_host(host), port, type=socket.SOCK_STREAM)
    return [info for info in infos if not entry.wildcard or public(info[4][0])]


def guarded_connect(conn: HTTPConnection, allowed: AllowList) -> socket.socket:
    """What urllib3's _new_conn does, but only to an address the allow-list permits."""
    try:
        infos = addresses_for(allowed, conn.host, conn.port)
    except (socket.gaierror, ValueError) as e:
        raise Refused(conn, f"Cannot resolve {conn.host}: {e}") from e
    if not infos:
        raise Refused(conn, f"{conn.host}:{conn.port} is not an allowed storage endpoint")
    error: OSError | None = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            for option in conn.socket_options or ():
                sock.setsockopt(*option)
            sock.settimeout(conn.timeout)
            sock.connect(address)
            return sock
        except OSError as e:
            error = e
            sock.close()
    raise NewConnectionError(conn, f"Failed to establish a new connection: {error}")


def guarded_session_adapter(allowed: AllowList) -> HTTPAdapter:
    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return guarded_connect(self, allowed)

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return guarded_connect(self, allowed)

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    class GuardedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}

        def proxy_manager_for(self, proxy, **kwargs):
            raise Refused(None, "The BES worker does not use proxies for storage")

    # As azure-core's own adapter: its pipeline retries, urllib3 never redirects.
    return GuardedAdapter(max_retries=Retry(total=False, redirect=False, raise_on_status=False))


class GuardedTransport(RequestsTransport):
    """azure-core's requests transport whose every connection goes through the allow-list."""

    def __init__(self, allowed: AllowList, **kwargs) -> None:
        super().__init__(**kwargs)
        self.allowed = allowed

    def _init_session(self, session) -> None:
        # No proxy from the environment: a proxy would be connected to instead
        # of the checked host.
        session.trust_env = False
        adapter = guarded_session_adapter(self.allowed)
        for prefix in self._protocols:
            session.mount(prefix, adapter)
