"""Code snippets of the console's current request, one Django template per language.

Each template (templates/console/snippets/<slug>.txt) gets the request as
built by console.build (so a snippet is what Send sends), with secrets masked
unless the developer revealed them, and writes it in its language; the
quoting filters it needs are in console/templatetags/snippets.py. Pygments
highlights the result.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name

from console import build


@dataclass(frozen=True)
class Language:
    slug: str
    label: str
    lexer: str


LANGUAGES = [
    Language("curl", "curl", "bash"),
    Language("http", "HTTP", "http"),
    Language("python", "Python (requests)", "python"),
    Language("javascript", "JavaScript (fetch)", "javascript"),
    Language("node", "Node.js", "javascript"),
    Language("csharp", "C#", "csharp"),
    Language("java", "Java", "java"),
    Language("go", "Go", "go"),
    Language("php", "PHP", "php"),
    Language("ruby", "Ruby", "ruby"),
    Language("powershell", "PowerShell", "powershell"),
]
BY_SLUG = {language.slug: language for language in LANGUAGES}
DEFAULT = "curl"
FORMATTER = HtmlFormatter(nowrap=True)


def language(slug: str) -> Language:
    """The language named by slug; an unknown name (a stale or forged form value) is the default."""
    return BY_SLUG.get(slug, BY_SLUG[DEFAULT])


def context(request: build.BuiltRequest, reveal: bool) -> dict:
    headers = build.shown_headers(request, reveal)
    return {
        "method": request.method,
        "url": request.shown_url,
        "path": request.path,
        "host": request.host,
        "headers": headers,
        "body": request.body,
        "content_type": next((v for n, v in headers if n.lower() == "content-type"), ""),
    }


def code(request: build.BuiltRequest, slug: str, reveal: bool = False) -> str:
    """The snippet as plain text."""
    text = render_to_string(f"console/snippets/{language(slug).slug}.txt", context(request, reveal))
    return text.strip("\n") + "\n"


def highlighted(text: str, slug: str) -> SafeString:
    """The snippet as HTML: Pygments escapes the text and wraps tokens in classed spans."""
    options = {"startinline": True} if slug == "php" else {}
    lexer = get_lexer_by_name(language(slug).lexer, **options)
    return mark_safe(highlight(text, lexer, FORMATTER))  # noqa: S308 - Pygments escapes every token
