"""The gateway's side of policies: which compiled pipeline runs for a call,
and the services it asks for (counters, response cache, the operation's
schemas and examples). The evaluator itself is policies.pipeline (pure).

Compiled pipelines are kept per process, like the router (gateway.routing):
rebuilt at once in the process that saved a document or a named value (the
signals below), and within CHECK_INTERVAL seconds in every other process,
which compares one cheap aggregate over both tables with what it built from.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from django.db.models import Count, Max
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apis.models import Operation, Parameter, RequestRepresentation, ResponseRepresentation
from gateway import counters, limits
from gateway import pipeline as gateway
from policies import document, mock, pipeline
from policies.effective import Snapshot
from policies.models import NamedValue, Policy

CHECK_INTERVAL = 1.0


class _Compiled:
    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None
        self.pipelines: dict[tuple, pipeline.Pipeline | None] = {}
        self.version: tuple | None = None
        self.checked = 0.0
        self.lock = threading.Lock()

    def fresh(self) -> Snapshot | None:
        """The snapshot when no check is due (nothing to wait for), else None."""
        snap = self.snapshot
        if snap is None or time.monotonic() - self.checked > CHECK_INTERVAL:
            return None
        return snap

    def refresh(self) -> Snapshot:
        """The snapshot, checked against the database (blocking)."""
        now = time.monotonic()
        if self.snapshot is None or now - self.checked > CHECK_INTERVAL:
            with self.lock:
                if self.snapshot is None or now - self.checked > CHECK_INTERVAL:
                    version = _version()
                    if self.snapshot is None or version != self.version:
                        self.snapshot, self.pipelines, self.version = Snapshot.load(), {}, version
                    self.checked = now
        return self.snapshot  # type: ignore[return-value]

    def get(self, operation_id: int, api_id: int, product_id: int | None) -> tuple[pipeline.Pipeline | None, Snapshot]:
        snap = self.fresh() or self.refresh()
        key = (operation_id, api_id, product_id)
        try:
            return self.pipelines[key], snap  # type: ignore[return-value]
        except KeyError:
            pass
        try:
            compiled: pipeline.Pipeline | None = pipeline.Pipeline(snap.merged(operation_id, api_id, product_id))
        except document.PolicyError as e:
            # Saved around validation (raw SQL, an older Portico): every call
            # of the operation fails as a policy error until it is fixed.
            gateway.log.error("The policies of operation %s cannot run: %s", operation_id, e)
            compiled = Broken(str(e))
        if compiled is not None and compiled.empty:
            compiled = None  # nothing but forwarding: the gateway's own path
        self.pipelines[key] = compiled
        return compiled, snap  # type: ignore[return-value]

    def clear(self) -> None:
        with self.lock:
            self.snapshot = None


class Broken(pipeline.Pipeline):
    """The policies of an operation whose stored document does not compile."""

    def __init__(self, problem: str):
        super().__init__({s: [] for s in document.SECTIONS})
        self.problem, self.empty = problem, False

    def preflight(self, ctx):
        return None

    def request(self, ctx):
        return self._on_error(ctx, pipeline.Failure("policies", f"The policy document cannot run: {self.problem}"))


compiled = _Compiled()


def _version() -> tuple:
    # As routing._version: one cheap aggregate per table.
    return tuple(
        tuple(model.objects.aggregate(updated=Max("updated"), count=Count("id")).values())
        for model in (Policy, NamedValue)
    )


@receiver([post_save, post_delete], sender=Policy)
@receiver([post_save, post_delete], sender=NamedValue)
def _changed(sender, **kwargs) -> None:
    compiled.clear()


# ------------------------------------------------------------------ services


@dataclass
class Services:
    """What the evaluator asks for, answered from this project's parts."""

    operation_id: int

    def rate_limit(self, key: str, calls: int, period: int, count: bool) -> pipeline.Admission:
        lim = counters.Limits(rate_calls=calls, rate_period=period)
        if not count:
            return _peek_rate(key, lim)
        decision = counters.admit(key, lim, 0.0)
        return pipeline.Admission(decision.allowed, decision.retry_after, decision.rate_remaining or 0)

    def quota(self, key: str, calls: int, period: int, start: float, count: bool) -> pipeline.Admission:
        lim = counters.Limits(quota_calls=calls, quota_period=period)
        if not count:
            return _peek_quota(key, lim, start)
        decision = counters.admit(key, lim, start)
        wait = decision.quota_renewal if not decision.allowed else 0
        return pipeline.Admission(decision.allowed, wait, decision.quota_remaining or 0)

    def cache_get(self, key: str) -> dict | None:
        return caches[DEFAULT_CACHE_ALIAS].get(key)

    def cache_set(self, key: str, value: dict, seconds: int) -> None:
        caches[DEFAULT_CACHE_ALIAS].set(key, value, seconds)

    def example(self, status: int | None, content_type: str | None) -> tuple[int, str, bytes] | None:
        operation = Operation.objects.select_related("api").get(pk=self.operation_id)
        reps = ResponseRepresentation.objects.filter(response__operation_id=self.operation_id).select_related(
            "response"
        )
        candidates = []
        for rep in reps:
            code = rep.response.status_code
            if not code.isdigit():
                continue
            if status is not None and int(code) != status:
                continue
            if content_type and rep.content_type.lower() != content_type.lower():
                continue
            candidates.append(rep)
        # API Management: the first 2xx response when no status-code is given.
        candidates.sort(key=lambda r: (not r.response.status_code.startswith("2"), r.response.status_code, r.id))
        if not candidates:
            if status is None:
                return None
            return status, content_type or "", b""
        rep = candidates[0]
        body = mock.body_of(rep.example, rep.examples, rep.schema, operation.api.components, rep.content_type)
        return int(rep.response.status_code), rep.content_type, body

    def request_schema(self, content_type: str) -> tuple[dict | None, list[str]]:
        reps = list(RequestRepresentation.objects.filter(operation_id=self.operation_id))
        declared = [r.content_type for r in reps]
        for rep in reps:
            if rep.content_type.lower() == content_type and rep.schema:
                components = Operation.objects.values_list("api__components", flat=True).get(pk=self.operation_id)
                return mock.resolvable(rep.schema, components or {}), declared
        return None, declared

    def parameters(self) -> list[dict]:
        out = []
        for p in Parameter.objects.filter(operation_id=self.operation_id):
            kind = p.type
            if p.schema.get("type") in ("integer", "number", "boolean", "string"):
                kind = p.schema["type"]
            out.append(
                {"name": p.name, "location": p.location, "required": p.required, "type": kind, "choices": p.choices}
            )
        return out


def _cache():
    return caches[DEFAULT_CACHE_ALIAS]


def _peek_rate(counter_id: str, lim: counters.Limits) -> pipeline.Admission:
    """Whether one more call fits, without counting it (increment-condition
    counts once the response is known). Keys as gateway.counters has them."""
    cache, now, key = _cache(), time.time(), f"gw:rate:{counter_id}"
    if isinstance(cache, RedisCache):
        client = cache._cache.get_client(None, write=False)
        stamps = [
            s for _, s in client.zrangebyscore(cache.make_key(key), now - lim.rate_period, "+inf", withscores=True)
        ]
    else:
        stamps = list(cache.get(key, ()))
    kept = [t for t in stamps if t > now - lim.rate_period]
    if len(kept) < lim.rate_calls:
        return pipeline.Admission(True, 0, lim.rate_calls - len(kept) - 1)
    wait = limits.retry_seconds(min(min(kept), now) + lim.rate_period - now)
    return pipeline.Admission(False, wait, 0)


def _peek_quota(counter_id: str, lim: counters.Limits, start: float) -> pipeline.Admission:
    now = time.time()
    window = limits.quota_window(start, now, lim.quota_period)
    used = int(_cache().get(f"gw:quota:{counter_id}:{window.index}", 0) or 0)
    if used < lim.quota_calls:
        return pipeline.Admission(True, 0, lim.quota_calls - used - 1)
    return pipeline.Admission(False, window.seconds_left(now), 0)


# ------------------------------------------------------------------ the seams


class Run:
    """One call's way through its policies (see policies.pipeline)."""

    def __init__(self, steps: pipeline.Pipeline, ctx: pipeline.Context):
        self.steps, self.ctx = steps, ctx

    def outcome(self) -> str:
        from gateway.models import Call

        ctx = self.ctx
        if ctx.failed:
            return Call.POLICY_ERROR
        if ctx.refused:
            return Call.REFUSED
        if ctx.cached:
            return Call.CACHED
        if ctx.mocked:
            return Call.MOCKED
        return ""

    def policy_name(self) -> str:
        ctx = self.ctx
        return (
            ctx.failed
            or ctx.refused
            or ("cache-lookup" if ctx.cached else "")
            or ("mock-response" if ctx.mocked else "")
        )


async def _steps(blocking, operation_id: int, api_id: int, product_id: int | None):
    """The compiled pipeline, without waiting when the snapshot is fresh and
    compiled already (the common case), else through ``blocking``."""
    snap = compiled.fresh()
    if snap is not None:
        found = compiled.pipelines.get((operation_id, api_id, product_id), MISSING)
        if found is not MISSING:
            return found, snap
    return await blocking(compiled.get, operation_id, api_id, product_id)


MISSING = object()
TRACE_REQUEST, TRACE_RESPONSE, TRACE_MAX = "X-Portico-Trace", "X-Portico-Policy-Trace", 8192


def _settle(trip: gateway.Trip, run: Run) -> None:
    outcome = run.outcome()
    if outcome:
        trip.outcome = outcome
        trip.record.policy = run.policy_name()[:64]
        if outcome == "policy_error":
            # The policy's name, never the values it used.
            gateway.log.error("Policy %s failed for call %s", trip.record.policy, trip.record.request_id)
    cors = run.ctx.cors_headers
    if cors:
        trip.extra_headers.extend(cors.items())
    # The trace, for a developer calling with their own key who asks for it
    # (the console does): which policies ran, named values that are secret masked.
    if trip.incoming.header(TRACE_REQUEST) == "true" and trip.record.subscription_id is not None:
        trace = trace_of(run)
        if len(trace) <= TRACE_MAX:
            trip.extra_headers.append((TRACE_RESPONSE, trace))


async def preflight(trip: gateway.Trip, blocking) -> gateway.Answer | None:
    """A CORS preflight for an operation whose policies have <cors>, answered
    before any key is asked for, as API Management does."""
    incoming = trip.incoming
    wanted = incoming.header("access-control-request-method")
    if incoming.method != "OPTIONS" or not wanted or incoming.header("origin") is None or trip.route is None:
        return None
    found = trip.route.router.match(wanted, trip.op_path, trip.query)
    if found is None:
        return None
    steps, snap = await _steps(blocking, found.key, trip.route.id, None)
    if steps is None or steps.cors is None:
        return None
    names = ("Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers")
    headers = pipeline.Headers((n, incoming.header(n) or "") for n in names)
    ctx = pipeline.Context(pipeline.Request("OPTIONS", trip.op_path, [], headers), services=Services(found.key))
    answer = steps.preflight(ctx)
    if answer is None:
        return None
    trip.record.operation_id = found.key
    return to_answer(answer)


async def inbound(trip: gateway.Trip, blocking, config: gateway.Config) -> gateway.Answer | None:
    """Inbound and backend policies up to forward-request: an answer to send
    instead of forwarding, or None with trip.outgoing set."""
    route, record, incoming = trip.route, trip.record, trip.incoming
    steps, snap = await _steps(blocking, record.operation_id, route.id, record.product_id)
    if steps is None:
        return None
    headers = [(n, v) for n, v in gateway.request_headers(trip, config) if n.lower() != TRACE_REQUEST.lower()]
    body = await _buffer_body(trip, config)
    found = route.router.match(incoming.method, trip.op_path, trip.query)
    ctx = pipeline.Context(
        request=pipeline.Request(
            method=incoming.method,
            original_method=incoming.method,
            path=trip.op_path,
            query=parse_qsl(trip.query, keep_blank_values=True),
            headers=pipeline.Headers(headers),
            ip=incoming.client_ip,
            scheme=incoming.scheme,
            host=incoming.host,
            body=body,
            base_url=route.service_url,
            template=found.template if found else None,
            values=dict(found.values) if found else {},
        ),
        services=Services(record.operation_id),
        named_values=snap.named_values,
        subscription_id=_str(record.subscription_id),
        user_id=_str(record.user_id),
        product_id=_str(record.product_id),
        api_id=_str(route.id),
        operation_id=_str(record.operation_id),
    )
    run = trip.policies = Run(steps, ctx)
    answer = await blocking(steps.request, ctx)
    if answer is not None:
        if answer.outbound:
            answer = await blocking(steps.response, ctx, answer)
        _settle(trip, run)
        return to_answer(answer)
    request = ctx.request
    trip.outgoing = gateway.Outgoing(
        request.method,
        request.url,
        request.headers.items(),
        request.body if request.body is not body else None,
        ctx.forward_timeout,
    )
    return None


async def _buffer_body(trip: gateway.Trip, config: gateway.Config) -> bytes | None:
    """The caller's body when it is small enough to hold (validate-content
    and set-body need it), replayed to forward() afterwards; None otherwise
    (forward() then judges the length as it always does)."""
    incoming = trip.incoming
    declared = incoming.header("content-length")
    if not declared or not declared.isdigit() or incoming.read is None:
        return None
    length = int(declared)
    if length == 0:
        return b""
    if length > gateway.BUFFER_LIMIT or length > config.max_request_bytes:
        return None
    body = await incoming.read(length)
    left = [body]

    async def replay(n: int) -> bytes:
        chunk, left[0] = left[0][:n], left[0][n:]
        return chunk

    incoming.read = replay
    return body


def _str(value) -> str | None:
    return None if value is None else str(value)


async def outbound(trip: gateway.Trip, answer: gateway.Answer, blocking) -> gateway.Answer:
    run: Run | None = trip.policies
    if run is None:
        return answer
    streaming = answer.stream is not None
    response = pipeline.Response(
        answer.status,
        pipeline.Headers((n, v) for n, v in answer.headers if n.lower() != "content-length"),
        None if streaming else answer.body,
        answer.reason,
    )
    result = await blocking(run.steps.response, run.ctx, response)
    _settle(trip, run)
    return _merge(answer, result)


async def on_error(trip: gateway.Trip, answer: gateway.Answer, blocking) -> gateway.Answer:
    """A refusal after the inbound policies ran (the backend unreachable or
    too slow): the <on-error> section may change the gateway's answer."""
    run: Run | None = trip.policies
    if run is None:
        return answer
    try:
        message = json.loads(answer.body).get("message", "")
    except ValueError:
        message = ""
    reason = "Timeout" if answer.status == 504 else "BackendConnectionFailure"
    prepared = pipeline.Response(
        answer.status, pipeline.Headers((n, v) for n, v in answer.headers if n.lower() != "content-length"), answer.body
    )
    result = await blocking(run.steps.failed, run.ctx, pipeline.LastError("forward-request", reason, message), prepared)
    _settle(trip, run)
    return to_answer(result)


def to_answer(response: pipeline.Response) -> gateway.Answer:
    body = response.body or b""
    headers = [(n, v) for n, v in response.headers.items() if n.lower() != "content-length"]
    headers.append(("Content-Length", str(len(body))))
    return gateway.Answer(response.status, headers, body, response.reason)


def _merge(answer: gateway.Answer, response: pipeline.Response) -> gateway.Answer:
    """The backend's answer as the outbound policies changed it: status,
    headers, and the body when one was set (a streamed body stays a stream
    unless a policy replaced it)."""
    if answer.stream is not None and response.body is None:
        headers = [(n, v) for n, v in response.headers.items() if n.lower() != "content-length"]
        length = answer.header("content-length")
        if length is not None:
            headers.append(("Content-Length", length))
        return gateway.Answer(response.status, headers, b"", response.reason or answer.reason, stream=answer.stream)
    result = to_answer(response)
    result.reason = response.reason or answer.reason
    return result


def trace_of(run: Run | None) -> str:
    """The trace as one header value (JSON), secrets masked."""
    if run is None:
        return ""
    return json.dumps([[t.section, t.policy, t.scope, t.detail] for t in run.ctx.trace], ensure_ascii=True)
