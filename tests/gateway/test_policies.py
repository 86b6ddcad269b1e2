"""Policies on the gateway, element by element, as a caller and the backend see
them: a real backend on loopback, the real counters and cache, the call record.

Documents marked "from the policy reference" are API Management's own
examples, pasted unchanged."""

from __future__ import annotations

import json
import uuid

import pytest

from apis.models import Parameter, RequestRepresentation, Response, ResponseRepresentation
from gateway.models import Call
from policies.models import NamedValue, Policy

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def unlimited(product):
    # The product's own 5 calls a minute would get in the way of the limits under test.
    product.rate_limit_calls = product.rate_limit_period = product.quota_calls = product.quota_period = None
    product.save()


def call(client, path, key=None, method="get", **kwargs):
    headers = kwargs.pop("headers", {})
    if key is not None:
        headers["Ocp-Apim-Subscription-Key"] = key
    return getattr(client, method)(path, headers=headers, **kwargs)


def echoed(response) -> dict:
    return json.loads(b"".join(response.streaming_content) if response.streaming else response.content)


def inbound(*statements: str, outbound: str = "", on_error: str = "", backend: str = "<base />") -> str:
    return (
        "<policies><inbound><base />" + "".join(statements) + "</inbound>"
        f"<backend>{backend}</backend><outbound><base />{outbound}</outbound><on-error><base />{on_error}</on-error></policies>"
    )


def api_policy(api, text: str) -> Policy:
    return Policy.objects.create(api=api, document=text)


def secret(name: str, value: str) -> NamedValue:
    nv = NamedValue(name=name, secret=True)
    nv.set_value(value)
    nv.save()
    return nv


def last_call() -> Call:
    return Call.objects.order_by("-id").first()


# ------------------------------------------------------------- set-header


def test_set_header_sends_a_secret_named_value_to_the_backend(client, echo_api, key):
    secret("backend-key", "s3cr3t-value")
    api_policy(
        echo_api,
        inbound(
            '<set-header name="X-Backend-Key" exists-action="override"><value>{{backend-key}}</value></set-header>',
            '<set-header name="X-Drop" exists-action="delete" />',
            outbound='<set-header name="X-Powered-By" exists-action="override"><value>Portico</value></set-header>',
        ),
    )
    response = call(client, "/gateway/echo/items/1", key, headers={"X-Drop": "1"})
    seen = echoed(response)
    assert seen["headers"]["x-backend-key"] == "s3cr3t-value"
    assert "x-drop" not in seen["headers"]
    assert response["X-Powered-By"] == "Portico"
    assert NamedValue.objects.get().stored != "s3cr3t-value"  # encrypted at rest


def test_set_header_skip_keeps_the_callers_value_and_append_adds_one(client, echo_api, key):
    api_policy(
        echo_api,
        inbound(
            '<set-header name="X-Who" exists-action="skip"><value>policy</value></set-header>',
            '<set-header name="X-List" exists-action="append"><value>b</value></set-header>',
        ),
    )
    seen = echoed(call(client, "/gateway/echo/items/1", key, headers={"X-Who": "caller", "X-List": "a"}))
    assert seen["headers"]["x-who"] == "caller"
    assert seen["headers"]["x-list"] == "a, b"
    seen = echoed(call(client, "/gateway/echo/items/1", key))
    assert seen["headers"]["x-who"] == "policy"


# ------------------------------------------------- query, URI, backend, method


def test_set_query_parameter_and_rewrite_uri_change_what_the_backend_gets(client, echo_api, key):
    operation = echo_api.operations.get(method="GET", url_template="/items/{id}")
    Policy.objects.create(
        operation=operation,
        document=inbound(
            '<rewrite-uri template="/v2/things/{id}" />',
            '<set-query-parameter name="api-version" exists-action="override"><value>2024-01-01</value></set-query-parameter>',
        ),
    )
    seen = echoed(call(client, "/gateway/echo/items/7?extra=yes", key))
    # copy-unmatched-params (default true) keeps the caller's other parameters.
    assert seen["path"] == "/base/v2/things/7?extra=yes&api-version=2024-01-01"


def test_rewrite_uri_can_drop_unmatched_parameters(client, echo_api, key):
    operation = echo_api.operations.get(method="GET", url_template="/items/{id}")
    Policy.objects.create(
        operation=operation, document=inbound('<rewrite-uri template="/v2/{id}" copy-unmatched-params="false" />')
    )
    assert echoed(call(client, "/gateway/echo/items/7?extra=yes", key))["path"] == "/base/v2/7"


def test_set_backend_service_and_set_method(client, echo_api, key, backend_url):
    api_policy(
        echo_api, inbound(f'<set-backend-service base-url="{backend_url}/elsewhere" />', "<set-method>PUT</set-method>")
    )
    seen = echoed(call(client, "/gateway/echo/items/3", key))
    assert (seen["method"], seen["path"]) == ("PUT", "/elsewhere/items/3")


def test_forward_request_timeout_answers_504_in_time(client, echo_api, key):
    api_policy(echo_api, inbound(backend='<forward-request timeout="1" />'))
    response = call(client, "/gateway/echo/sleep", key)
    assert response.status_code == 504
    assert "1 seconds" in response.json()["message"]


# ------------------------------------------------------------------- cors

REFERENCE_CORS = """<cors allow-credentials="true">
    <allowed-origins>
        <origin>http://contoso.com</origin>
    </allowed-origins>
    <allowed-methods preflight-result-max-age="300">
        <method>GET</method>
        <method>POST</method>
        <method>PATCH</method>
        <method>DELETE</method>
    </allowed-methods>
    <allowed-headers>
        <!-- Examples below show Azure Mobile Services headers -->
        <header>x-zumo-installation-id</header>
        <header>x-zumo-application</header>
        <header>x-zumo-version</header>
        <header>x-zumo-auth</header>
        <header>content-type</header>
        <header>accept</header>
    </allowed-headers>
    <expose-headers>
        <header>x-zumo-installation-id</header>
        <header>x-zumo-application</header>
    </expose-headers>
</cors>"""


def test_cors_preflight_is_answered_without_a_key(client, echo_api):
    """From the policy reference."""
    api_policy(echo_api, inbound(REFERENCE_CORS))
    response = client.options(
        "/gateway/echo/items/5",
        headers={
            "Origin": "http://contoso.com",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-zumo-auth, content-type",
        },
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "http://contoso.com"
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert response["Access-Control-Allow-Methods"] == "GET, POST, PATCH, DELETE"
    assert response["Access-Control-Allow-Headers"] == "x-zumo-auth, content-type"
    assert response["Access-Control-Max-Age"] == "300"


def test_cors_refuses_a_preflight_from_another_origin_and_tags_real_calls(client, echo_api, key):
    api_policy(echo_api, inbound(REFERENCE_CORS))
    refused = client.options(
        "/gateway/echo/items/5", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert refused.status_code == 200 and "Access-Control-Allow-Origin" not in refused
    response = call(client, "/gateway/echo/items/5", key, headers={"Origin": "http://contoso.com"})
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "http://contoso.com"
    assert response["Access-Control-Expose-Headers"] == "x-zumo-installation-id, x-zumo-application"
    other = call(client, "/gateway/echo/items/5", key, headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in other


def test_without_cors_a_preflight_still_needs_a_key(client, echo_api):
    response = client.options(
        "/gateway/echo/items/5", headers={"Origin": "http://contoso.com", "Access-Control-Request-Method": "GET"}
    )
    assert response.status_code == 404  # no OPTIONS operation, as before


# -------------------------------------------------------------- ip-filter


def test_ip_filter_from_the_reference_refuses_other_callers(client, echo_api, key):
    """From the policy reference."""
    api_policy(
        echo_api,
        inbound(
            """<ip-filter action="allow">
    <address>13.66.201.169</address>
    <address-range from="13.66.140.128" to="13.66.140.143" />
</ip-filter>"""
        ),
    )
    response = call(client, "/gateway/echo/items/1", key)
    assert response.status_code == 403
    assert response.json() == {"statusCode": 403, "message": "Caller IP address 127.0.0.1 is not allowed."}
    record = last_call()
    assert (record.outcome, record.policy) == (Call.REFUSED, "ip-filter")
    allowed = call(client, "/gateway/echo/items/1", key, REMOTE_ADDR="13.66.140.130")
    assert allowed.status_code == 200


def test_ip_filter_forbid(client, echo_api, key):
    api_policy(
        echo_api,
        inbound('<ip-filter action="forbid"><address-range from="127.0.0.0" to="127.255.255.255" /></ip-filter>'),
    )
    assert call(client, "/gateway/echo/items/1", key).status_code == 403
    assert call(client, "/gateway/echo/items/1", key, REMOTE_ADDR="::1").status_code == 200


# ------------------------------------------------------------ check-header


def test_check_header_from_the_reference(client, echo_api, key):
    """From the policy reference."""
    api_policy(
        echo_api,
        inbound(
            """<check-header name="Authorization" failed-check-httpcode="401" failed-check-error-message="Not authorized" ignore-case="false">
    <value>f6dc69a089844cf6b2019bae6d36fac8</value>
</check-header>"""
        ),
    )
    missing = call(client, "/gateway/echo/items/1", key)
    assert (missing.status_code, missing.json()) == (401, {"statusCode": 401, "message": "Not authorized"})
    wrong = call(client, "/gateway/echo/items/1", key, headers={"Authorization": "F6DC69A089844CF6B2019BAE6D36FAC8"})
    assert wrong.status_code == 401  # ignore-case="false"
    right = call(client, "/gateway/echo/items/1", key, headers={"Authorization": "f6dc69a089844cf6b2019bae6d36fac8"})
    assert right.status_code == 200


# ------------------------------------------- return-response, set-status, choose


def test_choose_when_otherwise_with_return_response_and_set_status(client, echo_api, key):
    api_policy(
        echo_api,
        inbound(
            """<choose>
    <when condition="@(context.Request.Headers.GetValueOrDefault("X-Mode","") == "teapot")">
        <return-response>
            <set-status code="418" reason="I'm a teapot" />
            <set-header name="Content-Type" exists-action="override"><value>text/plain</value></set-header>
            <set-body>short and stout</set-body>
        </return-response>
    </when>
    <otherwise>
        <set-header name="X-Branch" exists-action="override"><value>otherwise</value></set-header>
    </otherwise>
</choose>""",
            outbound="""<choose><when condition="@(context.Response.StatusCode == 200)"><set-status code="203" reason="Rewritten" /></when></choose>""",
        ),
    )
    teapot = call(client, "/gateway/echo/items/1", key, headers={"X-Mode": "teapot"})
    assert (teapot.status_code, teapot.content, teapot["Content-Type"]) == (418, b"short and stout", "text/plain")
    normal = call(client, "/gateway/echo/items/1", key)
    assert normal.status_code == 203
    assert echoed(normal)["headers"]["x-branch"] == "otherwise"


# ---------------------------------------------------- rate-limit and quota


def unique() -> str:
    """A counter or cache key of this test's own: with Redis they outlive the
    test database, and ids start again at 1 in the next run."""
    return uuid.uuid4().hex


def unique_ip() -> str:
    b = uuid.uuid4().bytes
    return f"10.{b[0]}.{b[1]}.{b[2] or 1}"


def test_rate_limit_by_key_counts_each_key_on_its_own(client, echo_api, key):
    api_policy(
        echo_api,
        inbound(
            '<rate-limit-by-key calls="2" renewal-period="60" '
            'counter-key="@(context.Request.Headers.GetValueOrDefault(&quot;X-Tenant&quot;,&quot;&quot;))" '
            'remaining-calls-header-name="X-Left" />'
        ),
    )
    a, b = unique(), unique()
    for left in ("1", "0"):
        response = call(client, "/gateway/echo/items/1", key, headers={"X-Tenant": a})
        assert (response.status_code, response["X-Left"]) == (200, left)
    third = call(client, "/gateway/echo/items/1", key, headers={"X-Tenant": a})
    assert third.status_code == 429
    assert int(third["Retry-After"]) >= 59
    assert third.json()["message"].startswith("Rate limit is exceeded. Try again in")
    assert (last_call().outcome, last_call().policy) == (Call.REFUSED, "rate-limit-by-key")
    assert call(client, "/gateway/echo/items/1", key, headers={"X-Tenant": b}).status_code == 200


def test_rate_limit_by_ip_counts_only_what_the_increment_condition_says(client, echo_api, key):
    """The policy reference's example, by caller IP, counting 200 answers only."""
    api_policy(
        echo_api,
        inbound(
            '<rate-limit-by-key calls="1" renewal-period="60" increment-condition="@(context.Response.StatusCode == 200)" '
            'counter-key="@(context.Request.IpAddress)" remaining-calls-variable-name="remainingCallsPerIP"/>'
        ),
    )
    ip = unique_ip()
    assert call(client, "/gateway/echo/redirect", key, REMOTE_ADDR=ip).status_code == 302  # not counted
    assert call(client, "/gateway/echo/items/1", key, REMOTE_ADDR=ip).status_code == 200  # counted
    assert call(client, "/gateway/echo/items/1", key, REMOTE_ADDR=ip).status_code == 429


def test_quota_by_key_answers_403_once_used_up(client, echo_api, key, subscription):
    api_policy(
        echo_api,
        inbound(
            '<quota-by-key calls="2" renewal-period="3600" '
            'counter-key="@(context.Request.Headers.GetValueOrDefault(&quot;X-Account&quot;, &quot;&quot;))" />'
        ),
    )
    account = {"X-Account": unique()}
    assert [call(client, "/gateway/echo/items/1", key, headers=account).status_code for _ in range(2)] == [200, 200]
    over = call(client, "/gateway/echo/items/1", key, headers=account)
    assert over.status_code == 403
    assert over.json()["message"].startswith("Out of call volume quota. Quota will be replenished in ")
    assert 0 < int(over["Retry-After"]) <= 3600


# ----------------------------------------------------------------- caching

CACHE = """<cache-lookup vary-by-developer="false" vary-by-developer-groups="false" downstream-caching-type="none">
    <vary-by-header>Accept</vary-by-header>
    <vary-by-query-parameter>page</vary-by-query-parameter>
</cache-lookup>"""


def test_cache_lookup_and_store_answer_a_repeated_get_from_the_cache(client, echo_api, key):
    api_policy(echo_api, inbound(CACHE, outbound='<cache-store duration="60" />'))
    page, other = unique(), unique()
    first = call(client, f"/gateway/echo/items/1?page={page}", key, headers={"X-Probe": "first"})
    assert last_call().outcome == Call.SUCCESS
    again = call(client, f"/gateway/echo/items/1?page={page}", key, headers={"X-Probe": "second"})
    assert echoed(again) == echoed(first)  # the backend never saw "second"
    record = last_call()
    assert (record.outcome, record.policy) == (Call.CACHED, "cache-lookup")
    assert record.backend_ms is None
    # What the cache varies by makes another entry.
    other_page = call(client, f"/gateway/echo/items/1?page={other}", key, headers={"X-Probe": "third"})
    assert echoed(other_page)["headers"]["x-probe"] == "third"
    other_accept = call(
        client, f"/gateway/echo/items/1?page={page}", key, headers={"X-Probe": "4th", "Accept": "text/csv"}
    )
    assert echoed(other_accept)["headers"]["x-probe"] == "4th"


def test_cache_is_not_used_for_posts_or_calls_with_credentials(client, echo_api, key):
    api_policy(echo_api, inbound(CACHE, outbound='<cache-store duration="60" />'))
    headers, url = {"Authorization": "Bearer a"}, f"/gateway/echo/items/1?page={unique()}"
    call(client, url, key, headers={**headers, "X-Probe": "1"})
    again = call(client, url, key, headers={**headers, "X-Probe": "2"})
    assert echoed(again)["headers"]["x-probe"] == "2"


# ------------------------------------------------------------------ mocks


def test_mock_response_answers_from_the_stored_example_without_the_backend(client, echo_api, key):
    operation = echo_api.operations.get(method="GET", url_template="/items/{id}")
    ok = Response.objects.create(operation=operation, status_code="200", description="OK")
    ResponseRepresentation.objects.create(
        response=ok, content_type="application/json", example='{"id": 1, "name": "mock"}'
    )
    Policy.objects.create(
        operation=operation, document=inbound('<mock-response status-code="200" content-type="application/json" />')
    )
    response = call(client, "/gateway/echo/items/1", key)
    assert (response.status_code, response.json()) == (200, {"id": 1, "name": "mock"})
    assert response["Content-Type"] == "application/json"
    assert "X-Backend" not in response
    assert last_call().outcome == Call.MOCKED


def test_mock_response_generates_a_body_from_the_schema(client, echo_api, key):
    echo_api.components = {
        "schemas": {
            "Item": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}},
            }
        }
    }
    echo_api.save()
    operation = echo_api.operations.get(method="GET", url_template="/items/{id}")
    created = Response.objects.create(operation=operation, status_code="201")
    ResponseRepresentation.objects.create(
        response=created, content_type="application/json", schema={"$ref": "#/components/schemas/Item"}
    )
    Policy.objects.create(operation=operation, document=inbound("<mock-response />"))
    response = call(client, "/gateway/echo/items/1", key)
    assert (response.status_code, response.json()) == (201, {"id": 0, "tags": ["string"]})


# ------------------------------------------------------------- validation

ITEM_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string"}, "qty": {"type": "integer"}},
}


@pytest.fixture
def post_op(echo_api):
    operation = echo_api.operations.get(method="POST")
    RequestRepresentation.objects.create(operation=operation, content_type="application/json", schema=ITEM_SCHEMA)
    return operation


def test_validate_content_refuses_a_body_that_does_not_fit_the_schema(client, echo_api, key, post_op):
    Policy.objects.create(
        operation=post_op,
        document=inbound(
            '<validate-content unspecified-content-type-action="prevent" max-size="102400" size-exceeded-action="prevent">'
            '<content type="application/json" validate-as="json" action="prevent" /></validate-content>'
        ),
    )
    url = "/gateway/echo/items?api-version=1"
    bad = call(client, url, key, method="post", data='{"qty": "three"}', content_type="application/json")
    assert bad.status_code == 400
    message = bad.json()["message"]
    assert message.startswith(
        "Body of the request does not conform to the definition which is associated with the content type application/json."
    )
    assert "'name' is a required property" in message
    assert (last_call().outcome, last_call().policy) == (Call.REFUSED, "validate-content")
    good = call(client, url, key, method="post", data='{"name": "box", "qty": 3}', content_type="application/json")
    assert good.status_code == 200 and echoed(good)["body"] == '{"name": "box", "qty": 3}'
    other_type = call(
        client, url, key, method="post", data="name=box", content_type="application/x-www-form-urlencoded"
    )
    assert other_type.status_code == 400 and "is not allowed" in other_type.json()["message"]


def test_validate_content_detect_lets_the_body_through(client, echo_api, key, post_op):
    Policy.objects.create(
        operation=post_op,
        document=inbound(
            '<validate-content unspecified-content-type-action="detect"><content type="application/json" action="detect" /></validate-content>'
        ),
    )
    response = call(
        client, "/gateway/echo/items?api-version=1", key, method="post", data="{}", content_type="application/json"
    )
    assert response.status_code == 200


def test_validate_content_max_size(client, echo_api, key, post_op):
    Policy.objects.create(
        operation=post_op,
        document=inbound(
            '<validate-content unspecified-content-type-action="ignore" max-size="10" size-exceeded-action="prevent" />'
        ),
    )
    response = call(
        client,
        "/gateway/echo/items?api-version=1",
        key,
        method="post",
        data='{"name": "a long name"}',
        content_type="application/json",
    )
    assert response.status_code == 400 and "exceeds the configured limit of 10 bytes" in response.json()["message"]


def test_validate_parameters_checks_types_and_unknown_query_parameters(client, echo_api, key):
    operation = echo_api.operations.get(method="POST")
    Parameter.objects.filter(operation=operation, name="v").update(type="integer")
    Policy.objects.create(
        operation=operation,
        document=inbound(
            '<validate-parameters specified-parameter-action="prevent" unspecified-parameter-action="prevent" />'
        ),
    )
    bad = call(client, "/gateway/echo/items?api-version=x", key, method="post")
    assert bad.status_code == 400 and "must be an integer" in bad.json()["message"]
    unknown = call(client, "/gateway/echo/items?api-version=1&debug=1", key, method="post")
    assert unknown.status_code == 400 and "'debug'" in unknown.json()["message"]
    assert call(client, "/gateway/echo/items?api-version=1", key, method="post").status_code == 200


# ---------------------------------------------------------------- errors


def test_a_missing_named_value_answers_500_and_is_recorded_as_a_policy_error(client, echo_api, key, caplog):
    api_policy(
        echo_api, inbound('<set-header name="X-K" exists-action="override"><value>{{nowhere}}</value></set-header>')
    )
    response = call(client, "/gateway/echo/items/1", key)
    assert (response.status_code, response.json()) == (500, {"statusCode": 500, "message": "Internal server error"})
    record = last_call()
    assert (record.outcome, record.policy) == (Call.POLICY_ERROR, "set-header")
    assert "Policy set-header failed" in caplog.text


def test_on_error_handles_a_failure_and_sees_last_error(client, echo_api, key):
    api_policy(
        echo_api,
        inbound(
            '<set-header name="X-K" exists-action="override"><value>@(context.Request.Headers.GetValueOrDefault("X-None").ToLower())</value></set-header>',
            on_error="""<return-response>
    <set-status code="400" reason="Bad Request" />
    <set-body>@(context.LastError.Message)</set-body>
</return-response>""",
        ),
    )
    response = call(client, "/gateway/echo/items/1", key)
    assert response.status_code == 400
    assert b"ToLower() was called on null" in response.content


def test_on_error_can_change_a_refusal(client, echo_api, key):
    api_policy(
        echo_api,
        inbound(
            '<ip-filter action="forbid"><address>127.0.0.1</address></ip-filter>',
            on_error='<set-header name="X-Error-Source" exists-action="override"><value>@(context.LastError.Source)</value></set-header>',
        ),
    )
    response = call(client, "/gateway/echo/items/1", key)
    assert response.status_code == 403 and response["X-Error-Source"] == "ip-filter"


def test_a_changed_named_value_is_used_by_the_next_call(client, echo_api, key):
    nv = secret("token", "one")
    api_policy(
        echo_api, inbound('<set-header name="X-T" exists-action="override"><value>{{token}}</value></set-header>')
    )
    assert echoed(call(client, "/gateway/echo/items/1", key))["headers"]["x-t"] == "one"
    nv.set_value("two")
    nv.save()
    assert echoed(call(client, "/gateway/echo/items/1", key))["headers"]["x-t"] == "two"


def test_scopes_run_global_product_api_operation_in_order(client, echo_api, key, product):
    def adds(value: str) -> str:
        return inbound(f'<set-header name="X-Order" exists-action="append"><value>{value}</value></set-header>')

    Policy.objects.create(document=adds("global"))
    Policy.objects.create(product=product, document=adds("product"))
    api_policy(echo_api, adds("api"))
    Policy.objects.create(
        operation=echo_api.operations.get(method="GET", url_template="/items/{id}"), document=adds("operation")
    )
    seen = echoed(call(client, "/gateway/echo/items/1", key))
    assert seen["headers"]["x-order"] == "global, product, api, operation"


def test_a_document_saved_around_validation_fails_as_a_policy_error(client, echo_api, key):
    policy = api_policy(echo_api, inbound())
    broken = inbound('<set-header name="X" exists-action="override"><value>@(context.Nope)</value></set-header>')
    Policy.objects.filter(pk=policy.pk).update(document=broken)  # no validation, no signal
    from gateway import policy as gateway_policy

    gateway_policy.compiled.clear()
    response = call(client, "/gateway/echo/items/1", key)
    assert (response.status_code, response.json()["message"]) == (500, "Internal server error")
    assert (last_call().outcome, last_call().policy) == (Call.POLICY_ERROR, "policies")
