"""The batch job panel: upload a CSV, submit and start a BES job, follow it, download the result.

Every BES call goes through the gateway, with the developer's subscription
key, exactly as a Send from the console does (console/send.py): it counts
against the subscription's limits like any other call. The panel lives on the
BES operations' pages and on the ML service's dashboard
({% batch_job_panel %}, console/templatetags/batch.py).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from apis.models import Api, Operation, Parameter
from apis.templatetags.catalog import period
from console import batch, forms, storage
from console import render as show
from console.models import BatchRun, SavedValues
from console.send import Result, timeouts
from console.send import send as send_request

log = logging.getLogger(__name__)

TEMPLATE = "console/batch.html"
SAMPLE = "static/console/reviews.csv"


class Refused(Exception):
    """The gateway or the service said no; the message is for the panel."""


def bes_of(api: Api) -> tuple[batch.BesOperations, dict[int, Operation]] | None:
    # Every operation page asks: only three columns of each operation to
    # decide, then the four BES operations whole (an imported API can have
    # hundreds of operations, and their rows were most of the page's time).
    found = batch.find_bes(list(api.operations.values_list("pk", "method", "url_template")))
    if not found:
        return None
    keys = [found.submit, found.start, found.status, found.delete]
    operations = {op.pk: op for op in api.operations.filter(pk__in=keys).prefetch_related("parameters")}
    return found, operations


def get_api(request: HttpRequest, api_id: int) -> tuple[Api, batch.BesOperations, dict[int, Operation]]:
    api = get_object_or_404(Api.objects.visible_to(request.user), pk=api_id)
    found = bes_of(api) if api.console_enabled else None
    if found is None:
        raise Http404("This API has no batch job operations.")
    return api, *found


def limits_text(user) -> list[str]:
    """What each of the developer's subscriptions allows, for the calls notice."""
    texts = []
    for sub in forms.active_subscriptions(user).order_by("created"):
        product, parts = sub.product, []
        if product.has_rate_limit:
            parts.append(f"{product.rate_limit_calls} calls per {period(product.rate_limit_period)}")
        if product.has_quota:
            parts.append(f"{product.quota_calls} per {period(product.quota_period)}")
        texts.append(f"{sub.name} ({product.name}): {', '.join(parts) or 'no limits'}")
    return texts


def panel_context(request: HttpRequest, api: Api, bes, operations, *, fixed: dict | None = None, **extra) -> dict:
    submit = operations[bes.submit]
    state = forms.initial(submit, request.user)
    authorization = next((v for n, v in state.headers if n.lower() == "authorization"), "")
    params = [p for p in submit.parameters.all() if p.location != Parameter.HEADER and p.name not in (fixed or {})]
    return {
        "api": api,
        "bes": bes,
        "fixed": fixed or {},
        "params": [
            {"name": p.name, "value": state.params.get(p.name, ""), "description": p.description} for p in params
        ],
        "authorization": authorization,
        "subscription": state.subscription,
        "subscription_options": forms.subscription_options(request.user),
        "limits": limits_text(request.user),
        "poll_seconds": settings.CONSOLE_BATCH_POLL_SECONDS,
        "max_bytes": settings.CONSOLE_BATCH_MAX_BYTES,
        "errors": {},
        "run": None,
        **extra,
    }


def call(request: HttpRequest, run: BatchRun, operation: Operation, *, body: str = "") -> Result:
    """One BES call through the gateway, counted on the run."""
    state = forms.State(
        params={**run.params, **({operation_job_param(run): run.job_id} if run.job_id else {})},
        headers=[*run.headers, *([("Content-Type", "application/json")] if body else [])],
        subscription=run.subscription,
        body=body,
    )
    built = forms.build_request(operation, state, request.user)
    if not built.ok:
        raise Refused(" ".join(built.errors.values()))
    result = send_request(built, client_ip=request.META.get("REMOTE_ADDR") or "127.0.0.1")
    run.calls += 1
    run.last_answer = f"{operation.display_name}: " + (
        f"{result.status} {result.reason}" if result.status else result.error
    )
    run.calls_left = show.calls_left(result.headers)
    if result.status == 429:
        retry = result.header("Retry-After")
        run.not_before = timezone.now() + timedelta(seconds=int(retry) if retry.isdigit() else 60)
    return result


def operation_job_param(run: BatchRun) -> str:
    return run.params.get("_job_param", "jobid")


def refusal(result: Result, what: str) -> Refused:
    if result.error:
        return Refused(f"{what}: {result.error}")
    return Refused(f"{what} answered {result.status} {result.reason}. {batch.error_text(result.body)}".strip())


def start(request: HttpRequest, run: BatchRun, operations: dict[int, Operation], bes) -> None:
    result = call(request, run, operations[bes.start])
    if result.status is not None and 200 <= result.status < 300:
        run.started, run.state = True, "Running"
    elif result.status != 429:  # a 429 is tried again at the next check
        raise refusal(result, "BES Start")


def check(request: HttpRequest, run: BatchRun) -> None:
    """One step of a run that has not ended: Start if it is not started yet, else one Status call."""
    if run.not_before and timezone.now() < run.not_before:
        return
    run.not_before = None
    found = bes_of(run.api)
    if found is None:
        run.details, run.state, run.ended = "The API no longer has its batch job operations.", "Failed", timezone.now()
        return
    bes, operations = found
    try:
        if not run.started:
            start(request, run, operations, bes)
            return
        result = call(request, run, operations[bes.status])
        run.checks += 1
        if result.status == 429:
            return
        if result.status != 200:
            raise refusal(result, "BES Status")
        try:
            status = batch.status_from(result.body)
        except ValueError as e:
            raise Refused(str(e)) from None
        run.state, run.details, run.results = status.state, status.details, status.results
        run.rows_done = status.rows
        if status.state in batch.TERMINAL:
            run.ended = timezone.now()
    except Refused as e:
        run.details, run.state, run.ended = str(e), run.state or "Failed", timezone.now()


def read_csv(request: HttpRequest) -> tuple[bytes, str]:
    """The CSV the developer chose (a file, or the sample) and its name; CsvProblem if none."""
    upload = request.FILES.get("file")
    if upload is None:  # a file chosen is the one meant, whichever option is ticked
        if request.POST.get("source") == "upload":
            raise batch.CsvProblem("Choose a CSV file to upload, or pick the sample.")
        return (settings.BASE_DIR / SAMPLE).read_bytes(), "reviews.csv (sample)"
    cap = settings.CONSOLE_BATCH_MAX_BYTES
    if upload.size > cap:
        raise batch.CsvProblem(f"The file is {upload.size:,} bytes; the panel uploads at most {cap:,} bytes.")
    return upload.read(), upload.name


def render_panel(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    name = "panel" if request.htmx else None
    if name:
        return HttpResponse(render_to_string(f"{TEMPLATE}#panel", context, request), status=status)
    return render(request, "console/batch_page.html", context, status=status)


@login_required
@require_POST
def batch_submit(request: HttpRequest, api_id: int) -> HttpResponse:
    api, bes, operations = get_api(request, api_id)
    fixed = {k[6:]: v for k, v in request.POST.items() if k.startswith("fixed_")}
    context = panel_context(request, api, bes, operations, fixed=fixed)
    submit = operations[bes.submit]
    params = {
        p.name: request.POST.get(f"p_{p.name}", "") for p in submit.parameters.all() if p.location != Parameter.HEADER
    }
    params |= fixed
    authorization = request.POST.get("authorization", "").strip()
    subscription = request.POST.get("subscription", "")
    errors = {}
    if not forms.resolve_key(request.user, subscription):
        errors["subscription"] = "Choose one of your subscriptions: its key goes with every call."
    if not authorization:
        errors["authorization"] = "The web service's API key is needed, as Bearer <key>."
    try:
        data, filename = read_csv(request)
        rows = batch.check_csv(data, cap=settings.CONSOLE_BATCH_MAX_BYTES)
    except batch.CsvProblem as e:
        errors["file"] = str(e)
    for p in context["params"]:
        p["value"] = params.get(p["name"], "")
    context.update(authorization=authorization, subscription=subscription, errors=errors)
    if errors:
        return render_panel(request, context)

    run = BatchRun(user=request.user, api=api, subscription=subscription, rows=rows)
    run.params = params | {"_job_param": bes.job_param}
    run.headers = [("Authorization", authorization)]
    try:
        run.input_location, run.output_location = storage.upload_input(
            settings.CONSOLE_BATCH_STORAGE,
            settings.CONSOLE_BATCH_CONTAINER,
            str(request.user.pk),
            data,
            timeout=timeouts()[1],
        )
    except storage.UploadFailed as e:
        context["errors"] = {"file": str(e)}
        return render_panel(request, context)
    run.details = f"Uploaded {filename}: {rows:,} row{'s' if rows != 1 else ''}."
    try:
        body = batch.submit_body(settings.CONSOLE_BATCH_STORAGE, run.input_location, run.output_location)
        result = call(request, run, submit, body=body)
        if result.status != 200:
            raise refusal(result, "BES Submit")
        try:
            run.job_id = batch.job_id_from(result.body)
        except ValueError as e:
            raise Refused(str(e)) from None
        run.state = "NotStarted"
        start(request, run, operations, bes)
    except Refused as e:
        run.details, run.state, run.ended = str(e), run.state or "Failed", timezone.now()
    run.save()
    remember_job(request, run, submit)
    context["run"] = run
    return render_panel(request, context)


def remember_job(request: HttpRequest, run: BatchRun, submit: Operation) -> None:
    """The job id (and what was typed) goes into the console's values: Start, Status and Delete show it."""
    if not run.job_id:
        return
    state = forms.initial(submit, request.user)
    state.params.update({k: v for k, v in run.params.items() if not k.startswith("_")})
    state.params[run.params["_job_param"]] = run.job_id
    state.headers = [(n, v) for n, v in state.headers if n.lower() != "authorization"] + run.headers
    state.subscription = run.subscription
    data = SavedValues.load(request.user, submit.api)
    # The saved parameters are shared by the API's operations: keep the others' values too.
    params = {**data.get("params", {}), **state.params}
    data.update(state.to_saved())
    data["params"] = params
    SavedValues.store(request.user, submit.api, data)


def get_run(request: HttpRequest, pk: int) -> BatchRun:
    return get_object_or_404(BatchRun.objects.select_related("api"), pk=pk, user=request.user)


def run_response(request: HttpRequest, run: BatchRun) -> HttpResponse:
    context = {"run": run, "poll_seconds": settings.CONSOLE_BATCH_POLL_SECONDS}
    if not request.htmx:
        return render(request, "console/batch_page.html", context | {"api": run.api})
    html = render_to_string(f"{TEMPLATE}#run", context, request)
    # When the job has ended, htmx stops polling (286) and shows this last answer.
    return HttpResponseStopPolling(html) if run.is_over else HttpResponse(html)


@login_required
@require_GET
def batch_status(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_run(request, pk)
    if not run.is_over:
        check(request, run)
        run.save()
    return run_response(request, run)


@login_required
@require_POST
def batch_delete(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_run(request, pk)
    found = bes_of(run.api)
    if run.job_id and found and not run.is_over:
        bes, operations = found
        try:
            result = call(request, run, operations[bes.delete])
            if result.status is None or not 200 <= result.status < 300:
                raise refusal(result, "BES Delete")
            run.state, run.details, run.ended = "Cancelled", "You cancelled the job.", timezone.now()
        except Refused as e:
            run.details = str(e)
        run.save()
    return run_response(request, run)
