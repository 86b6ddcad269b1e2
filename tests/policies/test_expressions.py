"""The expression subset: what it evaluates, and what it refuses before a call."""

from __future__ import annotations

import pytest

from policies import expressions, pipeline
from policies.expressions import EvaluationError, ExpressionError


def ctx(**headers) -> pipeline.Context:
    request = pipeline.Request(
        "POST", "/items/7", [("lang", "fr")], pipeline.Headers(headers.items()), ip="203.0.113.9"
    )
    return pipeline.Context(request, services=None, subscription_id="42")  # type: ignore[arg-type]


def value(text: str, context: pipeline.Context):
    return expressions.compile_expression(text)(context)


def test_the_documented_members():
    c = ctx(**{"X-Tenant": "acme"})
    assert value("context.Request.IpAddress", c) == "203.0.113.9"
    assert value("context.Subscription.Id", c) == "42"
    assert value('context.Request.Headers.GetValueOrDefault("x-tenant","")', c) == "acme"
    assert value('context.Request.Headers.GetValueOrDefault("X-Missing","none")', c) == "none"
    assert value("context.Request.Method", c) == "POST"
    assert value("context.Request.Url.Path", c) == "/items/7"
    assert value('context.Request.Url.Query.GetValueOrDefault("lang", "")', c) == "fr"


def test_conditions_on_method_path_headers_and_status():
    c = ctx(Accept="application/json")
    c.response = pipeline.Response(503, pipeline.Headers())
    assert value('context.Request.Method == "POST" && context.Request.Url.Path.StartsWith("/items")', c) is True
    assert value('context.Request.Headers.ContainsKey("Accept") && !context.Request.Headers.ContainsKey("B")', c)
    assert value("context.Response.StatusCode >= 500", c) is True
    assert value('context.Response.StatusCode == 200 || context.Request.Method.ToLower() == "get"', c) is False


def test_a_method_on_a_missing_header_fails_at_run_time():
    fn = expressions.compile_expression('context.Request.Headers.GetValueOrDefault("X-Missing").StartsWith("a")')
    with pytest.raises(EvaluationError):
        fn(ctx())


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "context.Request.Body.As<string>()",
        'context.Variables["x"]',
        'context.Request.Headers.GetValueOrDefault("a","b","c")',
        "context.Request.Method +",
        "1 +",
        "context.Request.Method.Substring(1)",
    ],
)
def test_anything_outside_the_subset_is_refused(text):
    with pytest.raises(ExpressionError):
        expressions.compile_expression(text)
