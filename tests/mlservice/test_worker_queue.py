"""Several workers on one PostgreSQL never run one job twice."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from mlservice import worker
from mlservice.models import BatchJob, WebService


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_claim_each_job_exactly_once():
    if connection.vendor != "postgresql":
        pytest.skip("Concurrent claims need a database shared between threads (PostgreSQL).")
    service = WebService.objects.create(name="queue")
    for _ in range(40):
        job = BatchJob.objects.create(service=service, input_ref={}, outputs={})
        job.start()
    claims: list[tuple[str, int]] = []
    barrier = threading.Barrier(6)

    def work(n: int) -> None:
        try:
            barrier.wait()
            while (job := worker.claim(f"w{n}")) is not None:
                claims.append((f"w{n}", job.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [pk for _, pk in claims]
    assert sorted(claimed) == sorted(set(claimed))
    assert len(claimed) == 40
