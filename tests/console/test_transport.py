"""The in-process transport: the console reaches the real gateway without a second server thread."""

from __future__ import annotations

import pytest
from django.urls import reverse

from console.models import Send
from gateway.models import Call

# The exchange runs on the console's own threads, which must see the test's rows.
pytestmark = pytest.mark.django_db(transaction=True)

HX = {"HTTP_HX_REQUEST": "true"}


def test_a_send_goes_through_the_real_gateway_and_is_recorded(client, alice, tiny_server, proxied):
    client.force_login(alice)
    html = client.post(
        reverse("console-send", args=[proxied["get"].pk]), {"p_name": "box", "p_q": "a b"}, **HX
    ).content.decode()
    assert tiny_server.seen[-1]["path"] == "/x/y/things/box?q=a%20b"
    assert "200 OK" in html and "GET http://testserver/gateway/echo/things/box?q=a%20b" in html
    sent = Send.objects.get()
    assert Call.objects.get(request_id=sent.request_id).operation_id == proxied["get"].pk


def test_the_call_record_has_the_developers_address_not_the_portals(client, alice, tiny_server, proxied):
    client.force_login(alice)
    client.post(reverse("console-send", args=[proxied["get"].pk]), {"p_name": "box"}, REMOTE_ADDR="203.0.113.9", **HX)
    assert Call.objects.get(request_id=Send.objects.get().request_id).client_ip == "203.0.113.9"


@pytest.mark.parametrize("value", ["..", "%2e%2e", "../../admin", ".", "a/../../b"])
def test_dot_segments_never_climb_out_in_process_either(client, alice, tiny_server, proxied, value):
    client.force_login(alice)
    client.post(reverse("console-send", args=[proxied["get"].pk]), {"p_name": value}, **HX)
    if tiny_server.seen:  # the gateway may refuse it outright; it must never reach another path
        path = tiny_server.seen[-1]["path"].split("?")[0]
        assert path.startswith("/x/y/things/") and "/../" not in path + "/" and path.count("/") == 4


def test_gzip_from_the_backend_through_the_gateway_is_decoded(client, alice, proxied):
    client.force_login(alice)
    html = client.post(reverse("console-send", args=[proxied["gzip"].pk]), {}, **HX).content.decode()
    assert "zipped" in html


def test_the_gateways_own_errors_show_as_responses(client, alice, proxied):
    api = proxied["get"].api
    api.subscription_required = True
    api.save()
    client.force_login(alice)
    html = client.post(reverse("console-send", args=[proxied["get"].pk]), {"p_name": "x"}, **HX).content.decode()
    assert "401" in html and "missing subscription key" in html


def test_a_backend_slower_than_the_console_timeout_is_cut_off_at_the_deadline(client, alice, proxied, settings):
    import time

    from console import send

    settings.CONSOLE_TIMEOUT = 1  # the backend takes 2.5 s; the gateway would wait 60
    client.force_login(alice)
    started = time.monotonic()
    data = {"h_name": ["X-Sleep"], "h_value": ["2.5"]}
    html = client.post(reverse("console-send", args=[proxied["slow"].pk]), data, **HX).content.decode()
    assert time.monotonic() - started < 2
    assert "did not answer within 1 second." in html
    send.shutdown()  # let the abandoned exchange finish while this test's settings hold
