"""Subscription changes that tell someone by e-mail."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse

from apis.models import Product
from subscriptions.models import Subscription, SubscriptionsLimitReached

log = logging.getLogger(__name__)


def _printable(name: str) -> str:
    # PostgreSQL refuses NUL in text; other control characters have no place in a name either.
    return "".join(c for c in name if c.isprintable()).strip()


def subscribe(*, user, product: Product, name: str = "") -> Subscription:
    """A new subscription: active at once, or submitted for an administrator's
    approval when the product asks for it. Raises SubscriptionsLimitReached
    past the product's number allowed per user, even for parallel calls."""
    with transaction.atomic():
        # One developer's subscribes queue up here: a row lock on PostgreSQL;
        # on SQLite, transactions begin IMMEDIATE (settings) and so do too.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        subscription = Subscription(
            user=user,
            product=product,
            name=(_printable(name) or f"{product.name} subscription")[: Subscription.NAME_MAX_LENGTH],
        )
        if subscription.passes_subscriptions_limit():
            raise SubscriptionsLimitReached(product)
        subscription.save()
        if not product.approval_required:
            subscription.activate()
    if product.approval_required:
        _mail(
            settings.ADMIN_EMAIL,
            f"[{settings.SITE_NAME}] Subscription to approve: {product.name}",
            f"{user.email or user.get_username()} asks to subscribe to {product.name}.\n\n"
            f"Approve or reject it in the admin: {settings.SITE_URL}"
            f"{reverse('admin:subscriptions_subscription_change', args=[subscription.pk])}\n",
        )
    return subscription


def approve(subscription: Subscription) -> None:
    subscription.activate()
    notify_approved(subscription)


def notify_approved(subscription: Subscription) -> None:
    _mail(
        subscription.user.email,
        f"[{settings.SITE_NAME}] Your subscription to {subscription.product.name} is active",
        f'Your subscription "{subscription.name}" to {subscription.product.name} was approved.\n\n'
        f"Your keys are on your profile: {settings.SITE_URL}{reverse('accounts-profile')}\n",
    )


def _mail(to: str, subject: str, body: str) -> None:
    if not to:
        return
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
    except Exception:
        # A mail server being down must not undo the subscription change.
        log.exception("Could not send %r", subject)
