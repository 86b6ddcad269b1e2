"""The real `manage.py mlworker` process: cancelled mid-job, and killed mid-job.

These need a database the worker process shares with the test: PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from mlservice import worker
from mlservice.models import BatchJob, WebService

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_env(settings, azurite):
    if connection.vendor != "postgresql":
        pytest.skip("A worker process shares the test database only on PostgreSQL.")
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "MLSERVICE_WORKER_POLL_SECONDS": "0.2",
        "MLSERVICE_WORKER_HEARTBEAT_SECONDS": "0.2",
        "MLSERVICE_DEMO_INPUT": "0",
        "MLSERVICE_STORAGE_ALLOWED_HOSTS": ",".join(settings.MLSERVICE_STORAGE_ALLOWED_HOSTS),
    }


@pytest.fixture
def big_job(azurite, container):
    service = WebService.objects.create(name="big", bits=3, ngrams=2)
    text = "Col2\n" + "".join(f"review number {n} of a book that was good\n" for n in range(60_000))
    container.upload_blob("big.csv", text.encode())
    ref = {"ConnectionString": azurite.connection_string}
    job = BatchJob.objects.create(
        service=service,
        input_ref={**ref, "RelativeLocation": f"/{container.container_name}/big.csv"},
        outputs={"output1": {**ref, "RelativeLocation": f"/{container.container_name}/out.csv"}},
    )
    job.start()
    return job


def start_worker(env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "mlworker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_a_cancelled_job_stops_in_the_worker_process(worker_env, big_job, container):
    process = start_worker(worker_env)
    try:
        assert wait_until(lambda: BatchJob.objects.get(pk=big_job.pk).rows > 0)
        # Freeze the worker mid-job, so that even a busy machine cannot let it finish first.
        process.send_signal(signal.SIGSTOP)
        assert BatchJob.objects.get(pk=big_job.pk).state == "Running"
        big_job.cancel()  # what DELETE .../jobs/{id} does
        process.send_signal(signal.SIGCONT)
        time.sleep(2)  # several heartbeats
        job = BatchJob.objects.get(pk=big_job.pk)
        assert job.state == "Cancelled"
        assert job.rows < 60_000
        assert not container.get_blob_client("out.csv").exists()
        assert process.poll() is None  # the worker lives on, waiting for the next job
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_a_job_of_a_killed_worker_process_runs_again(worker_env, big_job, container):
    process = start_worker(worker_env)
    assert wait_until(lambda: BatchJob.objects.get(pk=big_job.pk).rows > 0)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    job = BatchJob.objects.get(pk=big_job.pk)
    assert job.state == "Running" and job.claimed_by  # held by a dead worker
    assert worker.free_jobs_of_dead_local_workers() == 1
    assert worker.run_once("restarted-worker") == "Finished"
    job.refresh_from_db()
    assert job.rows == 60_000 and job.attempts == 2
    lines = container.get_blob_client("out.csv").download_blob().readall().count(b"\n")
    assert lines == 60_001
