"""The Try It console: one template, served whole or as fragments under htmx."""

from __future__ import annotations

import dataclasses
import logging
import time

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget

from apis import schemas
from apis.models import Operation, Parameter
from console import build, forms, snippets
from console import render as show
from console.models import Send
from console.send import send as send_request

log = logging.getLogger(__name__)

TEMPLATE = "console/console.html"
REQUEST_ID_HEADERS = ("X-Portico-Request-Id", "X-Request-Id", "Request-Id")


def get_operation(request: HttpRequest, operation_id: int) -> Operation:
    """The operation if the developer may use its console, else a 404."""
    operation = get_object_or_404(
        # The components are read through Api.schema_components, cached per process.
        Operation.objects.select_related("api").defer("api__components").prefetch_related("parameters"),
        pk=operation_id,
    )
    if not (operation.api.published or request.user.is_staff):  # as Api.objects.visible_to
        raise Http404("No such operation.")
    if not (operation.api.console_enabled and operation.console_enabled):
        raise Http404("The Try It console is turned off for this operation.")
    return operation


def console_context(
    request: HttpRequest,
    operation: Operation,
    state: forms.State | None = None,
    *,
    errors: dict | None = None,
    sent: Send | None = None,
    message: str = "",
    restore: bool = False,
) -> dict:
    enabled = operation.api.console_enabled and operation.console_enabled
    if state is None:
        state = forms.initial(operation, request.user)
    built = forms.build_request(operation, state, request.user) if enabled else None
    errors = errors if errors is not None else {}
    if restore and sent is None and request.user.is_authenticated:
        # Reload, back and forward show the last answer again, from the history: nothing is re-sent.
        sent = Send.objects.filter(user=request.user, operation=operation).first()
    params = []
    for param in operation.parameters.all():
        if param.location == Parameter.HEADER:
            continue
        kind = next(iter(schemas.types_of(param.value_schema)[0]), "")
        params.append(
            {
                "name": param.name,
                "location": param.location,
                "description": param.description,
                "value": state.params.get(param.name, ""),
                "choices": param.choices or (["true", "false"] if kind == "boolean" else []),
                "kind": kind,
                "format": param.value_schema.get("format", ""),
                "required": param.required,
                "error": errors.get(f"p_{param.name}", ""),
            }
        )
    declared = {p.name.lower(): p for p in forms.header_params(operation)}
    headers = []
    for index, (name, value) in enumerate(state.headers):
        param = declared.get(name.lower())
        headers.append(
            {
                "index": index,
                "name": name,
                "value": value,
                "description": param.description if param else "",
                "required": bool(param and param.required),
                "secret": build.is_secret_header(name),
                "error": errors.get(f"h_{index}", ""),
            }
        )
    reps = forms.representations(operation)
    rep = reps[min(state.rep, len(reps) - 1)] if reps else None
    return {
        "operation": operation,
        "api": operation.api,
        "enabled": enabled,
        "state": state,
        "params": params,
        "extra_query": [
            {"index": i, "name": k, "value": v, "error": errors.get(f"q_{i}", "")}
            for i, (k, v) in enumerate(state.extra_query)
        ],
        "headers": headers,
        "reps": reps,
        "rep": rep,
        "body_choices": forms.body_choices(operation, rep) if rep else [],
        "subscription_options": forms.subscription_options(request.user),
        "errors": errors,
        "built": built,
        "preview": preview_context(built, state.reveal, state.snippet) if built else {},
        "sent": sent,
        "shown": shown_context(sent) if sent else None,
        "history": history(request, operation),
        "message": message,
        "languages": snippets.LANGUAGES,
        # Where sign-up and log-in bring the developer back: this operation's console.
        "back_here": operation.get_absolute_url() + "#try-it",
        "error_list": error_list(operation, errors, params, headers),
        "gateway_url": settings.GATEWAY_URL,
        "max_body_bytes": settings.GATEWAY_MAX_REQUEST_BYTES,
    }


# The preview is re-rendered as the developer types: a body of megabytes is
# shown by its beginning, or every keystroke would move (and highlight) it all.
PREVIEW_BODY_CHARS = 64 * 1024


def preview_context(built: build.BuiltRequest, reveal: bool, language: str = snippets.DEFAULT) -> dict:
    chosen = snippets.language(language)
    if len(built.body) > PREVIEW_BODY_CHARS:
        rest = len(built.body) - PREVIEW_BODY_CHARS
        note = f"\n… and {rest:,} more characters, not shown here: Send sends the whole body."
        built = dataclasses.replace(built, body=built.body[:PREVIEW_BODY_CHARS] + note)
    return {
        "url": built.shown_url,
        "raw": snippets.code(built, "http", reveal),
        "language": chosen,
        "code_html": snippets.highlighted(snippets.code(built, chosen.slug, reveal), chosen.slug),
        "json_warning": built.json_warning,
    }


def error_list(operation: Operation, errors: dict, params: list[dict], headers: list[dict]) -> list[tuple]:
    """(field id, label, message) for the summary at Send, in the order of the form."""
    pk = operation.pk
    items = []
    for p in params:
        if p["error"]:
            items.append((f"c{pk}-p-{p['name']}", p["name"], p["error"]))
    for key in ("subscription", "headers", "url"):
        if errors.get(key):
            items.append((f"c{pk}-subscription" if key == "subscription" else "", key.capitalize(), errors[key]))
    for h in headers:
        if h["error"]:
            items.append((f"c{pk}-h-{h['index']}", h["name"] or f"Header {h['index'] + 1}", h["error"]))
    for key, message in errors.items():
        if key.startswith("q_"):
            items.append((f"c{pk}-q-{key[2:]}", f"Query parameter {int(key[2:]) + 1}", message))
    if errors.get("body"):
        items.append((f"c{pk}-body", "Body", errors["body"]))
    return items


def shown_context(sent: Send) -> dict:
    headers = [tuple(h) for h in sent.response_headers]
    retry_after = next((v for n, v in headers if n.lower() == "retry-after"), "")
    content_disposition = next((v for n, v in headers if n.lower() == "content-disposition"), "")
    return {
        "policy_trace": show.policy_trace(headers),
        "content": show.show(sent.content_type, bytes(sent.body), sent.complete),
        "calls_left": show.calls_left(headers),
        "retry_after": int(retry_after) if retry_after.strip().isdigit() else None,
        "filename": show.download_name(content_disposition, sent.content_type),
        "status_class": "ok"
        if sent.status and sent.status < 300
        else "warn"
        if sent.status and sent.status < 500
        else "bad",
    }


def history(request: HttpRequest, operation: Operation) -> list[Send]:
    if not request.user.is_authenticated:
        return []
    fields = ["id", "created", "method", "url", "status", "reason", "error", "elapsed_ms", "request_id"]
    return list(Send.objects.filter(user=request.user, operation=operation).only(*fields)[:10])


def render_partial(request: HttpRequest, name: str, context: dict) -> HttpResponse:
    return render(request, f"{TEMPLATE}#{name}", context)


@require_GET
def console_page(request: HttpRequest, operation_id: int) -> HttpResponse:
    """The console on a page of its own; also where it works without JavaScript."""
    operation = get_operation(request, operation_id)
    return render(request, "console/page.html", console_context(request, operation, restore=True))


@require_POST
def console_form(request: HttpRequest, operation_id: int) -> HttpResponse:
    """Re-render the form after a button: add or remove a row, pick a representation, reset the body."""
    operation = get_operation(request, operation_id)
    state = forms.from_post(operation, request.POST)
    action = request.POST.get("action", "")
    reps = forms.representations(operation)
    if action == "add-header":
        state.headers.append(("", ""))
    elif action.startswith("remove-header-") and action[14:].isdigit():
        del state.headers[int(action[14:]) : int(action[14:]) + 1]
    elif action == "add-query":
        state.extra_query.append(("", ""))
    elif action.startswith("remove-query-") and action[13:].isdigit():
        del state.extra_query[int(action[13:]) : int(action[13:]) + 1]
    elif action == "reset-all":
        state = forms.initial(operation, request.user, defaults=True)
    elif action in ("reset-body", "rep", "example") and reps:
        rep = reps[min(state.rep, len(reps) - 1)]
        if action == "rep":
            state.example = 0  # another representation's examples
        state.body = forms.body_of(operation, rep, state.example)
        state.headers = [(n, rep.content_type if n.lower() == "content-type" else v) for n, v in state.headers]
    forms.save(request.user, operation, state)
    context = console_context(request, operation, state)
    if request.htmx:
        return render_partial(request, "form", context)
    return render(request, "console/page.html", context)


@require_POST
def console_preview(request: HttpRequest, operation_id: int) -> HttpResponse:
    """The URL, raw request and snippets, as typed; also keeps the typed values for the developer."""
    operation = get_operation(request, operation_id)
    state = forms.from_post(operation, request.POST)
    forms.save(request.user, operation, state)
    built = forms.build_request(operation, state, request.user)
    preview = preview_context(built, state.reveal, request.POST.get("snippet", snippets.DEFAULT))
    context = {"preview": preview, "built": built, "operation": operation}
    html = render_to_string(f"{TEMPLATE}#preview", context, request)
    # The code and the JSON check sit outside the preview: swapped out of band.
    html += render_to_string(f"{TEMPLATE}#snippet-code", context | {"oob": True}, request)
    html += render_to_string(f"{TEMPLATE}#json-warning", context | {"oob": True}, request)
    return HttpResponse(html)


@require_POST
def console_send(request: HttpRequest, operation_id: int) -> HttpResponse:
    received = time.perf_counter()
    operation = get_operation(request, operation_id)
    history_id = request.POST.get("history")
    if history_id is not None and request.user.is_authenticated:
        # A history id that is not a number names no entry: a 404, not a 500.
        if not history_id.isdigit():
            raise Http404("No such history entry.")
        past = get_object_or_404(Send, pk=history_id, user=request.user, operation=operation)
        state = forms.from_history(past, request.user)
    else:
        state = forms.from_post(operation, request.POST)
    if not request.user.is_authenticated:
        return answer(request, operation, state, message="Log in to send requests from the console.")
    built = forms.build_request(operation, state, request.user)
    t_built = time.perf_counter()
    if not built.ok:
        # Nothing is sent; the form comes back with the errors next to the fields.
        response = answer(request, operation, state, errors=built.errors)
        return retarget(reswap(response, "outerHTML"), f"#console-form-{operation.pk}") if request.htmx else response
    result = send_request(built, client_ip=request.META.get("REMOTE_ADDR") or "127.0.0.1", sender=request.user.pk)
    t_sent = time.perf_counter()
    sent = Send(
        user=request.user,
        operation=operation,
        method=built.method,
        url=build.redact_url(built.url),
        form=state.redacted(),
        status=result.status,
        reason=result.reason,
        error=result.error,
        elapsed_ms=result.elapsed_ms,
        size=result.size,
        response_headers=result.headers,
        content_type=result.header("Content-Type")[:200],
        # Kept (up to the console's read cap) for the download link and for showing
        # the answer again after a reload.
        body=result.body,
        complete=result.complete,
        request_id=next((result.header(h) for h in REQUEST_ID_HEADERS if result.header(h)), "")[:64],
    )
    try:
        with transaction.atomic():  # one commit
            sent.save()
            # Pruning every few sends is enough: the page lists the last ten.
            if sent.pk % 5 == 0:
                sent.prune_history()
            forms.save(request.user, operation, state)
    except DatabaseError:
        # The call went through; losing its history entry must not hide the answer.
        log.exception("console: could not keep send of %s", build.redact_url(built.url))
        sent.pk = None
    sent.body = result.body  # the page shows it whole or in part, stored or not
    t_saved = time.perf_counter()
    response = answer(request, operation, state, sent=sent)
    done = time.perf_counter()
    # The console's own time, without the gateway's: what the benchmark reads.
    overhead = (done - received) * 1000 - result.elapsed_ms
    response["Server-Timing"] = ", ".join(
        f"{name};dur={ms:.2f}"
        for name, ms in [
            ("console", overhead),
            ("gateway", result.elapsed_ms),
            ("build", (t_built - received) * 1000),
            ("read", (t_sent - t_built) * 1000 - result.elapsed_ms),
            ("save", (t_saved - t_sent) * 1000),
            ("render", (done - t_saved) * 1000),
        ]
    )
    return response


def answer(request: HttpRequest, operation: Operation, state: forms.State, **kwargs) -> HttpResponse:
    if request.htmx and not kwargs.get("errors"):
        # Only the result and the history change: skip building the whole form.
        context = {
            "operation": operation,
            "sent": kwargs.get("sent"),
            "shown": shown_context(kwargs["sent"]) if kwargs.get("sent") else None,
            "message": kwargs.get("message", ""),
            "user": request.user,
        }
    else:
        context = console_context(request, operation, state, **kwargs)
    if not request.htmx:
        return render(request, "console/page.html", context)
    if kwargs.get("errors"):
        return render_partial(request, "form", context)
    html = render_to_string(f"{TEMPLATE}#result", context, request)
    html += render_to_string(f"{TEMPLATE}#history-oob", context, request)
    return HttpResponse(html)


@login_required
@require_GET
def history_load(request: HttpRequest, pk: int) -> HttpResponse:
    past = get_object_or_404(Send.objects.select_related("operation__api"), pk=pk, user=request.user)
    operation = get_operation(request, past.operation_id)
    context = console_context(request, operation, forms.from_history(past, request.user))
    if request.htmx:
        return render_partial(request, "form", context)
    return render(request, "console/page.html", context)


@login_required
@require_GET
def send_body(request: HttpRequest, pk: int) -> HttpResponse:
    """A send's response body as a download; raster images inline for the preview."""
    sent = get_object_or_404(Send, pk=pk, user=request.user)
    headers = [tuple(h) for h in sent.response_headers]
    disposition = next((v for n, v in headers if n.lower() == "content-disposition"), "")
    name = show.download_name(disposition, sent.content_type)
    inline = request.GET.get("inline") == "1" and show.main_type(sent.content_type) in show.PREVIEW_IMAGES
    response = HttpResponse(
        bytes(sent.body), content_type=show.main_type(sent.content_type) if inline else "application/octet-stream"
    )
    response["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{name}"'
    # Whatever the backend sent, it must not run as a page of the portal.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def send_call(request: HttpRequest, pk: int) -> HttpResponse:
    """From a console send to the gateway's record of the same call (monitoring, for staff)."""
    if not request.user.is_staff:
        raise Http404("Call records are shown to administrators.")
    sent = get_object_or_404(Send, pk=pk)
    call = sent.call
    if call is None:
        raise Http404("The gateway has not recorded this call (yet).")
    try:
        return HttpResponseRedirect(reverse("monitoring-call", args=[call.pk]))
    except NoReverseMatch:  # monitoring not installed
        return HttpResponseRedirect(reverse("admin:gateway_call_change", args=[call.pk]))
