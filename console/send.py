"""Send a built request to the gateway and read what comes back, within limits."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

import requests
from django.conf import settings
from django.db import close_old_connections, connections

from console.build import BuiltRequest, redact_url
from console.transport import InProcessAdapter

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
# Asks the gateway for the policy trace (see gateway.policy); not shown among the headers sent.
TRACE_REQUEST_HEADER = "X-Portico-Trace"


@dataclass
class Result:
    url: str
    method: str
    status: int | None = None
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    complete: bool = True  # False when the body went over the download cap
    size: int = 0  # bytes read (decoded), up to where we stopped
    elapsed_ms: float = 0.0
    error: str = ""

    def header(self, name: str) -> str:
        name = name.lower()
        return next((v for n, v in self.headers if n.lower() == name), "")


def timeouts() -> tuple[float, float, float]:
    """(connect, read, total) seconds."""
    total = float(getattr(settings, "CONSOLE_TIMEOUT", 30))
    return min(5.0, total), min(20.0, total), total


def session(client_ip: str = "127.0.0.1", deadline: float | None = None) -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # no proxies from the environment: the gateway is ours
    if getattr(settings, "CONSOLE_TRANSPORT", "inprocess") == "inprocess":
        # The gateway records the developer's address, not the portal's own,
        # and stops waiting on the backend when the console does.
        adapter = InProcessAdapter(remote_addr=client_ip, deadline=deadline)
        s.mount(settings.GATEWAY_URL.rstrip("/") + "/", adapter)
    return s


_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    # One small pool per process, made after the server forks its workers.
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            size = int(getattr(settings, "CONSOLE_SEND_THREADS", 8))
            _pool, _pool_pid = ThreadPoolExecutor(size, thread_name_prefix="console-send"), os.getpid()
        return _pool


def shutdown() -> None:
    """Stop the send threads; their database connections go with them (tests drop the database after)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            return
        # One task per thread, held at a barrier so that each thread runs one.
        threads = len(_pool._threads)  # noqa: SLF001 - the executor does not say otherwise
        if threads:
            barrier = threading.Barrier(threads, timeout=10)

            def close() -> None:
                connections.close_all()
                barrier.wait()

            for _ in range(threads):
                _pool.submit(close)
        _pool.shutdown(wait=True)
        _pool = None


# Sends under way per developer in this process (they share its send threads).
_sending: Counter = Counter()
_sending_lock = threading.Lock()


def _take_turn(sender) -> bool:
    with _sending_lock:
        if _sending[sender] >= settings.CONSOLE_SENDS_PER_DEVELOPER:
            return False
        _sending[sender] += 1
        return True


def _end_turn(sender) -> None:
    with _sending_lock:
        _sending[sender] -= 1
        if _sending[sender] <= 0:
            del _sending[sender]


def send(built: BuiltRequest, client_ip: str = "127.0.0.1", *, sender=None) -> Result:
    """Send it and read the answer within CONSOLE_TIMEOUT, never raising.

    The exchange runs on a small pool of the console's own threads (never the
    server's), so that the deadline holds even when the in-process gateway
    waits on a slow backend longer than the console is willing to: the
    developer gets a message at the deadline, and the gateway, told the same
    deadline, gives up on the backend then, so the thread is free again.
    One developer (sender) has at most CONSOLE_SENDS_PER_DEVELOPER sends under
    way at once, so no one can hold every thread and block everyone's console.
    """
    connect, read, total = timeouts()
    started = time.perf_counter()
    result = Result(url=built.url, method=built.method)
    if sender is not None and not _take_turn(sender):
        limit = settings.CONSOLE_SENDS_PER_DEVELOPER
        result.error = (
            f"You already have {limit} request{'s' if limit != 1 else ''} waiting for an answer: "
            f"send again when one has finished (at most {_seconds(total)})."
        )
        return result
    cancelled = threading.Event()
    try:
        future = _executor().submit(_exchange_in_thread, built, result, started + total, cancelled, client_ip, sender)
    except BaseException:
        if sender is not None:
            _end_turn(sender)
        raise
    try:
        future.result(timeout=total + 0.25)
    except FutureTimeout:
        cancelled.set()
        # The worker may still write to its Result: answer with a fresh one.
        result = Result(url=built.url, method=built.method)
        result.error = f"The gateway did not answer within {_seconds(total)}."
    result.elapsed_ms = (time.perf_counter() - started) * 1000
    return result


def _exchange_in_thread(
    built: BuiltRequest, result: Result, deadline: float, cancelled: threading.Event, client_ip: str, sender=None
) -> None:
    try:
        _exchange(built, result, deadline, cancelled, client_ip)
    finally:
        # The developer's turn ends when the thread is free, not when he stopped waiting.
        if sender is not None:
            _end_turn(sender)
        # This thread is no request: close its database connection as a request would.
        close_old_connections()


def _exchange(
    built: BuiltRequest, result: Result, deadline: float, cancelled: threading.Event, client_ip: str = "127.0.0.1"
) -> None:
    connect, read, total = timeouts()
    cap = int(getattr(settings, "CONSOLE_DOWNLOAD_CAP", 10 * 1024 * 1024))
    try:
        with session(client_ip, deadline) as s:
            prepared = s.prepare_request(
                requests.Request(
                    built.method,
                    built.url,
                    # The gateway tells its own developer which policies ran.
                    headers=dict(built.headers)
                    | {"Accept-Encoding": _accept_encoding(built), TRACE_REQUEST_HEADER: "true"},
                    data=built.body.encode("utf-8") if built.body else None,
                )
            )
            # requests "requotes" URLs, which turns an encoded %2E%2E back into
            # a '..' dot-segment that climbs out of the operation's path: send
            # the URL exactly as the template module built it.
            prepared.url = built.url
            # A redirect could lead anywhere: show it, never follow it.
            response = s.send(prepared, timeout=(connect, read), stream=True, allow_redirects=False)
            if response.status_code == 504 and time.perf_counter() >= deadline - 0.25:
                # The in-process gateway gave up on the backend at our deadline:
                # say it as the console's own timeout, in the developer's terms.
                response.close()
                result.error = f"The gateway did not answer within {_seconds(total)}."
                return
            try:
                result.status = response.status_code
                result.reason = response.reason or ""
                result.headers = [(n, v) for n, v in response.raw.headers.items()]
                body = bytearray()
                # iter_content decodes gzip and deflate; stop at the cap or the deadline.
                for chunk in response.iter_content(CHUNK):
                    body += chunk
                    if len(body) > cap:
                        result.complete = False
                        del body[cap:]
                        break
                    if time.perf_counter() > deadline or cancelled.is_set():
                        result.complete = False
                        result.error = f"The response was still arriving after {_seconds(total)}: stopped reading."
                        break
                result.body = bytes(body)
                result.size = len(body)
            finally:
                response.close()
    except requests.Timeout:
        result.error = f"The gateway did not answer within {_seconds(read)}."
    except requests.ConnectionError as e:
        result.error = f"Could not reach the gateway at {settings.GATEWAY_URL}: {_short(e)}"
    except requests.RequestException as e:
        result.error = f"The request failed: {_short(e)}"
    except Exception as e:  # the in-process gateway raised: say so rather than a 500
        log.exception("console send to %s failed", redact_url(built.url))
        result.error = f"The gateway failed while handling the request ({type(e).__name__})."


def _accept_encoding(built: BuiltRequest) -> str:
    given = next((v for n, v in built.headers if n.lower() == "accept-encoding"), "")
    return given or "gzip, deflate"


def _short(error: Exception) -> str:
    text = str(error)
    # urllib3 wraps the cause in long reprs; the last part is the useful one.
    if "Caused by" in text:
        text = text.rsplit("Caused by", 1)[1].strip(" ()")
    return text[:300]


def _seconds(value: float) -> str:
    return f"{value:g} second" + ("" if value == 1 else "s")
