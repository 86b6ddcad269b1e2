"""What a subscription key is, in plain Python (no Django): how callers send
it, how long it may be, its two names, how a new one is made.

The digest a key is looked up by and the encryption of stored keys need the
server's secret: they are in ``subscriptions.models``.
"""

from __future__ import annotations

import hmac
import secrets

# How a caller sends a key: API Management's header, or its query parameter.
KEY_HEADER = "Ocp-Apim-Subscription-Key"
KEY_QUERY_PARAMETER = "subscription-key"
# Every subscription has two keys, so a client can rotate one while the
# other keeps working.
PRIMARY, SECONDARY = "primary", "secondary"
KEYS = (PRIMARY, SECONDARY)
# Longer than any key Portico makes (64 hex digits) or API Management accepts;
# a longer value is refused before any lookup.
KEY_MAX_LENGTH = 200


def new_key() -> str:
    return secrets.token_hex(32)


def is_well_formed(key: str | None) -> bool:
    """Worth looking up: not empty, not too long, printable."""
    return bool(key) and len(key) <= KEY_MAX_LENGTH and key.isprintable()


def matching(digest: str, primary_digest: str, secondary_digest: str) -> str | None:
    """Which of a subscription's two keys has this digest, in constant time."""
    if hmac.compare_digest(primary_digest, digest):
        return PRIMARY
    if hmac.compare_digest(secondary_digest, digest):
        return SECONDARY
    return None
