"""Limits on log-in and sign-up attempts, so that guessing passwords neither works nor starves the portal.

Two layers:

* django-axes locks out an account, and separately an address, after
  AXES_FAILURE_LIMIT wrong passwords (settings.py). axes_username() makes
  "Alice@Example.com " and "alice@example.com" one account.
* Every POST to a page that hashes a password (log-in, the admin's log-in,
  sign-up) counts against its address: ACCOUNTS_ATTEMPTS_PER_MINUTE in a
  sliding window, with the gateway's own counters (shared through Redis by
  every process). Past it the answer is a 429 before any hashing, so a flood
  of attempts cannot take the CPU the gateway needs.
"""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render

from gateway import counters

# URL names (with their namespace) of the views that hash a password on POST.
HASHING_VIEWS = frozenset({"accounts-login", "accounts-signup", "admin:login"})


def axes_username(request, credentials) -> str:
    return str((credentials or {}).get("username") or "").strip().lower()


class AttemptsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if request.method != "POST" or match is None or match.view_name not in HASHING_VIEWS:
            return None
        address = request.META.get("REMOTE_ADDR") or "unknown"
        limit = counters.Limits(rate_calls=settings.ACCOUNTS_ATTEMPTS_PER_MINUTE, rate_period=60)
        decision = counters.admit(f"attempts:{address}", limit, 0.0)
        if decision.allowed:
            return None
        response = render(request, "accounts/too_many_attempts.html", {"retry_after": decision.retry_after}, status=429)
        response["Retry-After"] = str(decision.retry_after)
        return response
