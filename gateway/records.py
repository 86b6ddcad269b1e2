"""Writing call records without making the caller wait for the database.

A plain INSERT per call costs a commit (an fsync on SQLite), which is more
than the whole rest of the gateway's work. So by default each process keeps a
bounded queue that a background thread drains in batches (one bulk INSERT per
batch). The queue is flushed when the process exits; when it is full the
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
from django.db import IntegrityError, close_old_connections

from gateway.models import Call

log = logging.getLogger(__name__)

BATCH = 500
INTERVAL = 0.25


class Recorder:
    def __init__(self, maxsize: int = 10_000):
        self.maxsize = maxsize
        self._pid = None
        self._queue: queue.Queue[Call] = queue.Queue(maxsize)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stopping = threading.Event()

    def record(self, call: Call) -> None:
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

    def _take(self, block: bool) -> list[Call]:
        batch: list[Call] = []
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

    def _write(self, batch: list[Call]) -> None:
        # One writer at a time per process keeps SQLite's write lock short.
        with self._write_lock:
            write(batch)


REFERENCES = ("api", "operation", "product", "subscription", "user")


def write(batch: list[Call]) -> None:
    """Insert a batch of records. A record whose API, operation, product,
    subscription or user was deleted after the call must not take the rest of
    its batch down with it: on failure the dangling references are dropped
    and the batch is written again."""
    try:
        # In autocommit, one INSERT (or bulk_create's own transaction) is
        # all or nothing: no savepoint needed on the usual path.
        Call.objects.bulk_create(batch)
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
    for call in batch:
        call.pk = None  # set by the failed insert on PostgreSQL, rolled back since
    Call.objects.bulk_create(batch)


recorder = Recorder()


def record(call: Call) -> None:
    recorder.record(call)


def flush() -> None:
    recorder.flush()


atexit.register(flush)
