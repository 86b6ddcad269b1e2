"""On PostgreSQL every thread borrows from Django's connection pool: many
more threads than DB_POOL_SIZE all get their queries answered, on at most
DB_POOL_SIZE server connections (what keeps workers x threads under
max_connections)."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connection, connections


@pytest.mark.django_db(transaction=True)
def test_forty_threads_share_the_pools_connections():
    if connection.vendor != "postgresql":
        pytest.skip("The connection pool is PostgreSQL's (DATABASE_URL=postgres://...).")
    size = settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]
    backends: list[int] = []
    errors: list[Exception] = []
    barrier = threading.Barrier(40)

    def query() -> None:
        try:
            barrier.wait()
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid(), pg_sleep(0.05)")
                backends.append(cursor.fetchone()[0])
        except Exception as e:  # pragma: no cover - the failure the test is for
            errors.append(e)
        finally:
            # What Django does at the end of a request: back to the pool.
            connections.close_all()

    threads = [threading.Thread(target=query) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(backends) == 40
    assert len(set(backends)) <= size < 40
