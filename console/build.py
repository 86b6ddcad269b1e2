"""Build the HTTP request the console sends, and show it as text.

Pure Python, no Django: the views gather what the developer typed into a
ConsoleInput, this module validates it and builds the request and its preview; the code
snippets (console/snippets.py, one template per language) are written from
the same BuiltRequest, so what is shown is what is sent.

The URL is only ever made by UrlTemplate.expand, which percent-encodes every
value; the result is then checked to stay under the operation's gateway path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from apis import headers as header_names
from apis import urltemplate
from apis.samples import is_json_type
from subscriptions.keys import KEY_HEADER

# A value may hold any visible character, spaces and tabs; never CR, LF or NUL.
BAD_VALUE_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
MAX_URL_LENGTH = 8000
MAX_VALUE_LENGTH = 4000
MAX_HEADERS = 50
SECRET_HEADER_RE = re.compile(r"authorization|key|token|secret|cookie|password|signature", re.I)
MASK = "••••••••"
AUTH_SCHEMES = {"bearer", "basic", "digest", "token", "negotiate", "sharedkey", "sharedaccesssignature"}


@dataclass
class ConsoleInput:
    params: dict[str, str] = field(default_factory=dict)
    extra_query: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""
    # The subscription key chosen from the dropdown, resolved by the view.
    key: str = ""


@dataclass
class BuiltRequest:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: str
    # Field name -> message. Field names: p_<param>, q_<index>, h_<index>, body.
    errors: dict[str, str] = field(default_factory=dict)
    json_warning: str = ""
    # The URL with {placeholders} where a path parameter is still missing, for the preview.
    preview_url: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def shown_url(self) -> str:
        return self.url or self.preview_url

    @property
    def path(self) -> str:
        parts = urlsplit(self.shown_url)
        return parts.path + ("?" + parts.query if parts.query else "")

    @property
    def host(self) -> str:
        return urlsplit(self.shown_url).netloc


def is_secret_header(name: str) -> bool:
    return bool(SECRET_HEADER_RE.search(name))


def mask(value: str) -> str:
    """A secret with only its scheme word and last four characters left, e.g. 'Bearer ••••••••c0de'."""
    if value.lower() in AUTH_SCHEMES:
        return value  # a scheme word alone ("Bearer ", not yet filled in) is no secret
    scheme, sep, rest = value.partition(" ")
    if sep and scheme.isalpha():
        return f"{scheme} {mask(rest)}" if rest.strip() else value
    if len(value) <= 8:
        return MASK if value else ""
    return MASK + value[-4:]


def json_problem(text: str) -> str:
    """'' if text is JSON, else what is wrong and where (line and column)."""
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        return f"Not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}."
    return ""


def merge_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """One row per header name (case-insensitive): a header the operation declares and
    the same header added by hand become one, so it is never sent twice.

    The row keeps the first spelling of the name and its place; a later non-empty
    value wins (it is what the developer typed last).
    """
    merged: list[tuple[str, str]] = []
    where: dict[str, int] = {}
    for name, value in headers:
        key = name.strip().lower()
        if key and key in where:
            if value.strip():
                merged[where[key]] = (merged[where[key]][0], value)
            continue
        if key:
            where[key] = len(merged)
        merged.append((name, value))
    return merged


def build(
    *,
    method: str,
    template: urltemplate.UrlTemplate,
    base_url: str,
    required: set[str],
    header_params: dict[str, bool],
    data: ConsoleInput,
    checks: dict[str, Callable[[str], str]] | None = None,
    query_params: list[str] | tuple[str, ...] = (),
    max_body_bytes: int | None = None,
) -> BuiltRequest:
    """Validate the input and build the request to base_url + the expanded template.

    base_url is the API's gateway URL (GATEWAY_URL/suffix); required names the
    template and query parameters that must have a value; header_params maps
    the operation's declared header names to whether they are required;
    checks maps a parameter name (a header's in lower case) to what is wrong
    with a value for its schema ('' when nothing), so a mistyped integer or
    date is a field error before anything is sent; query_params names the
    declared query parameters outside the template (optional ones, as
    imported from OpenAPI), sent when given a value.
    """
    checks = checks or {}
    errors: dict[str, str] = {}
    values = {}
    for name in template.params:
        value = data.params.get(name, "")
        if len(value) > MAX_VALUE_LENGTH:
            errors[f"p_{name}"] = f"Too long: at most {MAX_VALUE_LENGTH} characters."
        elif name in required and value == "":
            errors[f"p_{name}"] = "This parameter is required."
        elif name in checks and (problem := checks[name](value)):
            errors[f"p_{name}"] = problem
        values[name] = value

    extra = []
    for name in query_params:
        value = data.params.get(name, "")
        if value == "" or name in template.params:
            continue
        if len(value) > MAX_VALUE_LENGTH:
            errors[f"p_{name}"] = f"Too long: at most {MAX_VALUE_LENGTH} characters."
        elif name in checks and (problem := checks[name](value)):
            errors[f"p_{name}"] = problem
        extra.append((name, value))
    for index, (key, value) in enumerate(data.extra_query):
        if not key and not value:
            continue
        if not key:
            errors[f"q_{index}"] = "Give the query parameter a name."
        elif len(key) + len(value) > MAX_VALUE_LENGTH:
            errors[f"q_{index}"] = f"Too long: at most {MAX_VALUE_LENGTH} characters."
        extra.append((key, value))

    headers: list[tuple[str, str]] = []
    seen: set[str] = set()
    for index, (name, value) in enumerate(merge_headers(data.headers)):
        name = name.strip()
        if not name and not value:
            continue
        if not header_names.is_header_name(name):
            errors[f"h_{index}"] = header_names.INVALID_NAME
        elif BAD_VALUE_RE.search(value):
            errors[f"h_{index}"] = "A header value cannot contain line breaks or control characters."
        elif not value.isascii():
            # HTTP carries header values as bytes with no agreed encoding:
            # such a value would reach no backend as typed.
            errors[f"h_{index}"] = (
                "A header value must be ASCII: characters such as é or → cannot be sent in a header "
                "(percent-encode or Base64-encode them)."
            )
        elif len(value) > MAX_VALUE_LENGTH:
            errors[f"h_{index}"] = f"Too long: at most {MAX_VALUE_LENGTH} characters."
        elif header_params.get(name.lower()) and not value.strip():
            errors[f"h_{index}"] = "This header is required."
        elif (
            name.lower() in header_params
            and name.lower() in checks
            and (problem := checks[name.lower()](value.strip()))
        ):
            errors[f"h_{index}"] = problem
        seen.add(name.lower())
        headers.append((name, value.strip()))
    if len(headers) > MAX_HEADERS:
        errors["headers"] = f"At most {MAX_HEADERS} headers."
    for name, is_required in header_params.items():
        if is_required and name not in seen:
            errors.setdefault("headers", f"The {name} header is required.")
    if data.key:
        if BAD_VALUE_RE.search(data.key):  # pragma: no cover - keys are generated hex
            errors["subscription"] = "This key cannot be sent."
        headers = [(n, v) for n, v in headers if n.lower() != KEY_HEADER.lower()]
        headers.append((KEY_HEADER, data.key))

    # The gateway refuses a larger body (413): say so next to the field, before sending.
    size = len(data.body.encode("utf-8")) if max_body_bytes is not None else 0
    if max_body_bytes is not None and size > max_body_bytes:
        errors["body"] = f"The body is {size:,} bytes; the gateway accepts at most {max_body_bytes:,} bytes."

    url = preview = ""
    try:
        url = base_url + template.expand(values, extra)
    except urltemplate.ExpansionError as e:
        errors.setdefault(f"p_{e.name}", str(e))
        missing = {name: f"PORTICOMISSING{i}" for i, name in enumerate(template.path_params) if not values.get(name)}
        preview = base_url + template.expand(values | missing, extra)
        for name, marker in missing.items():
            preview = preview.replace(marker, "{" + name + "}")
    if url and len(url) > MAX_URL_LENGTH:
        errors.setdefault("url", f"The URL is too long: {len(url)} characters, at most {MAX_URL_LENGTH}.")
    if url and not stays_under(url, base_url):  # pragma: no cover - expand() already guarantees it
        errors.setdefault("url", "This URL would leave the operation's gateway address.")
        url = ""

    content_type = next((v for n, v in headers if n.lower() == "content-type"), "")
    warning = json_problem(data.body) if data.body.strip() and is_json_type(content_type) else ""
    return BuiltRequest(
        method=method,
        url=url,
        headers=headers,
        body=data.body,
        errors=errors,
        json_warning=warning,
        preview_url=url or preview,
    )


def stays_under(url: str, base_url: str) -> bool:
    """True when url has base_url's scheme, host and port and a path under it, with no dot-segments."""
    mine, base = urlsplit(url), urlsplit(base_url)
    if (mine.scheme, mine.netloc) != (base.scheme, base.netloc) or mine.fragment:
        return False
    if not (mine.path == base.path or mine.path.startswith(base.path.rstrip("/") + "/")):
        return False
    segments = mine.path.split("/")
    return ".." not in segments and "." not in segments and not BAD_VALUE_RE.search(url) and " " not in url


def shown_headers(request: BuiltRequest, reveal: bool) -> list[tuple[str, str]]:
    if reveal:
        return request.headers
    return [(n, mask(v) if is_secret_header(n) else v) for n, v in request.headers]


# Storage credentials inside a body: the account key of a connection string and
# the signature of a SAS token (a BES job's input and outputs carry them).
BODY_SECRET_RE = re.compile(r"\b(AccountKey|SharedAccessSignature|sig)=([^;&\"'\s\\]+)", re.I)
MASKED_BODY_SECRET_RE = re.compile(r"\b(AccountKey|SharedAccessSignature|sig)=" + re.escape(MASK), re.I)


def redact_body(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The body with its storage credentials masked, and those credentials ((name, value), in order)."""
    found: list[tuple[str, str]] = []

    def hide(match: re.Match) -> str:
        found.append((match.group(1), match.group(2)))
        return f"{match.group(1)}={MASK}"

    return BODY_SECRET_RE.sub(hide, text), found


def restore_body(text: str, secrets: list[tuple[str, str]]) -> str:
    """redact_body() undone with its credentials; a body whose masks do not match them stays masked."""
    names = [name.lower() for name in MASKED_BODY_SECRET_RE.findall(text)]
    if not secrets or names != [name.lower() for name, _ in secrets]:
        return text
    values = iter(value for _, value in secrets)
    return MASKED_BODY_SECRET_RE.sub(lambda match: f"{match.group(1)}={next(values)}", text)


def redact_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers for the history: secret values replaced by a mask."""
    return [(n, mask(v) if is_secret_header(n) else v) for n, v in headers]


def redact_url(url: str) -> str:
    """The URL for the history, with the value of any secret-looking query key masked."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = []
    for pair in parts.query.split("&"):
        key, eq, value = pair.partition("=")
        pairs.append(f"{key}={MASK}" if eq and SECRET_HEADER_RE.search(key) else pair)
    return parts._replace(query="&".join(pairs)).geturl()
