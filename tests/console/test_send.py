"""Sending from the console: what reaches the gateway, and what the developer sees back."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from console.models import Send

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def send(client, op, **data):
    fields = {"h_name": [], "h_value": [], "rep": "0"}
    fields.update(data)
    return client.post(reverse("console-send", args=[op.pk]), fields, **HX)


@pytest.fixture
def logged_in(client, alice):
    client.force_login(alice)
    return client


def test_it_sends_the_expanded_url_and_shows_status_headers_and_content(logged_in, backend, echo_api):
    response = send(logged_in, echo_api["get"], p_name="box", p_q="red apples", h_name=["X-Test"], h_value=["yes"])
    assert response.status_code == 200
    seen = backend.seen[-1]
    assert seen["path"] == "/gw/echo/things/box?q=red%20apples"
    assert seen["headers"]["X-Test"] == "yes"
    html = response.content.decode()
    assert "GET " + backend.url + "/gw/echo/things/box?q=red%20apples" in html
    assert "200 OK" in html
    assert "X-Portico-Request-Id" in html
    assert "Rate limit: calls left" in html and "4 of 5" in html
    assert 'data-pretty="json"' in html and "&quot;method&quot;: &quot;GET&quot;" in html


def test_it_records_the_send_with_secrets_redacted_and_the_gateway_request_id(logged_in, backend, echo_api):
    send(logged_in, echo_api["get"], p_name="box", h_name=["Authorization"], h_value=["Bearer supersecretvalue123"])
    assert backend.seen[-1]["headers"]["Authorization"] == "Bearer supersecretvalue123"
    sent = Send.objects.get()
    assert sent.request_id == "req1"
    assert "supersecret" not in str(sent.form)
    assert sent.form["headers"] == [["Authorization", "Bearer ••••••••e123"]] or sent.form["headers"] == [
        ("Authorization", "Bearer ••••••••e123")
    ]


def test_a_missing_required_parameter_is_a_field_error_and_nothing_is_sent(logged_in, backend, echo_api):
    response = send(logged_in, echo_api["get"], p_name="", p_q="x")
    html = response.content.decode()
    assert response.status_code == 200
    assert "This parameter is required." in html
    assert "Nothing was sent" in html
    assert response["HX-Retarget"] == f"#console-form-{echo_api['get'].pk}"
    assert backend.seen == []
    assert not Send.objects.exists()


@pytest.mark.parametrize("name", ["Bad Header", "X-A:b", "", "Ünï"])
def test_an_invalid_header_name_is_a_field_error(logged_in, backend, echo_api, name):
    response = send(logged_in, echo_api["get"], p_name="a", h_name=[name], h_value=["v"])
    assert "Not a valid header name" in response.content.decode()
    assert backend.seen == []


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\x00b"])
def test_a_line_break_in_a_header_value_is_a_field_error(logged_in, backend, echo_api, value):
    response = send(logged_in, echo_api["get"], p_name="a", h_name=["X-Test"], h_value=[value])
    assert "cannot contain line breaks" in response.content.decode()
    assert backend.seen == []


@pytest.mark.parametrize(
    "value, expected",
    [
        ("../../admin", "/gw/echo/things/..%2F..%2Fadmin"),
        ("..", "/gw/echo/things/%2E%2E"),
        ("%2e%2e/", "/gw/echo/things/%252e%252e%2F"),
        ("@evil.example", "/gw/echo/things/%40evil.example"),
        ("x#frag", "/gw/echo/things/x%23frag"),
        ("x?admin=1", "/gw/echo/things/x%3Fadmin%3D1"),
        ("a\r\nHost: evil", "/gw/echo/things/a%0D%0AHost%3A%20evil"),
        ("//evil.example/x", "/gw/echo/things/%2F%2Fevil.example%2Fx"),
    ],
)
def test_no_value_can_leave_the_operations_path(logged_in, backend, echo_api, value, expected):
    send(logged_in, echo_api["get"], p_name=value, p_q="&x=1#y")
    seen = backend.seen[-1]
    assert seen["path"] == expected + "?q=%26x%3D1%23y"
    assert seen["headers"]["Host"] == backend.url.removeprefix("http://")


def test_a_very_long_value_is_a_field_error_not_a_request(logged_in, backend, echo_api):
    response = send(logged_in, echo_api["get"], p_name="x" * 5000)
    assert "Too long" in response.content.decode()
    assert backend.seen == []


def test_extra_query_parameters_are_encoded_into_the_query(logged_in, backend, echo_api):
    send(logged_in, echo_api["get"], p_name="a", q_name=["page&x", "size"], q_value=["2#", "10"])
    assert backend.seen[-1]["path"] == "/gw/echo/things/a?q=&page%26x=2%23&size=10".replace("q=&", "")


def test_script_from_a_backend_is_shown_as_text(logged_in, backend, echo_api):
    html = send(logged_in, echo_api["script"]).content.decode()
    assert "<script>window.pwned" not in html
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in html.replace('<span class="x-tag">', "").replace(
        "</span>", ""
    )


def test_gzip_content_is_decoded(logged_in, backend, echo_api):
    html = send(logged_in, echo_api["gzip"]).content.decode()
    assert "zipped" in html and "true" in html


def test_a_429_shows_its_retry_after_countdown(logged_in, backend, echo_api):
    html = send(logged_in, echo_api["throttled"]).content.decode()
    assert "429 Too Many Requests" in html
    assert 'data-retry-after="30"' in html
    assert "0 of 5" in html


def test_binary_content_is_a_download_named_by_content_disposition(logged_in, backend, echo_api):
    html = send(logged_in, echo_api["binary"]).content.decode()
    sent = Send.objects.get()
    url = reverse("console-body", args=[sent.pk])
    assert f'href="{url}"' in html and "Download data.bin" in html
    download = logged_in.get(url)
    assert download.content == bytes(range(256)) * 4
    assert download["Content-Disposition"] == 'attachment; filename="data.bin"'


def test_an_image_gets_a_preview(logged_in, backend, echo_api):
    html = send(logged_in, echo_api["image"]).content.decode()
    sent = Send.objects.get()
    assert f'src="{reverse("console-body", args=[sent.pk])}?inline=1"' in html
    assert "Download chart.png" in html
    inline = logged_in.get(reverse("console-body", args=[sent.pk]) + "?inline=1")
    assert inline["Content-Type"] == "image/png"


def test_someone_elses_download_is_a_404(logged_in, backend, echo_api, client, bob):
    send(logged_in, echo_api["binary"])
    sent = Send.objects.get()
    client.force_login(bob)
    assert client.get(reverse("console-body", args=[sent.pk])).status_code == 404


def test_a_big_response_is_truncated_in_the_page_with_a_download_link(logged_in, backend, echo_api):
    response = send(logged_in, echo_api["big"])
    html = response.content.decode()
    assert "only the beginning is below" in html
    assert "Download it whole" in html
    assert len(html) < 600_000
    sent = Send.objects.get()
    assert len(sent.body) > 5_000_000


def test_an_endless_response_stops_at_the_cap(logged_in, backend, echo_api, settings):
    settings.CONSOLE_DOWNLOAD_CAP = 1024 * 1024
    started = time.monotonic()
    html = send(logged_in, echo_api["endless"]).content.decode()
    assert time.monotonic() - started < 5
    assert "stopped reading" in html
    assert len(Send.objects.get().body) == 1024 * 1024


def test_a_slow_gateway_is_a_clear_message_within_the_timeout(logged_in, backend, echo_api):
    started = time.monotonic()
    response = send(logged_in, echo_api["slow"])
    assert time.monotonic() - started < 5
    assert response.status_code == 200
    assert "did not answer within 3 seconds" in response.content.decode()


def test_an_unreachable_gateway_is_a_clear_message(logged_in, echo_api, settings):
    settings.GATEWAY_URL = "http://127.0.0.1:9/gw"
    settings.CONSOLE_TRANSPORT = "http"
    response = send(logged_in, echo_api["get"], p_name="a")
    assert response.status_code == 200
    assert "Could not reach the gateway" in response.content.decode()


def test_xml_is_pretty_printed(logged_in, backend, echo_api):
    html = send(logged_in, echo_api["xml"]).content.decode()
    assert "lang-xml" in html and "\n  " in html


def test_anonymous_visitors_cannot_send(client, backend, echo_api):
    html = send(client, echo_api["get"], p_name="a").content.decode()
    assert "Log in to send" in html
    assert backend.seen == []


def test_every_post_needs_the_csrf_token(alice, backend, echo_api):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    for name in ("console-send", "console-preview", "console-form"):
        assert client.post(reverse(name, args=[echo_api["get"].pk]), {"p_name": "a"}).status_code == 403
    assert backend.seen == []


def test_a_turned_off_console_cannot_be_used(logged_in, backend, echo_api):
    op = echo_api["get"]
    op.console_enabled = False
    op.save()
    assert send(logged_in, op, p_name="a").status_code == 404
    op.console_enabled = True
    op.save()
    op.api.console_enabled = False
    op.api.save()
    assert send(logged_in, op, p_name="a").status_code == 404
    assert backend.seen == []


@pytest.mark.parametrize("history", ["abc", "1.5", "-1", "99999999999999999999"])
def test_a_history_id_that_names_no_entry_is_a_404(logged_in, backend, echo_api, history):
    assert (
        logged_in.post(reverse("console-send", args=[echo_api["get"].pk]), {"history": history}, **HX).status_code
        == 404
    )
    assert backend.seen == []


def test_anonymous_visitors_resending_a_history_entry_are_asked_to_log_in(client, backend, echo_api):
    html = client.post(reverse("console-send", args=[echo_api["get"].pk]), {"history": "1"}, **HX).content.decode()
    assert "Log in to send" in html
    assert backend.seen == []


def test_a_key_typed_into_the_query_stays_out_of_the_log(logged_in, backend, echo_api, monkeypatch, caplog):
    from django.db import DatabaseError

    def fail(*args, **kwargs):
        raise DatabaseError("database is locked")

    monkeypatch.setattr(Send, "save", fail)
    response = send(
        logged_in, echo_api["get"], p_name="a", q_name=["subscription-key"], q_value=["topsecretkey0123456789"]
    )
    assert response.status_code == 200
    assert "could not keep send" in caplog.text
    assert "topsecretkey0123456789" not in caplog.text


def test_a_failing_in_process_gateway_logs_the_url_without_the_key(logged_in, echo_api, settings, monkeypatch, caplog):
    from console.transport import InProcessAdapter

    def fail(*args, **kwargs):
        raise RuntimeError("boom")

    settings.CONSOLE_TRANSPORT = "inprocess"
    monkeypatch.setattr(InProcessAdapter, "send", fail)
    html = send(
        logged_in, echo_api["get"], p_name="a", q_name=["subscription-key"], q_value=["topsecretkey0123456789"]
    ).content.decode()
    assert "The gateway failed while handling the request" in html
    assert "console send to" in caplog.text
    assert "topsecretkey0123456789" not in caplog.text
