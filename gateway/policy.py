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
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from apis import urltemplate
from apis.models import Operation, Parameter, RequestRepresentation, ResponseRepresentation
from gateway import counters, dbpool, limits
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

    def get(self, operation_id: int, api_id: int, product_id: int | None) -> tuple[pipeline.Pipeline | None, Snapshot]:
        now = time.monotonic()
        if self.snapshot is None or now - self.checked > CHECK_INTERVAL:
            with self.lock:
                if self.snapshot is None or now - self.checked > CHECK_INTERVAL:
                    version = _version()
                    if self.snapshot is None or version != self.version:
                        self.snapshot, self.pipelines, self.version = Snapshot.load(), {}, version
                    self.checked = now
        snap = self.snapshot
        key = (operation_id, api_id, product_id)
        try:
            return self.pipelines[key], snap  # type: ignore[return-value]
        except KeyError:
            pass
        try:
            compiled: pipeline.Pipeline | None = pipeline.Pipeline(snap.merged(operation_id, api_id, product_id))
        except document.PolicyError:
            compiled = BROKEN
        if compiled is not BROKEN and compiled.empty:  # type: ignore[union-attr]
            compiled = None  # nothing but forwarding: the gateway's own path
        self.pipelines[key] = compiled
        return compiled, snap  # type: ignore[return-value]

    def clear(self) -> None:
        with self.lock:
            self.snapshot = None


# A merged document that does not compile (each scope's does on its own; a
# combination cannot fail today, but a call must never hang on it if it does).
BROKEN = pipeline.Pipeline({s: [] for s in document.SECTIONS})
compiled = _Compiled()


def _version() -> tuple:
    # Raw SQL on the gateway's pooled connections, as routing._version.
    parts = []
    for model in (Policy, NamedValue):
        meta = model._meta
        parts.append(f"SELECT MAX({meta.get_field('updated').column}), COUNT(*) FROM {meta.db_table}")
    rows, _ = dbpool.fetchall(" UNION ALL ".join(parts), [])
    return tuple(tuple(r) for r in rows)


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


# ------------------------------------------------------------------ the run


class Run:
    """One call's way through its policies: the gateway calls request(),
    forwards what it says, then response(), or failed() on a backend error."""

    def __init__(self, steps: pipeline.Pipeline, ctx: pipeline.Context):
        self.steps, self.ctx = steps, ctx

    @property
    def request_(self) -> pipeline.Request:
        return self.ctx.request

    def request(self) -> pipeline.Answer | None:
        return self.steps.request(self.ctx)

    def response(self, response: pipeline.Response) -> pipeline.Response:
        return self.steps.response(self.ctx, response)

    def failed(self, status: int, message: str) -> pipeline.Response:
        reason = "Timeout" if status == 504 else "BackendConnectionFailure"
        prepared = pipeline.error_answer(status, message)
        return self.steps.failed(self.ctx, pipeline.LastError("forward-request", reason, message), prepared)

    @property
    def forwards(self) -> bool:
        return self.steps.forwards

    @property
    def url(self) -> str:
        return self.ctx.request.url

    def outcome_of(self, default: str) -> str:
        from gateway.models import Call

        if self.ctx.failed:
            return Call.POLICY_ERROR
        if self.ctx.refused:
            return Call.REFUSED
        if self.ctx.cached:
            return Call.CACHED
        if self.ctx.mocked:
            return Call.MOCKED
        return default

    @property
    def policy_name(self) -> str:
        return (
            self.ctx.failed
            or self.ctx.refused
            or ("cache-lookup" if self.ctx.cached else "")
            or ("mock-response" if self.ctx.mocked else "")
        )


def start(
    request: HttpRequest,
    route,
    found: urltemplate.RouteMatch,
    op_path: str,
    query: str,
    *,
    product_id: int | None,
    subscription_id: int | None,
    user_id: int | None,
    headers: dict[str, str],
    body: bytes | None,
) -> Run | None:
    """The run for this call, or None when no policy applies to it."""
    steps, snap = compiled.get(found.key, route.id, product_id)
    if steps is None:
        return None
    ctx = pipeline.Context(
        request=pipeline.Request(
            method=request.method or "GET",
            original_method=request.method or "GET",
            path=op_path,
            query=parse_qsl(query, keep_blank_values=True),
            headers=pipeline.Headers(headers.items()),
            ip=request.META.get("REMOTE_ADDR"),
            scheme=request.scheme or "http",
            host=request.get_host(),
            body=body,
            base_url=route.service_url,
            template=found.template,
            values=dict(found.values),
        ),
        services=Services(found.key),
        named_values=snap.named_values,
        subscription_id=str(subscription_id) if subscription_id is not None else None,
        user_id=str(user_id) if user_id is not None else None,
        product_id=str(product_id) if product_id is not None else None,
        api_id=str(route.id),
        operation_id=str(found.key),
    )
    return Run(steps, ctx)


def preflight(request: HttpRequest, route, op_path: str, query: str) -> HttpResponse | None:
    """A CORS preflight for an operation whose policies have <cors>, answered
    before any key is asked for, as API Management does."""
    wanted = request.META.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")
    if request.method != "OPTIONS" or not wanted or "HTTP_ORIGIN" not in request.META:
        return None
    found = route.router.match(wanted, op_path, query)
    if found is None:
        return None
    steps, snap = compiled.get(found.key, route.id, None)
    if steps is None or steps.cors is None:
        return None
    headers = {
        "Origin": request.META["HTTP_ORIGIN"],
        "Access-Control-Request-Method": wanted,
        "Access-Control-Request-Headers": request.META.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", ""),
    }
    ctx = pipeline.Context(
        request=pipeline.Request("OPTIONS", op_path, [], pipeline.Headers(headers.items())),
        services=Services(found.key),
        named_values=snap.named_values,
    )
    answer = steps.preflight(ctx)
    return to_http(answer) if answer is not None else None


def to_http(response: pipeline.Response) -> HttpResponse:
    out = HttpResponse(response.body or b"", status=response.status)
    if response.reason:
        out.reason_phrase = response.reason
    del out["Content-Type"]
    for name, value in response.headers.items():
        if name.lower() != "content-length":
            out[name] = value
    out["Content-Length"] = str(len(response.body or b""))
    return out


def from_http(response: HttpResponse) -> pipeline.Response:
    """A buffered backend answer, as the evaluator sees it."""
    return pipeline.Response(
        response.status_code,
        pipeline.Headers((n, v) for n, v in response.items() if n.lower() != "content-length"),
        None if response.streaming else response.content,
        response.reason_phrase or "",
    )


def apply(response: pipeline.Response, http: HttpResponse) -> HttpResponse:
    """``http`` changed as the outbound policies changed its copy: status,
    headers, and the body when one was set (else the backend's, which may
    still be streaming)."""
    if response.body is not None and not http.streaming and response.body != http.content:
        http.content = response.body
        http["Content-Length"] = str(len(response.body))
    http.status_code = response.status
    if response.reason:
        http.reason_phrase = response.reason
    kept = {n.lower() for n, _ in response.headers.items()}
    for name in list(http.headers):
        if name.lower() not in kept and name.lower() != "content-length":
            del http[name]
    for name, value in response.headers.items():
        if name.lower() != "content-length":
            http[name] = value
    return http


def trace_of(run: Run | None) -> str:
    """The trace as one header value (JSON), secrets masked."""
    if run is None:
        return ""
    return json.dumps([[t.section, t.policy, t.scope, t.detail] for t in run.ctx.trace], ensure_ascii=True)
