"""Keys derived from the server's secret, for what Portico stores encrypted or
looks up by digest (subscription keys, the console's saved values).

KEY_ENCRYPTION_KEY, when set, is used instead of SECRET_KEY, so that the
secret that signs sessions can be rotated without losing what was encrypted.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet
from django.conf import settings


def derived_key(purpose: bytes) -> bytes:
    """32 bytes for one purpose; each purpose gets a key of its own."""
    secret = getattr(settings, "KEY_ENCRYPTION_KEY", None) or settings.SECRET_KEY
    return hashlib.sha256(b"portico:" + purpose + b":" + secret.encode()).digest()


def fernet(purpose: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derived_key(purpose)))
