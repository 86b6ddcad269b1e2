"""The one rule for HTTP header names, in plain Python (no Django): a token
of RFC 9110 (5.1, 5.6.2), ASCII only. The admin checks a header parameter's
name with it and the console checks what a developer types, so a header the
catalog declares can always be sent."""

from __future__ import annotations

import re

TOKEN_CHARACTERS = "!#$%&'*+-.^_`|~"
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
INVALID_NAME = f"Not a valid header name: ASCII letters, digits and {TOKEN_CHARACTERS} only."


def is_header_name(name: str) -> bool:
    return bool(_TOKEN_RE.match(name))
