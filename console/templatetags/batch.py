from __future__ import annotations

from django import template
from django.conf import settings

from apis.models import Api
from console.batch_views import bes_of, panel_context

register = template.Library()


@register.inclusion_tag("console/batch.html", takes_context=True)
def batch_job_panel(context, operation) -> dict:
    """{% batch_job_panel operation %}: the batch job panel, on the page of a BES operation."""
    api = operation.api
    found = bes_of(api) if api.console_enabled else None
    if found is None or operation.pk not in found[0]:
        return {"hidden": True}
    return _context(context, api, found)


@register.inclusion_tag("console/batch.html", takes_context=True)
def batch_job_panel_for_service(context, workspace: str, service: str) -> dict:
    """{% batch_job_panel_for_service workspace service %}: the panel on the ML service's dashboard,
    through the first API the user may see that fronts the embedded service with BES operations."""
    request = context["request"]
    for api in (
        Api.objects.visible_to(request.user)
        .filter(service_url=settings.MLSERVICE_URL, console_enabled=True)
        .order_by("name", "id")
    ):
        found = bes_of(api)
        if found:
            ctx = _context(context, api, found, fixed={"workspace": workspace, "service": service})
            return ctx
    return {"hidden": True}


def _context(context, api, found, fixed=None) -> dict:
    request = context["request"]
    bes, operations = found
    ctx = panel_context(request, api, bes, operations, fixed=fixed)
    return ctx | {"request": request, "user": request.user, "csrf_token": context.get("csrf_token")}
