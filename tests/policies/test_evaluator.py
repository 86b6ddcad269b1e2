"""The evaluator on its own (no Django, no gateway): the ordering of sections,
errors and on-error, traces with secrets masked, and mock bodies."""

from __future__ import annotations

import json
from pathlib import Path

from policies import document, mock, pipeline


class Nothing:
    """Services for documents that need none: any call is a test failure."""

    def __getattr__(self, name):
        raise AssertionError(f"unexpected service call {name}")


def compiled(*sections: tuple[str, str]) -> pipeline.Pipeline:
    body = "".join(f"<{name}>{inner}</{name}>" for name, inner in sections)
    root = pipeline.load(f"<policies>{body}</policies>")
    return pipeline.Pipeline(document.merge([document.Scoped("api a", root)]))


def context(headers=(), secrets=None) -> pipeline.Context:
    named = {k: pipeline.NamedValue(v, True) for k, v in (secrets or {}).items()}
    request = pipeline.Request("GET", "/x", [], pipeline.Headers(headers), ip="10.1.2.3")
    return pipeline.Context(request, services=Nothing(), named_values=named)  # type: ignore[arg-type]


def test_outbound_changes_the_backends_answer():
    steps = compiled(
        ("backend", "<forward-request />"),
        ("outbound", '<set-status code="299" reason="Fine" /><set-body>replaced</set-body>'),
    )
    ctx = context()
    assert steps.request(ctx) is None
    result = steps.response(ctx, pipeline.Response(200, pipeline.Headers(), b"original"))
    assert (result.status, result.reason, result.body) == (299, "Fine", b"replaced")


def test_a_secret_is_masked_in_the_trace_but_sent_in_clear():
    steps = compiled(
        ("inbound", '<set-header name="X-Key" exists-action="override"><value>key={{k}}</value></set-header>'),
        ("backend", "<forward-request />"),
    )
    ctx = context(secrets={"k": "topsecret"})
    steps.request(ctx)
    assert ctx.request.headers.get("X-Key") == "key=topsecret"
    assert [t.detail for t in ctx.trace if t.policy == "set-header"] == ["X-Key: key=*** (override)"]


def test_a_failure_inside_on_error_is_not_handled_again():
    steps = compiled(
        ("inbound", '<set-header name="A" exists-action="override"><value>{{missing}}</value></set-header>'),
        ("on-error", '<set-header name="B" exists-action="override"><value>{{missing-too}}</value></set-header>'),
    )
    ctx = context()
    answer = steps.request(ctx)
    assert answer.status == 500 and json.loads(answer.body) == {"statusCode": 500, "message": "Internal server error"}
    assert ctx.failed == "set-header"


def test_no_forward_request_answers_an_empty_200():
    steps = compiled(("inbound", ""), ("backend", ""))
    answer = steps.request(context())
    assert (answer.status, answer.body) == (200, b"")


def test_a_named_value_may_hold_an_expression():
    steps = compiled(
        ("inbound", '<set-header name="X-Ip" exists-action="override"><value>{{ip-expr}}</value></set-header>'),
        ("backend", "<forward-request />"),
    )
    ctx = context()
    ctx.named_values["ip-expr"] = pipeline.NamedValue("@(context.Request.IpAddress)")
    steps.request(ctx)
    assert ctx.request.headers.get("X-Ip") == "10.1.2.3"


def test_a_preflight_from_an_unlisted_origin_goes_on_when_terminate_is_false():
    steps = compiled(
        (
            "inbound",
            '<cors terminate-unmatched-request="false"><allowed-origins><origin>https://a.example</origin></allowed-origins></cors>',
        ),
    )
    ctx = context([("Origin", "https://b.example"), ("Access-Control-Request-Method", "GET")])
    ctx.request.method = "OPTIONS"
    assert steps.preflight(ctx) is None


def test_ipv6_ranges_and_a_bad_address_is_reported():
    steps = compiled(
        ("inbound", '<ip-filter action="allow"><address-range from="2001:db8::" to="2001:db8::ffff" /></ip-filter>'),
        ("backend", "<forward-request />"),
    )
    inside, outside = context(), context()
    inside.request.ip, outside.request.ip = "2001:db8::12", "2001:db9::1"
    assert steps.request(inside) is None
    assert steps.request(outside).status == 403 and outside.refused == "ip-filter"
    try:
        pipeline.load(
            "<policies><inbound><ip-filter action='allow'><address>999.1.1.1</address></ip-filter></inbound></policies>"
        )
    except document.PolicyError as e:
        assert "Not an IP address" in e.message
    else:
        raise AssertionError("accepted 999.1.1.1")


def test_mock_bodies_from_schemas_even_circular_ones():
    components = {
        "schemas": {
            "Node": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "child": {"$ref": "#/components/schemas/Node"}},
            },
            "When": {"type": "string", "format": "date-time"},
        }
    }
    node = mock.generate({"$ref": "#/components/schemas/Node"}, components)
    assert node["name"] == "string" and isinstance(node["child"], dict)
    assert mock.generate({"$ref": "#/components/schemas/When"}, components) == "2024-01-01T00:00:00Z"
    assert mock.generate(
        {"allOf": [{"properties": {"a": {"type": "integer"}}}, {"properties": {"b": {"enum": ["x"]}}}]}
    ) == {
        "a": 0,
        "b": "x",
    }
    named = {"sample": {"summary": "one", "value": {"id": 7}}}
    assert mock.body_of("", named, {}, {}, "application/json") == b'{"id": 7}'


def test_unescaped_expressions_as_api_managements_documents_write_them():
    text = document.escape_expressions('<when condition="@(context.Request.Method == "GET" && 1 < 2)">')
    assert text == '<when condition="@(context.Request.Method == &quot;GET&quot; &amp;&amp; 1 &lt; 2)">'
    already = '<when condition="@(context.Request.Method == &quot;GET&quot;)">'
    assert document.escape_expressions(already) == already


def test_the_evaluator_imports_no_django():
    import subprocess
    import sys

    code = (
        "import sys; import policies.document, policies.expressions, policies.pipeline, policies.mock; "
        "print(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=root)
    assert out.stdout.strip() == "False", out.stderr
