"""The pipeline's outside world in this Django project (see pipeline.Ports).

Everything here runs on an event loop; what would block it (the database, on
a catalog check or a key's first use) goes through ``blocking``, which each
server adapter provides: a small thread pool under the ASGI server, the
calling thread under Django's own handler.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.urls import get_script_prefix

from gateway import client, counters, keycache, pipeline, records, routing
from gateway.models import Call

log = logging.getLogger(__name__)

Blocking = Callable[..., Awaitable[Any]]


def portal_cookies() -> frozenset[str]:
    """Cookies of the portal itself, which backends neither see nor set."""
    return frozenset(
        [settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME, settings.LANGUAGE_COOKIE_NAME, "messages"]
    )


def config(script_prefix: str | None = None) -> pipeline.Config:
    prefix = script_prefix if script_prefix is not None else get_script_prefix()
    return pipeline.Config(
        prefix=prefix.rstrip("/") + "/" + routing.GATEWAY_ROOT,
        enforce_scheme=settings.GATEWAY_ENFORCE_SCHEME,
        connect_timeout=settings.GATEWAY_CONNECT_TIMEOUT,
        read_timeout=settings.GATEWAY_READ_TIMEOUT,
        max_request_bytes=settings.GATEWAY_MAX_REQUEST_BYTES,
        max_response_bytes=settings.GATEWAY_MAX_RESPONSE_BYTES,
        portal_cookies=portal_cookies(),
    )


def recorded_calls(subscription_id: int, start: float, now: float) -> int:
    """The calls already recorded in a quota window, for a cold counter (blocking)."""
    # Records still queued in this process are not in the database yet.
    records.flush()
    return Call.objects.counted(subscription_id, _utc(start), _utc(now))


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class Ports:
    def __init__(self, blocking: Blocking, script_prefix: str | None = None):
        self.blocking = blocking
        self._config = config(script_prefix)

    def config(self) -> pipeline.Config:
        return self._config

    async def route_for(self, suffix: str):
        routes = routing.catalog.fresh_routes()
        if routes is not None:
            return routes.get(suffix)
        return await self.blocking(routing.route_for, suffix)

    async def key_holder(self, key: str):
        digest, entry = keycache.cached(key)
        if entry is not None:
            return entry
        return await self.blocking(keycache.load, key, digest)

    async def admit(self, key, fresh: bool = False) -> counters.Decision:
        async def seed(start: float, now: float) -> int:
            return await self.blocking(recorded_calls, key.id, start, now)

        try:
            decision = await counters.admit_async(key, seed)
        except Exception as e:
            # The counters' store (Redis) is down, so the key's generation
            # cannot be checked either: a cached key is read again from the
            # database first (revocations still count at once).
            if not fresh:
                keycache.forget(key.digest)
                return counters.Decision(counters.STALE)
            if key.limits.unlimited:
                return counters.Decision(counters.OK)
            # Refuse rather than pass a limit, unless the operator chose to keep serving.
            if not settings.GATEWAY_COUNTERS_FAIL_OPEN:
                log.error("Call of subscription %s refused: the rate limit and quota cannot be checked: %r", key.id, e)
                raise pipeline.Refused("counters-down") from None
            log.warning("Rate limit and quota not enforced for subscription %s: counter store failed", key.id)
            return counters.Decision(counters.OK)
        if decision.outcome == counters.STALE:
            keycache.forget(key.digest)
        return decision

    async def forward(
        self, method: str, url: str, headers: list[tuple[str, str]], body: bytes | AsyncIterator[bytes] | None
    ) -> pipeline.Upstream:
        c = self._config
        return await client.forward(method, url, headers, body, c.connect_timeout, c.read_timeout)

    async def record(self, record: pipeline.Record) -> None:
        if settings.GATEWAY_RECORD_ASYNC:
            records.record(record)  # a queue put: never waits
        else:
            await self.blocking(records.write, [record])

    # The policy engine's seams: nothing to do until it plugs in here.
    async def inbound(self, trip: pipeline.Trip) -> pipeline.Answer | None:
        return None

    async def outbound(self, trip: pipeline.Trip, answer: pipeline.Answer) -> pipeline.Answer:
        return answer

    async def on_error(self, trip: pipeline.Trip, answer: pipeline.Answer) -> pipeline.Answer:
        return answer
