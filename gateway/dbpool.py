"""A few database connections per process for the gateway's per-call reads.

Django gives every thread its own connection, kept for CONN_MAX_AGE. Under
gunicorn's gthread workers that is one connection per thread that ever
looked up a key: 4 workers x 64 threads = 256 PostgreSQL connections, past
PostgreSQL's default max_connections (100) -- the gateway then fails with
"too many clients". The key lookup and the catalog's version check are one
short SELECT each, so a handful of connections per process, lent to one
thread at a time, serve them all.

Off unless GATEWAY_DB_POOL (environment) is a positive size: gunicorn.conf.py
sets it. Tests keep the thread's own connection (the one their transaction
runs on: another connection would not see uncommitted test data, and a
SQLite in-memory database exists only on its own connection).
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Iterator

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections


def size() -> int:
    try:
        return max(0, int(os.environ.get("GATEWAY_DB_POOL", "0")))
    except ValueError:
        return 0


class Pool:
    def __init__(self, alias: str, size: int):
        self.alias, self.size, self.pid = alias, size, os.getpid()
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)

    @contextlib.contextmanager
    def connection(self) -> Iterator:
        with self._slots:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = connections.create_connection(self.alias)
                # Lent to one thread at a time, never used by two at once.
                conn.inc_thread_sharing()
            try:
                yield conn
            except BaseException:
                # Perhaps broken (a restarted server): the next use reconnects.
                with contextlib.suppress(Exception):
                    conn.close()
                raise
            finally:
                self._idle.put(conn)


_pools: dict[str, Pool] = {}
_lock = threading.Lock()


def _pool(alias: str) -> Pool | None:
    n = size()
    if not n:
        return None
    pool = _pools.get(alias)
    if pool is None or pool.pid != os.getpid():
        with _lock:
            pool = _pools.get(alias)
            if pool is None or pool.pid != os.getpid():
                pool = _pools[alias] = Pool(alias, n)
    return pool


def fetchall(sql: str, params, alias: str = DEFAULT_DB_ALIAS):
    """Run one read-only query; the rows, and the connection wrapper it ran on
    (for its ops). A pooled connection that fails is closed and the query
    tried once more on a fresh one."""
    pool = _pool(alias)
    if pool is None:
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall(), connection
    for attempt in (1, 2):
        try:
            with pool.connection() as connection:
                with connection.cursor() as cursor:
                    cursor.execute(sql, params)
                    return cursor.fetchall(), connection
        except DatabaseError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
