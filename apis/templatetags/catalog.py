from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

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
    return {"html": schema_html(node) if node else "", "title": title}


def schema_html(node: schemas.Node) -> str:
    """The tree as nested <details> (open to the first level), one line per node.

    Written here with escape() rather than as a template: a large schema shows
    hundreds of nodes, and a template loop over them cost more than the whole
    page may take (bench/schema_pages.py)."""
    out = []
    for row in schemas.rows(node, open_depth=2):
        if row.kind in ("open", "leaf"):
            attrs = f' data-name="{escape(row.node.name)}"' if row.node.name else ""
            if row.node.anchor:
                attrs += f' id="{escape(row.node.anchor)}"'
        if row.kind == "open":
            out.append(
                f'<details class="schema-node"{attrs} {row.label}><summary>{schema_head(row.node)}</summary>'
                '<div class="schema-children">'
            )
        elif row.kind == "leaf":
            out.append(f'<div class="schema-node schema-leaf"{attrs}>{schema_head(row.node)}</div>')
        elif row.kind == "alts":
            out.append(f'<div class="schema-alts"><p class="schema-alts-label small">{escape(row.label)}:</p>')
        elif row.kind == "end-alts":
            out.append("</div>")
        else:
            out.append("</div></details>")
    return mark_safe("\n".join(out))  # every value inside went through escape()


FLAGS = [("required", "required"), ("nullable", "nullable"), ("read_only", "read-only"), ("write_only", "write-only")]


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def schema_head(n: schemas.Node) -> str:
    """One node's line: name, type, flags, description and facts."""
    parts = ['<span class="schema-head">']
    if n.name:
        parts.append(f'<code class="schema-name">{escape(n.name)}</code> ')
    parts.append(f'<span class="schema-type">{escape(n.label)}</span>')
    for attr, label in FLAGS:
        if getattr(n, attr):
            parts.append(f' <span class="schema-flag {label}">{label}</span>')
    if n.deprecated:
        parts.append(' <span class="schema-flag deprecated">deprecated</span>')
    if n.link:
        parts.append(f' <a class="schema-link" href="#{escape(n.link)}">↩ {escape(n.ref)}, circular: shown above</a>')
    parts.append("</span>")
    if n.description:
        parts.append(f'<span class="schema-desc">{escape(shorten(n.description, 600))}</span>')
    facts = []
    if n.enum:
        values = ", ".join(f"<code>{escape(v)}</code>" for v in n.enum)
        more = f" and {n.enum_more} more" if n.enum_more else ""
        facts.append(f"<span>One of: {values}{more}</span>")
    if n.const is not None:
        facts.append(f"<span>Always <code>{escape(n.const)}</code></span>")
    if n.default is not None:
        facts.append(f"<span>Default: <code>{escape(n.default)}</code></span>")
    if n.example is not None:
        facts.append(f"<span>Example: <code>{escape(shorten(n.example, 200))}</code></span>")
    facts += [f"<span>{escape(c)}</span>" for c in n.constraints]
    if facts:
        parts.append('<span class="schema-facts small">' + "".join(facts) + "</span>")
    if n.missing_ref:
        parts.append(
            '<span class="schema-facts small status-warn">'
            f"Refers to {escape(n.missing_ref)}, which the document does not define.</span>"
        )
    if n.cut:
        parts.append(f'<span class="schema-facts small muted">… {escape(n.cut)}.</span>')
    return "".join(parts)
