"""The gateway on the event loop: the ASGI adapter of gateway.pipeline.

``application`` serves every path under /gateway/ itself, on the server's
event loop (an aiohttp pool to the backends, redis.asyncio for the counters,
the database only on a cache miss, in a small thread pool), and hands every
other path to Django's ASGI handler: one server process serves the portal
and the gateway at the same URLs. With GATEWAY_ONLY=1 (a gateway-only node
for scaling out), other paths get the gateway's JSON 404 instead.

A streamed answer that breaks, or grows past GATEWAY_MAX_RESPONSE_BYTES,
raises after the status line went out: the server then aborts the caller's
connection, so the caller can tell the answer is incomplete.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections

from gateway import client, pipeline, records, routing
from gateway.ports import Ports
from gateway.views import client_ip

log = logging.getLogger(__name__)


class Gateway:
    def __init__(self, django_app, gateway_only: bool = False, db_threads: int = 4):
        self.django_app = django_app
        self.gateway_only = gateway_only
        # Bounds this process's database connections for the gateway: one per
        # thread, whatever the number of calls in flight.
        self.pool = ThreadPoolExecutor(db_threads, thread_name_prefix="portico-gateway-db")
        self._ports: dict[str, Ports] = {}

    async def blocking(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.pool, _with_connection, fn, args)

    def ports(self, root_path: str) -> Ports:
        ports = self._ports.get(root_path)
        if ports is None:
            ports = self._ports[root_path] = Ports(self.blocking, root_path + "/")
        return ports

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            return await self.lifespan(scope, receive, send)
        if scope["type"] == "http":
            root = scope.get("root_path", "")
            raw = scope.get("raw_path") or scope["path"].encode()
            path = raw.decode("latin-1")
            if path.startswith(root + "/" + routing.GATEWAY_ROOT) or self.gateway_only:
                return await self.gateway(scope, receive, send, path)
        return await self.django_app(scope, receive, send)

    async def gateway(self, scope, receive, send, raw_path: str) -> None:
        body = Body(receive)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        host = next((v for k, v in headers if k.lower() == "host"), "")
        peer = scope.get("client") or ("", 0)
        incoming = pipeline.Incoming(
            method=scope["method"],
            raw_path=raw_path,
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            client_ip=client_ip(peer[0]),
            scheme=scope.get("scheme", "http"),
            host=host,
            read=body.read,
        )
        answer = await pipeline.handle(incoming, self.ports(scope.get("root_path", "")))
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers],
            }
        )
        if answer.stream is None:
            await send({"type": "http.response.body", "body": answer.body})
            return
        try:
            async for chunk in answer.stream:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except pipeline.BrokenStream as e:
            # Raising makes the server drop the connection mid-body, not end it cleanly.
            raise ConnectionAbortedError(f"backend answer broke off: {e}") from None
        finally:
            await answer.stream.aclose()
        await send({"type": "http.response.body", "body": b""})

    async def lifespan(self, scope, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                # No call record is lost on a clean shutdown.
                await client.close()
                await asyncio.get_running_loop().run_in_executor(self.pool, records.recorder.stop)
                self.pool.shutdown(wait=True)
                await send({"type": "lifespan.shutdown.complete"})
                return


def _with_connection(fn, args: tuple[Any, ...]):
    """Run fn on this pool thread's database connection; a connection that
    broke (a restarted database) is replaced and fn tried once more."""
    try:
        try:
            return fn(*args)
        except DatabaseError:
            connections.close_all()  # this thread's own connections
            return fn(*args)
    finally:
        # Django's rule for the end of a request: a connection past
        # CONN_MAX_AGE (0 with PostgreSQL's pool) is closed, or handed back.
        close_old_connections()


class Body:
    """The request body from ASGI messages, read n bytes at a time."""

    def __init__(self, receive):
        self.receive = receive
        self.buffer = bytearray()
        self.more = True

    async def read(self, n: int) -> bytes:
        while self.more and len(self.buffer) < n:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                self.more = False
                break
            self.buffer += message.get("body", b"")
            self.more = message.get("more_body", False)
        chunk, self.buffer = bytes(self.buffer[:n]), self.buffer[n:]
        return chunk


def application_for(django_app) -> Gateway:
    return Gateway(django_app, gateway_only=settings.GATEWAY_ONLY, db_threads=settings.GATEWAY_DB_THREADS)
