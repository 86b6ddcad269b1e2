"""One developer cannot block everyone's console with sends to a hanging backend."""

from __future__ import annotations

import threading
import time

import pytest
from django.urls import reverse

from console import send
from console.build import BuiltRequest

pytestmark = pytest.mark.django_db(transaction=True)

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def proxied(proxied, settings):
    """The console's proxied echo API, with a short console deadline."""
    settings.GATEWAY_READ_TIMEOUT = 60
    settings.CONSOLE_TIMEOUT = 1
    send.shutdown()  # a pool of the size each test sets
    yield proxied
    send.shutdown()


def built(mode: str, sleep: float = 4) -> BuiltRequest:
    return BuiltRequest("GET", f"http://testserver/gateway/echo/{mode}", [("X-Sleep", str(sleep))], "")


def test_a_send_thread_is_free_again_at_the_consoles_deadline(client, alice, settings, proxied):
    settings.CONSOLE_SEND_THREADS = 1
    started = time.perf_counter()
    hung = send.send(built("slow"))
    assert "did not answer" in hung.error or hung.status == 504
    assert time.perf_counter() - started < 2.5
    # The only send thread is not still waiting on the hanging backend.
    client.force_login(alice)
    html = client.post(reverse("console-send", args=[proxied["get"].pk]), {"p_name": "box"}, **HX).content.decode()
    assert "200 OK" in html, html


def test_a_developer_has_at_most_a_few_sends_under_way(client, alice, bob, settings, proxied):
    settings.CONSOLE_SEND_THREADS = 4
    settings.CONSOLE_SENDS_PER_DEVELOPER = 2
    settings.CONSOLE_TIMEOUT = 3
    waiting = [threading.Thread(target=send.send, args=(built("slow"),), kwargs={"sender": alice.pk}) for _ in "ab"]
    for thread in waiting:
        thread.start()
    time.sleep(0.5)
    try:
        client.force_login(alice)
        html = client.post(reverse("console-send", args=[proxied["get"].pk]), {"p_name": "box"}, **HX)
        assert "You already have 2 requests waiting for an answer" in html.content.decode()
        client.force_login(bob)
        html = client.post(reverse("console-send", args=[proxied["get"].pk]), {"p_name": "box"}, **HX)
        assert "200 OK" in html.content.decode()
    finally:
        for thread in waiting:
            thread.join(timeout=10)
    # Once her sends are over, she may send again.
    client.force_login(alice)
    html = client.post(reverse("console-send", args=[proxied["get"].pk]), {"p_name": "box"}, **HX)
    assert "200 OK" in html.content.decode()
