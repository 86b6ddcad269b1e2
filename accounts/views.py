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
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_safe

from accounts.forms import SignupForm
from subscriptions.views import profile_context


# Without django.contrib.sites, Django's auth views call the site by the host
# the request came to ("127.0.0.1:8765"): they say SITE_NAME instead.
class LoginView(auth_views.LoginView):
    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs) | {"site_name": settings.SITE_NAME}


class PasswordResetView(auth_views.PasswordResetView):
    # The link in the mail starts with SITE_URL, never with the request's Host
    # header: whoever asks for the reset must not choose where the link leads.
    def form_valid(self, form):
        site = urlsplit(settings.SITE_URL)
        self.extra_email_context = {
            "site_url": settings.SITE_URL,
            "site_name": settings.SITE_NAME,
            "protocol": site.scheme,
            "domain": site.netloc,
        }
        return super().form_valid(form)


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
