from __future__ import annotations

from django import template

from subscriptions.keys import KEYS

register = template.Library()


@register.simple_tag
def subscription_keys(subscription, revealed=None) -> list[dict]:
    """Both keys of a subscription, the revealed one decrypted, the other not."""
    return [
        {
            "which": which,
            "label": f"{which.capitalize()} key",
            "value": subscription.key(which) if which == revealed else None,
        }
        for which in KEYS
    ]


@register.simple_tag
def user_subscriptions(product, user) -> list:
    if not user.is_authenticated:
        return []
    return list(product.subscriptions.filter(user=user).open())
