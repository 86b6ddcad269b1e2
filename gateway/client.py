"""Forwarding to backends with aiohttp: one pooled session per event loop.

The session forwards exactly the caller's headers (none of aiohttp's own
defaults), keeps no cookies (they belong to the callers), follows no redirect
(passed back as they are), leaves bodies encoded as the backend sent them, and
sends the URL exactly as the caller encoded it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator

import aiohttp
from yarl import URL

from gateway import pipeline

# aiohttp adds these unless told not to; a backend must see the caller's own.
SKIP_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")

_sessions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def session() -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    s = _sessions.get(loop)
    if s is None or s.closed:
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=30, ttl_dns_cache=60)
        s = _sessions[loop] = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=SKIP_AUTO_HEADERS,
            trust_env=False,
        )
    return s


async def close() -> None:
    """Close this loop's session (a server's shutdown)."""
    s = _sessions.pop(asyncio.get_running_loop(), None)
    if s is not None:
        await s.close()


async def forward(
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes | AsyncIterator[bytes] | None,
    connect_timeout: float,
    read_timeout: float,
) -> pipeline.Upstream:
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=read_timeout)
    try:
        response = await session().request(
            method,
            URL(url, encoded=True),
            headers=_multidict(headers),
            data=body,
            allow_redirects=False,
            timeout=timeout,
            compress=None,
            chunked=None,
        )
    except (TimeoutError, aiohttp.ServerTimeoutError):
        raise pipeline.Refused("timeout", seconds=read_timeout) from None
    except aiohttp.ClientConnectorError as e:
        # aiohttp reports a connect timeout as a connector error wrapping one.
        if isinstance(e.os_error, TimeoutError):
            raise pipeline.Refused("timeout", seconds=read_timeout) from None
        raise pipeline.Refused("unreachable") from None
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError):
        raise pipeline.Refused("unreachable") from None
    except (aiohttp.ClientError, ValueError):
        raise pipeline.Refused("not-forwarded") from None

    async def read() -> bytes:
        try:
            return await response.read()
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise pipeline.Refused("timeout", seconds=read_timeout) from None

    async def chunks() -> AsyncIterator[bytes]:
        async for chunk in response.content.iter_chunked(pipeline.CHUNK):
            yield chunk

    def release(complete: bool) -> None:
        if complete:
            response.release()
        else:
            response.close()

    raw_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
    return pipeline.Upstream(response.status, response.reason or "", raw_headers, read, chunks, release)


def _multidict(headers: list[tuple[str, str]]):
    from multidict import CIMultiDict

    return CIMultiDict(headers)
