"""The developer's side of subscriptions: subscribe, see and rotate keys, cancel."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from apis.models import Product
from subscriptions import services
from subscriptions.keys import KEYS
from subscriptions.models import Subscription, SubscriptionsLimitReached


def _own(request, pk: int, which: str | None = None) -> Subscription:
    # Someone else's subscription is a 404, not a 403: it does not exist for them.
    if which is not None and which not in KEYS:
        raise Http404
    return get_object_or_404(Subscription.objects.select_related("product"), pk=pk, user=request.user)


def profile_context(user, revealed: tuple[int, str] | None = None) -> dict:
    """The profile page's subscriptions, each with the key shown in clear, if any."""
    cards = [
        (subscription, revealed[1] if revealed and revealed[0] == subscription.pk else None)
        for subscription in user.subscriptions.select_related("product")
    ]
    return {"cards": cards, "nav": "profile"}


def _card(request, subscription: Subscription, revealed: str | None = None):
    return render(
        request,
        "subscriptions/partials/subscription.html",
        {"subscription": subscription, "revealed": revealed},
    )


@require_POST
@login_required
def subscribe(request, slug: str):
    product = get_object_or_404(Product, slug=slug, published=True)
    try:
        subscription = services.subscribe(user=request.user, product=product, name=request.POST.get("name", ""))
    except SubscriptionsLimitReached as e:
        messages.error(request, e.message)
        return redirect(product)
    if subscription.is_active:
        messages.success(request, f"You are subscribed to {product.name}. Your keys are below.")
    else:
        messages.info(request, f"Your subscription to {product.name} waits for an administrator's approval.")
    return redirect("accounts-profile")


@require_GET
@login_required
@never_cache
def show_key(request, pk: int, which: str):
    subscription = _own(request, pk, which)
    if not subscription.is_open:
        raise Http404
    if request.htmx:
        return _card(request, subscription, revealed=which)
    return render(request, "accounts/profile.html", profile_context(request.user, (subscription.pk, which)))


@require_POST
@login_required
@never_cache
def regenerate_key(request, pk: int, which: str):
    subscription = _own(request, pk, which)
    if not subscription.is_open:
        raise Http404
    subscription.regenerate(which)
    if request.htmx:
        return _card(request, subscription, revealed=which)
    messages.success(request, f"A new {which} key replaces the old one, which no longer works.")
    return redirect("accounts-profile")


@require_POST
@login_required
def cancel_subscription(request, pk: int):
    subscription = _own(request, pk)
    if subscription.is_open:
        subscription.cancel()
    if request.htmx:
        return _card(request, subscription)
    messages.success(request, f'Subscription "{subscription.name}" is cancelled; its keys no longer work.')
    return redirect("accounts-profile")
