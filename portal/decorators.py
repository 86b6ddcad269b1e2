"""Who may open a page: the one check for the portal's staff pages."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest
from django.shortcuts import render


def is_staff(user) -> bool:
    return user.is_active and user.is_staff


def staff_required(view):
    """Staff pages: a visitor is sent to log in and back; a logged-in developer
    is told the page is for staff (403), not shown a bare login form that
    would only log them in again to the same refusal."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if is_staff(request.user):
            return view(request, *args, **kwargs)
        if request.user.is_authenticated:
            return render(request, "accounts/staff_only.html", {"path": request.get_full_path()}, status=403)
        return redirect_to_login(request.get_full_path())

    return wrapper
