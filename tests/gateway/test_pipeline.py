"""The pipeline's steps one at a time, without Django, a server or a network:
a fake outside world (Ports) and plain requests."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from apis import urltemplate
from gateway import counters, pipeline
from gateway.pipeline import Incoming, Refused


@dataclass(frozen=True)
class Route:
    id: int = 7
    service_url: str = "http://backend/base"
    url_schemes: tuple = ("http", "https")
    subscription_required: bool = True
    product_ids: frozenset = frozenset([3])
    router: urltemplate.Router = field(
        default_factory=lambda: urltemplate.Router([("GET", urltemplate.parse("/items/{id}"), 70)])
    )


@dataclass(frozen=True)
class Key:
    id: int = 5
    user_id: int = 1
    product_id: int = 3
    is_active: bool = True
    limits: counters.Limits = counters.Limits(5, 60, 100, 3600)
    generation: int = 0


def upstream(status=200, body=b"{}", headers=None, chunks=None, broken=False):
    released = []

    async def read():
        if broken:
            raise ConnectionResetError
        return body

    async def stream():
        for chunk in chunks or [body]:
            yield chunk
        if broken:
            raise ConnectionResetError("gone")

    given = headers if headers is not None else [("Content-Length", str(len(body)))]
    return pipeline.Upstream(status, "OK", given, read, stream, released.append), released


class Fake:
    def __init__(self, **kw):
        self.routes = {"echo": Route()}
        self.keys = {"good": Key()}
        self.decisions: list[counters.Decision] = []
        self.upstream = None
        self.forwarded = None
        self.records: list[pipeline.Record] = []
        self.seams: list[str] = []
        self.inbound_answer = None
        self.__dict__.update(kw)

    def config(self):
        return pipeline.Config("/gateway/", False, 5, 60, 1000, 1_000_000, frozenset(["sessionid"]))

    async def route_for(self, suffix):
        return self.routes.get(suffix)

    async def key_holder(self, key):
        return self.keys.get(key)

    async def admit(self, key, fresh=False):
        return self.decisions.pop(0) if self.decisions else counters.Decision("ok", 0, 4, 99)

    async def forward(self, method, url, headers, body):
        self.forwarded = (method, url, headers, body)
        return self.upstream or upstream()[0]

    async def record(self, record):
        self.records.append(record)

    async def preflight(self, trip):
        return None

    async def inbound(self, trip):
        self.seams.append("inbound")
        return self.inbound_answer

    async def outbound(self, trip, answer):
        self.seams.append("outbound")
        return answer

    async def on_error(self, trip, answer):
        self.seams.append("on-error")
        return answer


def request(path="/gateway/echo/items/1", method="GET", headers=(("Ocp-Apim-Subscription-Key", "good"),), query=""):
    return Incoming(method, path, query, list(headers), "10.0.0.1", "https", "portal.example", None)


def trip(incoming=None):
    incoming = incoming or request()
    return pipeline.Trip(incoming, pipeline.new_record(incoming))


def run(coroutine):
    # In a thread of its own: a browser test may leave a loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def body(answer) -> dict:
    return json.loads(answer.body)


# route


def test_route_finds_the_api_and_operation():
    t, ports = trip(), Fake()
    run(pipeline.route(t, ports, ports.config()))
    assert (t.record.api_id, t.record.operation_id, t.op_path) == (7, 70, "/items/1")


@pytest.mark.parametrize("path", ["/elsewhere/echo/items/1", "/gateway/nope/items/1", "/gateway/echo/other"])
def test_route_refuses_what_no_operation_serves(path):
    ports = Fake()
    with pytest.raises(Refused) as e:
        run(pipeline.route(trip(request(path)), ports, ports.config()))
    assert e.value.name == "no-route"


def test_route_refuses_a_path_that_climbs_out():
    ports = Fake()
    with pytest.raises(Refused) as e:
        run(pipeline.route(trip(request("/gateway/echo/items/%2e%2e")), ports, ports.config()))
    assert e.value.name == "bad-path" and pipeline.refusal_answer(e.value).status == 400


def test_route_takes_the_key_out_of_the_query():
    t, ports = trip(request(query="a=1&subscription-key=k&b=2")), Fake()
    run(pipeline.route(t, ports, ports.config()))
    assert (t.query, t.query_key, t.record.path) == ("a=1&b=2", "k", "/gateway/echo/items/1?a=1&b=2")


# authenticate


def routed(incoming=None, ports=None):
    t, ports = trip(incoming), ports or Fake()
    run(pipeline.route(t, ports, ports.config()))
    return t, ports


def test_authenticate_names_the_subscription_in_the_record():
    t, ports = routed()
    run(pipeline.authenticate(t, ports, ports.config()))
    assert (t.record.subscription_id, t.record.product_id, t.record.user_id) == (5, 3, 1)


@pytest.mark.parametrize(
    "headers,name",
    [((), "missing-key"), ((("Ocp-Apim-Subscription-Key", "bad"),), "invalid-key")],
)
def test_authenticate_refuses_a_missing_or_unknown_key(headers, name):
    t, ports = routed(request(headers=headers))
    with pytest.raises(Refused) as e:
        run(pipeline.authenticate(t, ports, ports.config()))
    assert e.value.name == name and pipeline.refusal_answer(e.value).status == 401


def test_authenticate_refuses_an_inactive_key_or_one_of_another_product():
    for key in (Key(is_active=False), Key(product_id=99)):
        t, ports = routed(ports=Fake(keys={"good": key}))
        with pytest.raises(Refused):
            run(pipeline.authenticate(t, ports, ports.config()))


# admit


def authenticated(ports=None):
    t, ports = routed(ports=ports)
    run(pipeline.authenticate(t, ports, ports.config()))
    return t, ports


def test_admit_sets_the_limit_headers():
    t, ports = authenticated()
    run(pipeline.admit(t, ports, ports.config()))
    assert dict(t.extra_headers) == {
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "4",
        "X-Quota-Limit": "100",
        "X-Quota-Remaining": "99",
    }


def test_admit_refuses_past_the_rate_limit_and_the_quota():
    t, ports = authenticated(Fake(decisions=[counters.Decision("rate", 12, 0, None)]))
    with pytest.raises(Refused) as e:
        run(pipeline.admit(t, ports, ports.config()))
    answer = pipeline.refusal_answer(e.value)
    assert answer.status == 429 and answer.header("Retry-After") == "12"
    assert body(answer)["message"] == "Rate limit is exceeded. Try again in 12 seconds."
    t, ports = authenticated(Fake(decisions=[counters.Decision("quota", 3661, 4, 0, 3661)]))
    with pytest.raises(Refused) as e:
        run(pipeline.admit(t, ports, ports.config()))
    answer = pipeline.refusal_answer(e.value)
    assert answer.status == 403 and body(answer)["message"].endswith("replenished in 01:01:01.")


def test_admit_reads_a_stale_key_again_and_refuses_it_if_revoked():
    ports = Fake(decisions=[counters.Decision("stale")])
    t, ports = authenticated(ports)
    ports.keys = {"good": Key(is_active=False)}  # what the database says now
    with pytest.raises(Refused) as e:
        run(pipeline.admit(t, ports, ports.config()))
    assert e.value.name == "invalid-key"


# forward and answer


def test_forward_sends_the_raw_path_and_strips_hop_by_hop_headers_the_key_and_portal_cookies():
    headers = (
        ("Ocp-Apim-Subscription-Key", "good"),
        ("Connection", "X-Drop"),
        ("X-Drop", "1"),
        ("Cookie", "sessionid=s; theirs=1"),
        ("X-Forwarded-For", "1.2.3.4"),
        ("X-Portico-Subscription", "42"),  # the caller's claim, never passed on
    )
    t, ports = routed(request("/gateway/echo/items/a%20b", headers=headers))
    run(pipeline.forward(t, ports, ports.config()))
    method, url, sent, _ = ports.forwarded
    assert (method, url) == ("GET", "http://backend/base/items/a%20b")
    assert dict(sent) == {
        "Cookie": "theirs=1",
        "X-Forwarded-For": "1.2.3.4, 10.0.0.1",
        "X-Forwarded-Host": "portal.example",
        "X-Forwarded-Proto": "https",
        "X-Portico-Subscription": "none",  # set by the gateway: no subscription here
    }


@pytest.mark.parametrize(
    "headers,status",
    [
        ((("Content-Length", "1001"),), 413),
        ((("Content-Length", "-1"),), 400),
        ((("Transfer-Encoding", "chunked"),), 411),
        ((("X-Evil", "a\r\nb: 1"),), 400),
    ],
)
def test_forward_refuses_bodies_and_headers_it_cannot_pass_on(headers, status):
    t, ports = routed(request(headers=headers))
    with pytest.raises(Refused) as e:
        run(pipeline.forward(t, ports, ports.config()))
    assert pipeline.refusal_answer(e.value).status == status


def test_answer_passes_a_small_body_sandboxed_without_portal_cookies():
    up, released = upstream(
        headers=[("Content-Length", "2"), ("Set-Cookie", "sessionid=x"), ("Set-Cookie", "app=1"), ("Keep-Alive", "5")]
    )
    t, ports = routed()
    answer = run(pipeline.answer(t, up, ports.config()))
    assert answer.body == b"{}" and released == [True]
    assert answer.headers == [("Content-Security-Policy", "sandbox"), ("Set-Cookie", "app=1"), ("Content-Length", "2")]


def test_answer_refuses_a_short_or_oversized_body():
    t, ports = routed()
    up, released = upstream(body=b"par", headers=[("Content-Length", "1000")])
    with pytest.raises(Refused) as e:
        run(pipeline.answer(t, up, ports.config()))
    assert e.value.name == "unreachable" and released == [False]
    up, _ = upstream(headers=[("Content-Length", "2000000")])
    with pytest.raises(Refused) as e:
        run(pipeline.answer(t, up, ports.config()))
    assert e.value.name == "answer-too-large"


def test_a_broken_stream_raises_instead_of_ending_cleanly():
    t, ports = routed()
    up, released = upstream(headers=[], chunks=[b"a" * 10], broken=True)
    answer = run(pipeline.answer(t, up, ports.config()))

    async def drain():
        return [c async for c in answer.stream]

    with pytest.raises(pipeline.BrokenStream):
        run(drain())
    assert released == [False] and t.record.outcome == "backend_error"


# the whole call, and the policy seams


def test_a_call_is_recorded_with_its_request_id_whatever_happens():
    ports = Fake()
    answer = run(pipeline.handle(request(headers=()), ports))
    assert answer.status == 401 and ports.seams == ["on-error"]
    (record,) = ports.records
    assert answer.header("X-Portico-Request-Id") == record.request_id
    assert (record.status, record.outcome) == (401, "unauthorized")


def test_the_policy_seams_run_after_admit_and_around_forward():
    ports = Fake()
    answer = run(pipeline.handle(request(), ports))
    assert answer.status == 200 and ports.seams == ["inbound", "outbound"]
    ports = Fake(inbound_answer=pipeline.Answer(200, [], b"from policy"))
    answer = run(pipeline.handle(request(), ports))
    assert answer.body == b"from policy" and ports.forwarded is None


def test_a_failure_in_a_step_is_a_json_500_and_still_recorded():
    ports = Fake()

    async def broken(suffix):
        raise RuntimeError("boom")

    ports.route_for = broken
    answer = run(pipeline.handle(request(), ports))
    assert answer.status == 500 and body(answer) == {"statusCode": 500, "message": "Internal gateway error."}
    assert ports.records[0].outcome == "backend_error"
