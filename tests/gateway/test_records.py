"""Call records written by the background writer."""

from __future__ import annotations

import pytest

from gateway import records
from gateway.models import Call

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_writes_records_in_the_background_and_flush_makes_them_visible(client, echo_api, key, settings):
    settings.GATEWAY_RECORD_ASYNC = True
    recorder = records.Recorder()
    original, records.recorder = records.recorder, recorder
    try:
        ids = [
            client.get("/gateway/echo/items/1", headers={"Ocp-Apim-Subscription-Key": key})["X-Portico-Request-Id"]
            for _ in range(3)
        ]
        client.get("/gateway/echo/items/1")  # refused calls are recorded too
        recorder.flush()
        import time

        for _ in range(50):  # the writer thread may hold a batch it took just before the flush
            if Call.objects.count() == 4:
                break
            time.sleep(0.05)
        assert set(ids) <= set(Call.objects.values_list("request_id", flat=True))
        assert Call.objects.filter(outcome="unauthorized").count() == 1
    finally:
        recorder.stop()
        records.recorder = original


def test_it_writes_in_the_request_thread_when_the_queue_is_full(echo_api, settings):
    settings.GATEWAY_RECORD_ASYNC = True
    from django.utils import timezone

    recorder = records.Recorder(maxsize=1)
    recorder._ensure_thread = lambda: None  # no writer: the queue stays full

    def make(n):
        return Call(
            created=timezone.now(),
            request_id=f"r{n}",
            method="GET",
            path="/",
            status=200,
            outcome="success",
            total_ms=1,
        )

    recorder.record(make(1))
    recorder.record(make(2))
    assert list(Call.objects.values_list("request_id", flat=True)) == ["r2"]
    recorder.flush()
    assert Call.objects.count() == 2
