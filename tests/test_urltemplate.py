"""URL templates: parsing, validation, expansion and matching, without Django."""

from __future__ import annotations

import string
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apis.urltemplate import ExpansionError, Router, TemplateError, parse

RRS = "/workspaces/{workspace}/services/{service}/execute?api-version={apiversion}&details={details}"


def test_it_splits_the_guide_template_into_path_and_query_parameters():
    t = parse(RRS)
    assert t.path_params == ["workspace", "service"]
    assert t.query_params == ["apiversion", "details"]
    assert [item.key for item in t.query] == ["api-version", "details"]


def test_it_expands_the_guide_template():
    url = parse(RRS).expand({"workspace": "ws1", "service": "svc1", "apiversion": "2.0", "details": "true"})
    assert url == "/workspaces/ws1/services/svc1/execute?api-version=2.0&details=true"


def test_it_leaves_out_query_parameters_without_a_value():
    url = parse(RRS).expand({"workspace": "w", "service": "s", "apiversion": "2.0", "details": ""})
    assert url == "/workspaces/w/services/s/execute?api-version=2.0"


def test_it_refuses_to_expand_an_empty_path_parameter():
    with pytest.raises(ExpansionError) as e:
        parse(RRS).expand({"workspace": "", "service": "s"})
    assert e.value.name == "workspace"


def test_it_adds_extra_query_pairs_encoded():
    url = parse("/a").expand({}, extra_query=[("x y", "1&b=2")])
    assert url == "/a?x%20y=1%26b%3D2"


@pytest.mark.parametrize(
    "template, message, position",
    [
        ("/a/{b", "Unbalanced '{'", 4),
        ("/a/b}", "Unbalanced '}'", 5),
        ("/a/{}", "Empty parameter name", 4),
        ("/a/{x}/{x}", "Duplicate parameter name 'x'", 9),
        ("/a/{x}?y={x}", "Duplicate parameter name 'x'", 11),
        ("/a b", "Illegal character ' '", 3),
        ("/a/{x y}", "Illegal parameter name 'x y'", 5),
        ("a/b", "starts with '/'", 1),
        ("/a//b", "Empty path segment", 4),
        ("/a#b", "fragment", 3),
        ("/a?x=1&x=2", "Duplicate query key 'x'", 8),
        ("/a?", "Empty query", 3),
        ("/{a}{b}", "touch", 5),
        ("/a?k={v}x", "either literal text or one {parameter}", 6),
        ("/a%zz", "Malformed percent-escape", 3),
    ],
)
def test_it_names_the_problem_and_its_position(template, message, position):
    with pytest.raises(TemplateError) as e:
        parse(template)
    assert message in str(e.value)
    assert f"(at position {position})" in str(e.value)


def test_it_accepts_mixed_segments_and_literal_query_pairs():
    t = parse("/files/{name}.csv?format=swagger&v={v}")
    assert t.match("/files/report.csv", "format=swagger&v=2") == {"name": "report", "v": "2"}
    assert t.match("/files/report.csv", "format=other") is None
    assert t.match("/files/report.txt", "format=swagger") is None


def test_it_matches_without_the_optional_query_values():
    assert parse(RRS).match("/workspaces/w/services/s/execute", "") == {"workspace": "w", "service": "s"}


def test_it_prefers_the_most_specific_template():
    router = Router(
        [
            ("GET", parse("/jobs/{id}"), "by-id"),
            ("GET", parse("/jobs/latest"), "latest"),
            ("GET", parse("/{anything}/latest"), "wild"),
        ]
    )
    assert router.match("GET", "/jobs/latest").key == "latest"
    assert router.match("GET", "/jobs/42").key == "by-id"
    assert router.match("GET", "/other/latest").key == "wild"
    assert router.match("POST", "/jobs/42") is None
    assert router.allowed_methods("/jobs/42") == ["GET"]


def test_it_routes_the_walkthrough_operations():
    router = Router(
        [
            ("POST", parse(RRS), "rrs"),
            ("POST", parse("/workspaces/{workspace}/services/{service}/jobs?api-version={apiversion}"), "submit"),
            ("POST", parse("/workspaces/{workspace}/services/{service}/jobs/{jobid}/start?api-version={v}"), "start"),
            ("GET", parse("/workspaces/{workspace}/services/{service}/jobs/{jobid}?api-version={v}"), "status"),
            ("DELETE", parse("/workspaces/{workspace}/services/{service}/jobs/{jobid}?api-version={v}"), "delete"),
        ]
    )
    match = router.match("POST", "/workspaces/w/services/s/jobs/j1/start", "api-version=2.0")
    assert (match.key, match.values) == ("start", {"workspace": "w", "service": "s", "jobid": "j1", "v": "2.0"})
    assert router.match("GET", "/workspaces/w/services/s/jobs/j1").key == "status"
    assert router.match("DELETE", "/workspaces/w/services/s/jobs/j1").key == "delete"
    assert router.allowed_methods("/workspaces/w/services/s/jobs/j1") == ["DELETE", "GET"]


# Property-based: any values survive a round trip, and none can escape.

names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
values = st.text(min_size=1, max_size=40)
literal = st.text(alphabet=string.ascii_letters + string.digits + "-._~", min_size=1, max_size=8)


@st.composite
def templates(draw):
    used = draw(st.lists(names, min_size=1, max_size=5, unique=True))
    path_count = draw(st.integers(min_value=1, max_value=len(used)))
    segments = []
    for name in used[:path_count]:
        if draw(st.booleans()):
            segments.append(draw(literal))
        segments.append("{" + name + "}" + (draw(literal) if draw(st.booleans()) else ""))
    query = [f"q{i}={{{name}}}" for i, name in enumerate(used[path_count:])]
    text = "/" + "/".join(segments) + ("?" + "&".join(query) if query else "")
    return text, used


@settings(max_examples=300, deadline=None)
@given(templates(), st.data())
def test_expand_then_match_gives_back_every_value(template_and_names, data):
    text, used = template_and_names
    template = parse(text)
    given_values = {name: data.draw(values, label=name) for name in used}
    url = template.expand(given_values)
    path, _, query = url.partition("?")
    assert template.match(path, query) == given_values


HOSTILE = st.one_of(
    st.sampled_from(
        ["..", ".", "../", "%2e%2e/", "%2E%2E", "@evil.example", "#frag", "?x=1", "a/b", "\r\nX-Evil: 1", "a b"]
    ),
    st.text(min_size=1, max_size=3000),
)


@settings(max_examples=300, deadline=None)
@given(HOSTILE, HOSTILE)
def test_no_value_can_change_host_path_shape_query_or_headers(a, b):
    template = parse("/workspaces/{workspace}/execute?api-version={v}")
    url = "https://gateway.example:8443/demo" + template.expand({"workspace": a, "v": b})
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.port) == ("https", "gateway.example", 8443)
    assert parts.fragment == ""
    segments = parts.path.split("/")
    assert len(segments) == 5
    assert segments[:3] == ["", "demo", "workspaces"] and segments[4] == "execute"
    assert segments[3] not in (".", "..")
    assert [pair.split("=")[0] for pair in parts.query.split("&")] == ["api-version"]
    assert not any(c in url for c in "\r\n \x00#")
