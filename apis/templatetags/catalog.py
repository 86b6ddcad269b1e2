from __future__ import annotations

from django import template

from apis import schemas

register = template.Library()

UNITS = [(7 * 86400, "week"), (86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")]


@register.filter
def period(seconds: int | None) -> str:
    """60 -> "minute", 604800 -> "week", 120 -> "2 minutes", 90 -> "90 seconds"."""
    if not seconds:
        return ""
    for size, name in UNITS:
        if seconds % size == 0:
            count = seconds // size
            return name if count == 1 else f"{count} {name}s"
    return f"{seconds} seconds"  # pragma: no cover


@register.inclusion_tag("apis/partials/limits.html")
def limits(product) -> dict:
    return {"product": product}


@register.inclusion_tag("apis/partials/schema.html")
def schema_tree(node, title: str = "Schema") -> dict:
    """{% schema_tree node %}: a schema tree (apis.schemas.tree) as nested <details>."""
    return {"rows": schemas.rows(node) if node else [], "title": title}
