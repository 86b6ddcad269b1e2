"""The BES worker: a queue kept in the BatchJob rows, and the job runner.

Why not django-tasks' database backend: a BES job already needs its own row
(AzureML's states, blob references, results, details), the worker must see a
cancellation while it runs, and a job whose worker was killed must come back.
django-tasks would add a second table and a second state machine next to
ours, with no lease or heartbeat to recover a task from a killed worker. So
the queue is the job table itself:

* ``start`` puts a job in state Running with no lease: it is queued.
* A worker claims the oldest queued job (or one whose lease ran out) and
  holds a lease it renews with each heartbeat. On PostgreSQL the claim is a
  SELECT ... FOR UPDATE SKIP LOCKED; on every database it is completed by a
  conditional UPDATE, so two workers can never both win one job.
* A worker that dies stops renewing; once the lease runs out another worker
  (or the same one, restarted) takes the job again. A restarted worker frees
  at once the jobs still held by dead processes of its own host. After
  MLSERVICE_JOB_MAX_ATTEMPTS claims the job is failed with that reason.
* Every heartbeat is a conditional UPDATE on (job, this worker, Running): when
  it matches nothing the job was cancelled (or taken over) and the worker
  stops without committing the output blob.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import signal
import socket
import threading
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from mlservice import blobs, egress, hashing, protocol
from mlservice.models import BatchJob

log = logging.getLogger(__name__)
ROWS_PER_CHECK = 2000


class JobFailed(Exception):
    """The job cannot finish; the message is its Details."""


class StopRunning(Exception):
    """The job is no longer ours to run (cancelled, taken over, or we are shutting down)."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def free_jobs_of_dead_local_workers() -> int:
    """Jobs held by processes of this host that no longer exist go back to the queue now."""
    host = socket.gethostname()
    freed = 0
    for job in BatchJob.objects.filter(state=BatchJob.RUNNING, claimed_by__startswith=f"{host}:"):
        try:
            pid = int(job.claimed_by.split(":")[1])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not pid_alive(pid):
            freed += BatchJob.objects.filter(pk=job.pk, claimed_by=job.claimed_by, state=BatchJob.RUNNING).update(
                lease_expires=None, claimed_by=""
            )
    return freed


def claim(worker: str) -> BatchJob | None:
    now = timezone.now()
    lease = timedelta(seconds=settings.MLSERVICE_WORKER_LEASE_SECONDS)
    with transaction.atomic():
        queued = BatchJob.objects.filter(state=BatchJob.RUNNING).filter(
            Q(lease_expires__isnull=True) | Q(lease_expires__lt=now)
        )
        if connection.features.has_select_for_update_skip_locked:
            queued = queued.select_for_update(skip_locked=True)
        job = queued.order_by("started", "id").first()
        if job is None:
            return None
        won = BatchJob.objects.filter(
            pk=job.pk, state=BatchJob.RUNNING, claimed_by=job.claimed_by, lease_expires=job.lease_expires
        ).update(claimed_by=worker, lease_expires=now + lease, heartbeat=now, attempts=F("attempts") + 1)
    if not won:
        return None
    job.refresh_from_db()
    if job.attempts > settings.MLSERVICE_JOB_MAX_ATTEMPTS:
        finish(
            job,
            worker,
            BatchJob.FAILED,
            details=(
                f"The job was started {job.attempts - 1} times and each time its worker stopped (killed or crashed) "
                "before the job ended; it is not tried again. Submit it again, perhaps with a smaller input."
            ),
        )
        return None
    return job


def finish(job: BatchJob, worker: str, state: str, *, details: str = "", results: dict | None = None) -> bool:
    return bool(
        BatchJob.objects.filter(pk=job.pk, claimed_by=worker, state=BatchJob.RUNNING).update(
            state=state, details=details, results=results, ended=timezone.now(), lease_expires=None, rows=job.rows
        )
    )


class Runner:
    """Runs one claimed job: input blob -> Feature Hashing -> output blob, streaming."""

    def __init__(self, job: BatchJob, worker: str, *, stopping=lambda: False) -> None:
        self.job, self.worker, self.stopping = job, worker, stopping
        self.next_beat = 0.0

    def beat(self, rows: int) -> None:
        now = timezone.now()
        lease = timedelta(seconds=settings.MLSERVICE_WORKER_LEASE_SECONDS)
        alive = BatchJob.objects.filter(pk=self.job.pk, claimed_by=self.worker, state=BatchJob.RUNNING).update(
            heartbeat=now, lease_expires=now + lease, rows=rows
        )
        if not alive:
            raise StopRunning("cancelled")
        if self.stopping():
            raise StopRunning("shutdown")

    def maybe_beat(self, rows: int) -> None:
        if time.monotonic() >= self.next_beat:
            self.beat(rows)
            self.next_beat = time.monotonic() + settings.MLSERVICE_WORKER_HEARTBEAT_SECONDS

    def run(self) -> str:
        job = self.job
        try:
            results = self.process()
        except StopRunning as e:
            if str(e) == "shutdown":
                # Back to the queue at once, and this attempt does not count.
                BatchJob.objects.filter(pk=job.pk, claimed_by=self.worker, state=BatchJob.RUNNING).update(
                    claimed_by="", lease_expires=None, attempts=F("attempts") - 1
                )
                return "released"
            job.refresh_from_db()
            return job.state
        except (JobFailed, blobs.StorageProblem) as e:
            finish(job, self.worker, BatchJob.FAILED, details=str(e))
            return BatchJob.FAILED
        except Exception:
            log.exception("mlservice: job %s failed unexpectedly", job.job_id)
            finish(
                job,
                self.worker,
                BatchJob.FAILED,
                details="The job failed on an internal error of the web service; see the worker's log.",
            )
            return BatchJob.FAILED
        if finish(job, self.worker, BatchJob.FINISHED, results=results):
            return BatchJob.FINISHED
        job.refresh_from_db()
        return job.state

    def process(self) -> dict:
        job, service = self.job, self.job.service
        params = job.global_parameters or {}
        bits = int(params.get(protocol.BITS_PARAMETER, service.bits))
        ngrams = int(params.get(protocol.NGRAMS_PARAMETER, service.ngrams))
        if (1 << bits) > settings.MLSERVICE_MAX_OUTPUT_CELLS:
            raise JobFailed(
                f"A hashing bitsize of {bits} makes {1 << bits} columns per row, more than this service's limit of "
                f"{settings.MLSERVICE_MAX_OUTPUT_CELLS}; use a smaller Hashing bitsize."
            )
        hasher = hashing.FeatureHasher(bits, ngrams)
        if not job.input_ref or "output1" not in job.outputs:
            raise JobFailed(
                "The job's storage references can no longer be read: the server's KEY_ENCRYPTION_KEY "
                "(or SECRET_KEY) changed since it was submitted. Submit it again."
            )
        timeout, retries = settings.MLSERVICE_STORAGE_TIMEOUT, settings.MLSERVICE_STORAGE_RETRIES
        allowed = egress.AllowList(settings.MLSERVICE_STORAGE_ALLOWED_HOSTS)
        source = blobs.open_blob(job.input_ref, "input1", timeout=timeout, retries=retries, allowed=allowed)
        output_ref = job.outputs["output1"]
        target = blobs.open_blob(output_ref, "output1", timeout=timeout, retries=retries, allowed=allowed)
        self.beat(0)

        raw = io.BufferedReader(blobs.ChunkReader(blobs.download_chunks(source)), buffer_size=1024 * 1024)
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(text, strict=True)
        writer_target = blobs.BlockWriter(target, timeout=timeout * 3)
        writer = csv.writer(writer_target, lineterminator="\r\n")
        column = service.target_column
        rows = 0
        try:
            header = next(reader, None)
            if header is None:
                raise JobFailed(
                    f"The input blob {source.where} is empty: it needs a header row with a '{column}' column."
                )
            if column not in header:
                raise JobFailed(
                    f"The input file has no '{column}' column: its header row has {', '.join(repr(h) for h in header) or 'no columns'}. "
                    f"The first row must name the columns, one of them '{column}'."
                )
            position, width = header.index(column), len(header)
            writer.writerow(header + hashing.feature_names(column, bits))
            counts = hasher.count_strings
            writerow = writer.writerow
            # Wide rows (a large bitsize) are slow: then look at the clock after
            # every row, so the heartbeat never misses the lease.
            check_every = ROWS_PER_CHECK if bits <= 12 else 1
            for row in reader:
                if len(row) != width:
                    if not row:
                        if width != 1:
                            continue  # a blank line
                        row = [""]
                    else:
                        raise JobFailed(
                            f"Line {reader.line_num} of the input file has {len(row)} fields; the header row has {width}. "
                            "Check for a missing or extra delimiter, or an unquoted comma in a text."
                        )
                row.extend(counts(row[position]))
                writerow(row)
                rows += 1
                if rows % check_every == 0:
                    self.job.rows = rows
                    self.maybe_beat(rows)
        except csv.Error as e:
            raise JobFailed(f"The input file is not valid CSV near line {reader.line_num}: {e}.") from None
        except UnicodeDecodeError:
            raise JobFailed(
                "The input file is not UTF-8 text; save it as UTF-8 CSV and submit the job again."
            ) from None
        self.job.rows = rows
        self.beat(rows)
        writer_target.commit()
        return {
            "output1": blobs.results_location(
                target, submitted_sas=output_ref.get("SasBlobToken"), hours=settings.MLSERVICE_RESULTS_SAS_HOURS
            )
        }


def run_once(worker: str | None = None, *, stopping=lambda: False) -> str | None:
    """Claim and run one job; its end state, or None when the queue is empty."""
    worker = worker or worker_name()
    job = claim(worker)
    if job is None:
        return None
    log.info("mlservice: worker %s runs job %s", worker, job.job_id)
    state = Runner(job, worker, stopping=stopping).run()
    log.info("mlservice: job %s ended %s", job.job_id, state)
    return state


def delete_old_jobs(now=None) -> int:
    """Jobs that ended (or were never started) more than MLSERVICE_JOB_RETENTION_DAYS ago go, with their references."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.MLSERVICE_JOB_RETENTION_DAYS)
    old = BatchJob.objects.filter(
        Q(state__in=BatchJob.TERMINAL, ended__lt=cutoff) | Q(state=BatchJob.NOT_STARTED, created__lt=cutoff)
    )
    return old.delete()[0]


def run_forever(*, burst: bool = False) -> None:
    worker = worker_name()
    stop = {"now": False}

    def on_signal(signum, frame):
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if settings.MLSERVICE_DEMO_INPUT:
        from mlservice import demo

        threading.Thread(target=demo.ensure_demo_input, daemon=True).start()
    freed = free_jobs_of_dead_local_workers()
    if freed:
        log.info("mlservice: %d job(s) of a stopped worker are queued again", freed)
    log.info("mlservice: worker %s is waiting for BES jobs", worker)
    next_cleanup = 0.0
    while not stop["now"]:
        try:
            if time.monotonic() >= next_cleanup:
                deleted = delete_old_jobs()
                if deleted:
                    log.info("mlservice: %d job(s) past MLSERVICE_JOB_RETENTION_DAYS deleted", deleted)
                next_cleanup = time.monotonic() + 3600
            state = run_once(worker, stopping=lambda: stop["now"])
        except Exception:
            # The database went away for a moment, say: keep the worker alive.
            log.exception("mlservice: worker loop error")
            state = None
            connection.close()
        if state is None:
            if burst:
                return
            time.sleep(settings.MLSERVICE_WORKER_POLL_SECONDS)


def supervise(command: list[str], *, backoff: float = 1.0, max_backoff: float = 30.0) -> int:
    """Run the worker command in a child process and start it again whenever it dies.

    What `make run` runs (Procfile): a crashed or killed worker must not stop
    the portal and Azurite with it, as honcho stops everything when one of its
    processes ends. Its jobs come back to the queue (free_jobs_of_dead_local_workers).
    SIGTERM or SIGINT stops the child and then the supervisor.
    """
    import subprocess

    stop = {"now": False}
    child: dict = {}

    def on_signal(signum, frame):
        stop["now"] = True
        process = child.get("process")
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    delay = backoff
    while True:
        started = time.monotonic()
        child["process"] = process = subprocess.Popen(command)
        code = process.wait()
        if stop["now"]:
            return 0
        # A worker that ran a while before dying is restarted at once; one that
        # dies as it starts (a broken database URL, say) waits longer each time.
        delay = backoff if time.monotonic() - started > max_backoff else min(delay * 2, max_backoff)
        log.warning("mlservice: the worker exited with code %s; starting it again in %.0f s", code, delay)
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and not stop["now"]:
            time.sleep(0.1)
        if stop["now"]:
            return 0
