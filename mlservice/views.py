"""The web services' dashboard (staff only): ids, keys, a Test form, API help and sample code."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST, require_safe

from mlservice import protocol, samples
from mlservice.models import WebService, storable_id
from portal.decorators import staff_required


def get_service(service_id: str) -> WebService:
    if not storable_id(service_id):
        raise Http404("No such web service.")
    return get_object_or_404(WebService, service_id=service_id)


def base_url(request: HttpRequest) -> str:
    """Where clients reach the service: MLSERVICE_URL, or this server's /ml."""
    return settings.MLSERVICE_URL or request.build_absolute_uri("/ml").rstrip("/")


@staff_required
@require_safe
def service_list(request: HttpRequest) -> HttpResponse:
    services = WebService.objects.all()
    return render(request, "mlservice/service_list.html", {"services": services, "nav": "ml"})


@staff_required
@require_safe
def service_detail(request: HttpRequest, service_id: str) -> HttpResponse:
    service = get_service(service_id)
    context = {
        "service": service,
        "nav": "ml",
        "base_url": base_url(request),
        "jobs": service.jobs.all()[:10],
    }
    return render(request, "mlservice/service_detail.html", context)


@staff_required
@require_POST
def reveal_keys(request: HttpRequest, service_id: str) -> HttpResponse:
    service = get_service(service_id)
    which = request.POST.get("regenerate")
    if which in ("primary", "secondary"):
        service.regenerate_key(which)
    return render(request, "mlservice/service_detail.html#keys", {"service": service, "revealed": True})


@staff_required
@require_POST
def test_service(request: HttpRequest, service_id: str) -> HttpResponse:
    """The guide's Test button: one text for the target column, the hashed row back."""
    service = get_service(service_id)
    text = request.POST.get("text", "")
    error = ""
    if len(text) > 100_000:
        error, text = "The text is too long for the Test form (100,000 characters at most).", text[:100]
    columns, values = [], []
    if not error:
        table = protocol.Table([service.target_column], [[text]])
        scored = protocol.score(table, service.hasher(), service.target_column)
        columns, values = scored.columns, scored.rows[0]
    context = {
        "service": service,
        "text": text,
        "error": error,
        "output": list(zip(columns, values, strict=True)),
        "counts": " ".join(values[1:]),
        "response_json": json.dumps(
            protocol.rrs_response(
                protocol.Table(columns, [values]) if values else protocol.Table([], []),
                details=True,
                swagger=False,
                input_columns=1,
            ),
            indent=2,
        )
        if values
        else "",
    }
    return render(request, "mlservice/service_detail.html#test-result", context)


def help_context(request: HttpRequest, service: WebService) -> dict:
    return {
        "service": service,
        "nav": "ml",
        "base_url": base_url(request),
        "connection_string": samples.public_connection_string(),
    }


@staff_required
@require_safe
def rrs_help(request: HttpRequest, service_id: str) -> HttpResponse:
    service = get_service(service_id)
    context = help_context(request, service)
    context.update(samples.rrs(service, context["base_url"]))
    return render(request, "mlservice/rrs_help.html", context)


@staff_required
@require_safe
def bes_help(request: HttpRequest, service_id: str) -> HttpResponse:
    service = get_service(service_id)
    context = help_context(request, service)
    context.update(samples.bes(service, context["base_url"], context["connection_string"]))
    return render(request, "mlservice/bes_help.html", context)
