"""Portico's URLs plus /bare/<path>: the least a requests-based proxy view does,
the yardstick for the gateway's overhead."""

import os
import threading

import requests
from django.http import HttpResponse
from django.urls import path

from portal.urls import urlpatterns as portal_urlpatterns

BACKEND = os.environ.get("BENCH_BACKEND", "http://127.0.0.1:9")
_local = threading.local()


def bare(request, rest):
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    upstream = session.get(f"{BACKEND}/{rest}", timeout=(5, 30))
    return HttpResponse(
        upstream.content, status=upstream.status_code, content_type=upstream.headers.get("Content-Type")
    )


urlpatterns = [path("bare/<path:rest>", bare), *portal_urlpatterns]
