"""Writing call records without making the caller wait for the database.

A plain INSERT per call costs a commit (an fsync on SQLite), which is more
than the whole rest of the gateway's work. So by default each process keeps a
bounded queue that a background thread drains in batches (one executemany of
plain values per batch; the event loop only puts a record on the queue). The queue is flushed when the process exits; when it is full the
request thread writes its own record, so records are slowed, never lost.

GATEWAY_RECORD_ASYNC=0 writes each record in the request thread instead.
Tests call ``flush()`` to make the background writes deterministic.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connections, router, transaction

from gateway.models import Call
from gateway.pipeline import Record

log = logging.getLogger(__name__)

BATCH = 500
INTERVAL = 0.25


class Recorder:
    def __init__(self, maxsize: int = 10_000):
        self.maxsize = maxsize
        self._pid = None
        self._queue: queue.Queue[Record] = queue.Queue(maxsize)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stopping = threading.Event()

    def record(self, call: Record) -> None:
        if not getattr(settings, "GATEWAY_RECORD_ASYNC", True):
            self._write([call])
            return
        self._ensure_thread()
        try:
            self._queue.put_nowait(call)
        except queue.Full:
            self._write([call])

    def flush(self) -> None:
        """Write every queued record now, in the calling thread."""
        while True:
            batch = self._take(block=False)
            if not batch:
                return
            self._write(batch)

    def _ensure_thread(self) -> None:
        # After a fork (gunicorn workers), the parent's thread does not exist
        # in the child: each process starts its own on first use.
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            if self._pid != os.getpid():
                self._queue = queue.Queue(self.maxsize)
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="portico-call-recorder", daemon=True)
            self._thread.start()

    def _take(self, block: bool) -> list[Record]:
        batch: list[Record] = []
        try:
            batch.append(self._queue.get(block=block, timeout=INTERVAL if block else None))
        except queue.Empty:
            return batch
        while len(batch) < BATCH:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def stop(self) -> None:
        """Flush, and end the writer thread (tests; process exit)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()

    def _run(self) -> None:
        while not self._stopping.is_set():
            batch = self._take(block=True)
            if not batch:
                continue
            try:
                self._write(batch)
                close_old_connections()
            except Exception:  # the thread must survive a database outage
                log.exception("Could not write %d call records", len(batch))
            # Let records gather: one commit per interval, not one per call.
            if len(batch) < BATCH:
                self._stopping.wait(INTERVAL)

    def _write(self, batch: list[Record]) -> None:
        # One writer at a time per process keeps SQLite's write lock short.
        with self._write_lock:
            write(batch)


REFERENCES = ("api", "operation", "product", "subscription", "user")
COLUMNS = (
    "created",
    "request_id",
    "api_id",
    "operation_id",
    "product_id",
    "subscription_id",
    "user_id",
    "method",
    "path",
    "status",
    "outcome",
    "total_ms",
    "backend_ms",
    "bytes_in",
    "bytes_out",
    "client_ip",
)


def write(batch: list[Record]) -> None:
    """Insert a batch of records: one executemany, no model instance per call.
    A record whose API, operation, product, subscription or user was deleted
    after the call must not take the rest of its batch down with it: on
    failure the dangling references are dropped and the batch written again."""
    try:
        _insert(batch)
        return
    except IntegrityError:
        pass
    for field in REFERENCES:
        attname = f"{field}_id"
        ids = {getattr(call, attname) for call in batch} - {None}
        if not ids:
            continue
        model = Call._meta.get_field(field).related_model
        existing = set(model.objects.filter(pk__in=ids).values_list("pk", flat=True))
        for call in batch:
            if getattr(call, attname) not in existing:
                setattr(call, attname, None)
    _insert(batch)


def _insert(batch: list[Record]) -> None:
    db = router.db_for_write(Call)
    connection = connections[db]
    ops = connection.ops
    meta = Call._meta
    columns = [meta.get_field(name).column for name in COLUMNS]
    sql = (
        f"INSERT INTO {ops.quote_name(meta.db_table)} ({', '.join(ops.quote_name(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    rows = [
        (
            ops.adapt_datetimefield_value(r.created),
            r.request_id,
            r.api_id,
            r.operation_id,
            r.product_id,
            r.subscription_id,
            r.user_id,
            r.method,
            r.path,
            r.status,
            r.outcome,
            r.total_ms,
            r.backend_ms,
            r.bytes_in,
            r.bytes_out,
            ops.adapt_ipaddressfield_value(r.client_ip),
        )
        for r in batch
    ]
    # One transaction: on SQLite a dangling reference fails at the commit.
    with transaction.atomic(using=db), connection.cursor() as cursor:
        cursor.executemany(sql, rows)


recorder = Recorder()


def record(call: Record) -> None:
    recorder.record(call)


def flush() -> None:
    recorder.flush()


atexit.register(flush)
