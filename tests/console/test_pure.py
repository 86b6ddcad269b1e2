"""The console's pure modules: building, masking, snippets and showing content."""

from __future__ import annotations

from apis import urltemplate
from console import build, render


def built(max_body_bytes=10_000_000, **data):
    return build.build(
        method="POST",
        template=urltemplate.parse("/items/{id}?v={v}"),
        base_url="https://gw.example/api",
        required={"id"},
        header_params={"authorization": True},
        data=build.ConsoleInput(**data),
        max_body_bytes=max_body_bytes,
    )


def test_a_body_over_the_gateways_limit_is_a_field_error_counted_in_utf8_bytes():
    ok = {"params": {"id": "1"}, "headers": [("Authorization", "Bearer x")]}
    assert "body" not in built(max_body_bytes=8, body="12345678", **ok).errors
    # Eight characters, but "é" is two bytes: nine bytes, one too many.
    error = built(max_body_bytes=8, body="1234567é", **ok).errors["body"]
    assert error == "The body is 9 bytes; the gateway accepts at most 8 bytes."


def test_secrets_keep_their_scheme_word_and_last_four_characters():
    assert build.mask("Bearer abcdefghijkl") == "Bearer ••••••••ijkl"
    assert build.mask("Bearer ") == "Bearer "
    assert build.mask("short") == "••••••••"
    assert build.mask("") == ""


def test_a_missing_path_parameter_shows_a_placeholder_in_the_preview_and_an_error():
    request = built(headers=[("Authorization", "Bearer x")])
    assert request.errors == {"p_id": "This parameter is required."}
    assert request.url == "" and request.preview_url == "https://gw.example/api/items/{id}"


def test_a_required_header_must_be_there():
    assert "headers" in built(params={"id": "1"}).errors


def test_the_json_check_gives_line_and_column():
    request = built(
        params={"id": "1"}, headers=[("Authorization", "B x"), ("Content-Type", "application/json")], body='{"a":\n  }'
    )
    assert request.json_warning == "Not valid JSON: Expecting value at line 2, column 3."
    assert request.ok  # a warning, not an error: sending is still allowed


def test_urls_stay_under_the_base():
    assert build.stays_under("https://gw.example/api/items/1", "https://gw.example/api")
    assert not build.stays_under("https://gw.example/api/../admin", "https://gw.example/api")
    assert not build.stays_under("https://gw.example/apix", "https://gw.example/api")
    assert not build.stays_under("https://evil.example/api/x", "https://gw.example/api")
    assert not build.stays_under("https://gw.example/api/x#f", "https://gw.example/api")


def test_history_urls_hide_secret_query_values():
    assert build.redact_url("https://g/a?subscription-key=abc&x=1") == "https://g/a?subscription-key=••••••••&x=1"


def test_content_is_classified_by_type_and_sniffed_without_one():
    assert render.kind_of("application/problem+json", b"{}") == "json"
    assert render.kind_of("text/html", b"<p>") == "html"
    assert render.kind_of("image/png", b"\x89PNG") == "binary"
    assert render.kind_of("", b"plain words") == "text"
    assert render.kind_of("", b"\x00\x01\xff\xfe") == "binary"


def test_markup_is_escaped_then_highlighted():
    html = render.show("text/html", b'<script>alert("x")</script><a href="y">z</a>').html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<span class="x-attr">href</span>' in html


def test_download_names_are_made_safe():
    assert render.download_name('attachment; filename="../../etc/passwd"', "") == "passwd"
    assert render.download_name("attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf", "") == "résumé.pdf"
    assert render.download_name("", "image/png") == "response.png"


def test_rate_limit_and_quota_headers_read_as_calls_left():
    headers = [
        ("X-RateLimit-Limit", "5"),
        ("X-RateLimit-Remaining", "3"),
        ("X-Quota-Limit", "100"),
        ("X-Quota-Remaining", "97"),
    ]
    assert render.calls_left(headers) == [("Rate limit: calls left", "3 of 5"), ("Quota: calls left", "97 of 100")]
