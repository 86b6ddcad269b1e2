"""Response content shown in the page: classified, pretty-printed, highlighted, always escaped."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html import escape

SHOW_CAP = 256 * 1024  # bytes shown in the page; the rest is offered as a download
HIGHLIGHT_CAP = 256 * 1024
PREVIEW_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/x-icon"}
TEXT_TYPES = {
    "application/javascript",
    "application/x-www-form-urlencoded",
    "application/x-yaml",
    "application/yaml",
    "application/csv",
}


@dataclass
class Shown:
    kind: str  # json, xml, html, text, binary, empty
    html: str = ""  # escaped, highlighted markup for a <pre>
    truncated: bool = False
    is_image: bool = False
    pretty: str = ""  # "json": console.js pretty-prints and highlights it in the page


def main_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def kind_of(content_type: str, body: bytes) -> str:
    ct = main_type(content_type)
    if not body:
        return "empty"
    if ct == "application/json" or ct.endswith("+json"):
        return "json"
    if ct in ("application/xml", "text/xml") or ct.endswith("+xml"):
        return "xml"
    if ct in ("text/html", "application/xhtml+xml"):
        return "html"
    if ct.startswith("text/") or ct in TEXT_TYPES:
        return "text"
    if ct and not ct.startswith("application/octet-stream"):
        return "binary"
    # No usable type: text if it decodes, binary otherwise.
    try:
        body[:4096].decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < 4090:
            return "binary"
    return "text" if b"\x00" not in body[:4096] else "binary"


def charset_of(content_type: str) -> str:
    found = re.search(r"charset=\"?([\w.:-]+)", content_type, re.I)
    return found.group(1) if found else "utf-8"


def decode(body: bytes, content_type: str) -> str:
    try:
        return body.decode(charset_of(content_type), errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def show(content_type: str, body: bytes, complete: bool = True) -> Shown:
    kind = kind_of(content_type, body)
    if kind == "empty":
        return Shown(kind)
    if kind == "binary":
        return Shown(kind, is_image=main_type(content_type) in PREVIEW_IMAGES)
    truncated = len(body) > SHOW_CAP or not complete
    text = decode(body[:SHOW_CAP], content_type)
    if not truncated and kind == "json":
        # Pretty-printed and highlighted by the browser (console.js: native
        # JSON.parse/stringify), which costs the server nothing; the escaped
        # text as it came is what pages without JavaScript show.
        return Shown(kind, escape(text), pretty="json" if len(text) <= HIGHLIGHT_CAP else "")
    if not truncated and kind == "xml":
        text = indent_xml(text)
    if truncated or len(text) > HIGHLIGHT_CAP:
        return Shown(kind, escape(text), truncated)
    if kind in ("xml", "html"):
        return Shown(kind, highlight_markup(text))
    return Shown(kind, escape(text))


MARKUP_TOKEN_RE = re.compile(r"(?P<comment><!--.*?-->)|(?P<tag></?[A-Za-z!?][^<>]*>)", re.S)
# Applied to the escaped tag, where quotes are entities.
ATTR_RE = re.compile(r"([\w:.-]+)(=)(&quot;.*?&quot;|&#x27;.*?&#x27;)")


def highlight_markup(text: str) -> str:
    out, pos = [], 0
    for m in MARKUP_TOKEN_RE.finditer(text):
        out.append(escape(text[pos : m.start()]))
        if m.lastgroup == "comment":
            out.append(f'<span class="x-comment">{escape(m.group())}</span>')
        else:
            tag = escape(m.group())
            tag = ATTR_RE.sub(r'<span class="x-attr">\1</span>\2<span class="x-val">\3</span>', tag)
            out.append(f'<span class="x-tag">{tag}</span>')
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def indent_xml(text: str) -> str:
    """Indent XML that came on one line; leave already formatted XML alone."""
    if "\n" in text.strip() or len(text) > HIGHLIGHT_CAP:
        return text
    tokens = re.findall(r"<[^<>]+>|[^<>]+", text)
    out, depth = [], 0
    for i, token in enumerate(tokens):
        if token.startswith("</"):
            depth = max(depth - 1, 0)
            if out and not out[-1].endswith(">") and i > 0:
                out[-1] += token
                continue
            out.append("  " * depth + token)
        elif token.startswith("<"):
            out.append("  " * depth + token)
            if not (token.endswith("/>") or token.startswith("<?") or token.startswith("<!")):
                depth += 1
        elif token.strip():
            out[-1 if out else 0 :] = [(out[-1] if out else "") + token.strip()]
    return "\n".join(out)


RATE_HEADER_RE = re.compile(r"remaining|ratelimit|quota", re.I)


def calls_left(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(label, value) for the rate-limit and quota headers, e.g. ('Rate limit: calls left', '3 of 5')."""
    found: dict[str, dict[str, str]] = {}
    for name, value in headers:
        lower = name.lower()
        if not RATE_HEADER_RE.search(lower):
            continue
        group = "Quota" if "quota" in lower else "Rate limit"
        if "remaining" in lower:
            found.setdefault(group, {})["left"] = value
        elif lower.endswith("limit"):
            found.setdefault(group, {})["limit"] = value
        elif "reset" in lower:
            found.setdefault(group, {})["reset"] = value
    rows = []
    for group, info in found.items():
        if "left" not in info:
            continue
        text = info["left"] + (f" of {info['limit']}" if "limit" in info else "")
        if "reset" in info:
            text += f" (renews in {info['reset']} s)"
        rows.append((f"{group}: calls left", text))
    return rows


def download_name(content_disposition: str, content_type: str) -> str:
    """A safe file name from Content-Disposition, else one from the type."""
    found = re.search(r"filename\*=(?:UTF-8'')?([^;]+)|filename=\"?([^\";]+)", content_disposition, re.I)
    name = ""
    if found:
        from urllib.parse import unquote

        name = unquote((found.group(1) or found.group(2) or "").strip().strip('"'))
    name = re.sub(r"[^\w.\- ]", "_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")[:100]
    if name:
        return name
    ext = {
        "application/json": "json",
        "application/pdf": "pdf",
        "image/png": "png",
        "image/jpeg": "jpg",
        "image/gif": "gif",
        "text/csv": "csv",
        "text/plain": "txt",
        "application/xml": "xml",
        "text/html": "html",
        "application/zip": "zip",
    }.get(main_type(content_type), "bin")
    return f"response.{ext}"


TRACE_HEADER = "x-portico-policy-trace"


def policy_trace(headers: list[tuple[str, str]]) -> list[dict]:
    """The policies that ran for the developer's call, from the gateway's
    trace header: [{"section", "policy", "scope", "detail"}] (secrets masked
    by the gateway)."""
    raw = next((v for n, v in headers if n.lower() == TRACE_HEADER), "")
    try:
        rows = json.loads(raw) if raw else []
    except ValueError:
        return []
    return [
        dict(zip(("section", "policy", "scope", "detail"), (str(x) for x in row), strict=False))
        for row in rows
        if isinstance(row, list) and len(row) == 4
    ]
