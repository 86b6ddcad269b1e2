from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from subscriptions.keys import KEY_HEADER, KEY_QUERY_PARAMETER


def site(request: HttpRequest) -> dict:
    return {
        "site_name": settings.SITE_NAME,
        "gateway_url": settings.GATEWAY_URL,
        "key_header": KEY_HEADER,
        "key_query_parameter": KEY_QUERY_PARAMETER,
    }
