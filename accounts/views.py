from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_safe

from accounts.forms import SignupForm
from subscriptions.views import profile_context


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("accounts-profile")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                user = form.save()
        except IntegrityError:
            # Another sign-up with the same address won the race since the form was checked.
            form.add_error("email", "An account with this e-mail address already exists.")
            return render(request, "accounts/signup.html", {"form": form})
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Subscribe to a product to get your keys.")
        return safe_next_redirect(request, default="apis-products")
    return render(request, "accounts/signup.html", {"form": form})


@require_http_methods(["GET", "POST"])
def password_reset(request):
    # The link in the mail starts with SITE_URL, never with the request's Host
    # header: whoever asks for the reset must not choose where the link leads.
    view = auth_views.PasswordResetView.as_view(
        template_name="accounts/password_reset.html",
        email_template_name="accounts/password_reset_email.txt",
        subject_template_name="accounts/password_reset_subject.txt",
        success_url=reverse("accounts-password-reset-sent"),
        extra_email_context={
            "site_url": settings.SITE_URL,
            "site_name": settings.SITE_NAME,
            "protocol": urlsplit(settings.SITE_URL).scheme,
            "domain": urlsplit(settings.SITE_URL).netloc,
        },
    )
    return view(request)


@require_safe
@login_required
def profile(request):
    return render(request, "accounts/profile.html", profile_context(request.user))


def safe_next_redirect(request, *, default: str) -> HttpResponseRedirect:
    """To `next` when it is a path on this site, else to the named default page.

    `next` is only ever followed as a URL: handing it to redirect() would also
    try it as a view name, and `?next=true` was a NoReverseMatch (a 500).
    """
    target = request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return redirect(default)
