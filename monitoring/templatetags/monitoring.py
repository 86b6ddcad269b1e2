from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def get(mapping, key):
    return mapping.get(key, 0) if mapping else 0


@register.filter
def ms(value) -> str:
    if value is None or value == "":
        return "—"
    value = float(value)
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


@register.filter
def pct(value) -> str:
    return "—" if value is None else f"{value:.1f} %"


@register.filter
def bytes(value) -> str:  # noqa: A001 - a template filter name
    value = int(value or 0)
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value} B"


@register.filter
def fast_select(field) -> str:
    """A <select> for a choice field, built directly: Django renders each
    option through its own template, which for a few hundred subscriptions
    and developers costs more than the whole dashboard's queries."""
    from html import escape

    from django.utils.safestring import mark_safe

    chosen = field.value()
    chosen = "" if chosen is None else str(getattr(chosen, "pk", chosen))
    attrs = f'name="{escape(field.html_name)}" id="{escape(field.auto_id)}"'
    if field.errors:
        attrs += f' aria-invalid="true" aria-describedby="{escape(field.auto_id)}-errors"'
    options = []
    for value, label in field.field.choices:
        value = "" if value is None else str(getattr(value, "value", value))
        selected = " selected" if value == chosen else ""
        options.append(f'<option value="{escape(value)}"{selected}>{escape(str(label))}</option>')
    return mark_safe(f"<select {attrs}>{''.join(options)}</select>")
