"""Quoting for the snippet templates: each filter makes a string literal its language reads back unchanged."""

from __future__ import annotations

import json
import shlex

from django import template

register = template.Library()


@register.filter
def shell(value: str) -> str:
    """A POSIX shell word: single quotes, nothing expanded."""
    return shlex.quote(str(value))


@register.filter
def pyrepr(value: str) -> str:
    return repr(str(value))


@register.filter
def cstring(value: str) -> str:
    """A double-quoted literal with backslash escapes, read alike by JavaScript, C#, Java and Go.

    Non-ASCII stays as it is (UTF-8 source): \\u escapes of surrogate pairs are
    not valid Go.
    """
    return json.dumps(str(value), ensure_ascii=False)


@register.filter
def single(value: str) -> str:
    """A single-quoted PHP or Ruby literal: only \\ and ' are special there ("..." would expand $ and #{})."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


@register.filter
def powershell(value: str) -> str:
    """A single-quoted PowerShell literal: a quote is doubled, and PowerShell counts curly quotes as quotes too."""
    text = str(value)
    for quote in ("'", "\u2018", "\u2019", "\u201a", "\u201b"):
        text = text.replace(quote, quote * 2)
    return "'" + text + "'"


@register.filter
def pair(name: str, value: str) -> str:
    """A header as one line of text, "Name: value" (curl -H, PHP's CURLOPT_HTTPHEADER)."""
    return f"{name}: {value}"
