from __future__ import annotations

from django import template
from django.db.models import prefetch_related_objects

from console.views import console_context

register = template.Library()


@register.inclusion_tag("console/console.html", takes_context=True)
def try_it_console(context, operation) -> dict:
    """{% try_it_console operation %}: the Try It console for an operation page."""
    request = context["request"]
    prefetch_related_objects([operation], "parameters", "representations")
    ctx = console_context(request, operation, restore=True)
    ctx["request"] = request
    ctx["user"] = request.user
    ctx["csrf_token"] = context.get("csrf_token")
    return ctx
