from __future__ import annotations

import csv

from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from gateway.models import Call
from monitoring import analytics, charts
from monitoring.forms import DashboardForm
from portal.decorators import staff_required


def _form(request: HttpRequest) -> DashboardForm:
    # An empty query string is the default view, not a form with errors.
    params = request.GET.copy()
    params.pop("page", None)
    return DashboardForm(params if params else {"range": "24h"})


@require_GET
@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    context = {"form": form, "nav": "monitoring", "query": request.GET.urlencode(), "outcome_choices": Call.OUTCOMES}
    if form.is_valid():
        report = analytics.dashboard(form.filters())
        context.update(report=report, charts=build_charts(report))
    template = "monitoring/dashboard.html#body" if request.htmx else "monitoring/dashboard.html"
    return render(request, template, context)


def build_charts(report: analytics.Report) -> dict:
    local = timezone.localtime
    unit = bucket_name(report.bucket_seconds)
    peak = max(report.bandwidth["in"] + report.bandwidth["out"], default=0)
    byte_unit, byte_scale = charts.byte_unit(peak)
    return {
        "unit": unit,
        "byte_unit": byte_unit,
        "calls": charts.stacked_bars(
            "Calls over time, by outcome",
            f"calls per {unit}",
            report.buckets,
            report.bucket_seconds,
            report.by_outcome,
            analytics.OUTCOME_LABELS,
            local=local,
        ),
        "latency": charts.lines(
            "Response time over time (p50 and p95, total and backend)",
            "response time (ms)",
            report.buckets,
            report.bucket_seconds,
            report.latency,
            local=local,
        ),
        "bandwidth": charts.lines(
            "Bandwidth over time, in and out",
            f"{byte_unit} per {unit}",
            report.buckets,
            report.bucket_seconds,
            {"in (requests)": report.bandwidth["in"], "out (responses)": report.bandwidth["out"]},
            scale=byte_scale,
            local=local,
        ),
        "tables": chart_tables(report, unit),
    }


def chart_tables(report: analytics.Report, unit: str) -> dict[str, str]:
    labels = [timezone.localtime(b).strftime("%a %d %H:%M") for b in report.buckets]
    first = f"{unit.capitalize()} starting"
    outcomes = analytics.OUTCOMES
    calls = [
        [label, *[report.by_outcome[o][i] for o in outcomes], sum(report.by_outcome[o][i] for o in outcomes)]
        for i, label in enumerate(labels)
    ]
    latency = [[label, *[fmt_ms(report.latency[k][i]) for k in report.latency]] for i, label in enumerate(labels)]
    bandwidth = [[label, report.bandwidth["in"][i], report.bandwidth["out"][i]] for i, label in enumerate(labels)]
    return {
        "calls": charts.table(
            f"Calls per {unit} by outcome", [first, *[analytics.OUTCOME_LABELS[o] for o in outcomes], "Calls"], calls
        ),
        "latency": charts.table(
            f"Response time per {unit}, milliseconds",
            [first, "p50 (ms)", "p95 (ms)", "Backend p50 (ms)", "Backend p95 (ms)"],
            latency,
        ),
        "bandwidth": charts.table(f"Bytes per {unit}", [first, "In (bytes)", "Out (bytes)"], bandwidth),
    }


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def bucket_name(seconds: int) -> str:
    names = {60: "minute", 3600: "hour", 86400: "day"}
    if seconds in names:
        return names[seconds]
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hours"
    return f"{seconds // 60} minutes"


@require_GET
@staff_required
def export_csv(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    if not form.is_valid():
        lines = [f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()]
        return HttpResponse("\n".join(lines), status=400, content_type="text/plain; charset=utf-8")
    report = analytics.dashboard(form.filters())
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime(report.filters.end).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="portico-calls-{stamp}.csv"'
    write_csv(response, report)
    return response


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


class SafeWriter:
    """A csv writer whose text cells cannot run as spreadsheet formulas:
    subscription names and developers' e-mail addresses are typed by
    developers, and the file is opened by an administrator."""

    FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

    def __init__(self, out):
        self.writer = csv.writer(out)

    def writerow(self, row) -> None:
        self.writer.writerow(["'" + c if isinstance(c, str) and c.startswith(self.FORMULA_START) else c for c in row])


def write_csv(out, report: analytics.Report) -> None:
    """Every table the page shows, one after the other, each with its own header."""
    w = SafeWriter(out)
    local = timezone.localtime
    w.writerow(["range", local(report.filters.start).isoformat(), local(report.filters.end).isoformat()])
    w.writerow([])
    w.writerow(
        [
            "over time",
            "bucket start",
            *[analytics.OUTCOME_LABELS[o] for o in analytics.OUTCOMES],
            "calls",
            "p50 ms",
            "p95 ms",
            "backend p50 ms",
            "backend p95 ms",
            "bytes in",
            "bytes out",
        ]
    )
    for i, b in enumerate(report.buckets):
        w.writerow(
            [
                "over time",
                local(b).isoformat(),
                *[report.by_outcome[o][i] for o in analytics.OUTCOMES],
                sum(report.by_outcome[o][i] for o in analytics.OUTCOMES),
                *[_ms(report.latency[k][i]) for k in report.latency],
                report.bandwidth["in"][i],
                report.bandwidth["out"][i],
            ]
        )
    for title, rows in (
        ("by API", report.by_api),
        ("by operation", report.by_operation),
        ("by product", report.by_product),
        ("by subscription", report.by_subscription),
    ):
        w.writerow([])
        w.writerow(
            [title, "name", "detail", "calls", "success rate %", "errors", "p50 ms", "p95 ms", "bytes in", "bytes out"]
        )
        for row in rows:
            s = row.stats
            rate = "" if s.success_rate is None else f"{s.success_rate:.1f}"
            w.writerow(
                [title, row.label, row.detail, s.calls, rate, s.errors, _ms(s.p50), _ms(s.p95), s.bytes_in, s.bytes_out]
            )
    w.writerow([])
    w.writerow(
        [
            "latest calls",
            "id",
            "time",
            "request id",
            "method",
            "path",
            "status",
            "outcome",
            "api",
            "operation",
            "subscription",
            "developer",
            "total ms",
            "backend ms",
            "bytes in",
            "bytes out",
        ]
    )
    for c in report.latest:
        w.writerow(
            [
                "latest calls",
                c.pk,
                local(c.created).isoformat(),
                c.request_id,
                c.method,
                c.path,
                c.status,
                c.get_outcome_display(),
                c.api.name if c.api else "",
                c.operation.display_name if c.operation else "",
                c.subscription.name if c.subscription else "",
                c.user.get_username() if c.user else "",
                _ms(c.total_ms),
                _ms(c.backend_ms),
                c.bytes_in,
                c.bytes_out,
            ]
        )


def console_send(call: Call):
    """The Try It console's history entry for this call, when it came from the
    console: the console records the gateway's request id with each send."""
    if not call.request_id:
        return None
    try:
        send_model = apps.get_model("console", "Send")
    except LookupError:  # the console app is not installed
        return None
    return send_model.objects.select_related("user", "operation").filter(request_id=call.request_id).first()


@require_GET
@staff_required
def call_detail(request: HttpRequest, call_id: int) -> HttpResponse:
    call = get_object_or_404(
        Call.objects.select_related("api", "operation", "product", "subscription", "user"), pk=call_id
    )
    context = {"call": call, "nav": "monitoring", "send": console_send(call)}
    return render(request, "monitoring/call_detail.html", context)


@require_GET
@login_required
def usage(request: HttpRequest) -> HttpResponse:
    # The panel alone for htmx (the profile loads it in place), a page of its own otherwise.
    template = "monitoring/partials/usage.html" if request.htmx else "monitoring/usage.html"
    return render(request, template, {"usages": analytics.usage_for(request.user), "nav": "profile"})
