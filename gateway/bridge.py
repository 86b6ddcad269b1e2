"""Running the async pipeline from a thread that is not on an event loop.

Django's own handler (its test client, a WSGI server, the console's in-process
transport) calls the gateway from a plain thread. The pipeline then runs on
one long-lived event loop of this process, in a thread of its own (its HTTP
client pool and Redis client live there, from call to call), while the
calling thread does the pipeline's blocking work: the database is reached on
the caller's own connection (inside its transaction, if any), and since the
caller only waits on its own work queue, no number of simultaneous callers
can deadlock it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import queue
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_pid: int | None = None
_lock = threading.Lock()


def loop() -> asyncio.AbstractEventLoop:
    global _loop, _pid
    if _loop is None or _pid != os.getpid():  # a forked child has no loop thread
        with _lock:
            if _loop is None or _pid != os.getpid():
                if _loop is None:
                    atexit.register(_close)
                new = asyncio.new_event_loop()
                threading.Thread(target=new.run_forever, name="portico-gateway-loop", daemon=True).start()
                _loop, _pid = new, os.getpid()
    return _loop


class Caller:
    """``blocking`` for the pipeline: runs a function in the calling thread."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()

    async def blocking(self, fn: Callable[..., T], *args: Any) -> T:
        future = asyncio.get_running_loop().create_future()
        self.jobs.put((fn, args, future))
        return await future

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run the coroutine on the gateway's loop, doing its blocking work
        here, until it ends."""
        the_loop = loop()
        done = asyncio.run_coroutine_threadsafe(coroutine, the_loop)
        done.add_done_callback(lambda _: self.jobs.put(None))
        while (job := self.jobs.get()) is not None:
            fn, args, future = job
            try:
                result = fn(*args)
            except BaseException as e:  # handed to the coroutine that asked
                the_loop.call_soon_threadsafe(_settle, future, None, e)
            else:
                the_loop.call_soon_threadsafe(_settle, future, result, None)
        return done.result()


def _settle(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _close() -> None:
    """Close the loop's backend connections at exit (aiohttp warns otherwise)."""
    from gateway import client

    if _loop is not None and _pid == os.getpid() and _loop.is_running():
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(client.close(), _loop).result(timeout=2)
