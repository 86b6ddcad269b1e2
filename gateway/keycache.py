"""Subscription keys cached in each process, and still valid the moment they are not.

A call's key is looked up in the database once, then served from memory. What
makes that safe is the subscription's *generation*: a counter in the shared
counter store (Redis; local memory for one process) that every change to a
subscription bumps (revoked or regenerated key, suspension, cancellation,
reactivation: any save or delete, see the signals below). A cached key carries
the generation it was read under, and the counter store compares it on every
call in the same round trip as the rate limit and quota (gateway.counters):
a different generation means "read it again". So a key stops working in every
process at the next call, not after a cache expiry.

The generation is read *before* the database, so a cached entry is never
newer-generation-with-older-data; it is bumped at once and again when the
change commits, so a reader that saw uncommitted-to-it data under the first
bump is corrected by the second. Entries also expire after MAX_AGE, a bound
on staleness should the counter store lose its data.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from gateway import counters
from subscriptions.models import Subscription, key_digest

MAX_AGE = 300.0
MAX_ENTRIES = 50_000


@dataclass(frozen=True)
class Key:
    """What the gateway needs to know about the subscription a key belongs to."""

    digest: str
    id: int
    user_id: int
    product_id: int
    is_active: bool
    limits: counters.Limits
    counter_id: str
    quota_start: float
    generation: int
    expires: float


_entries: dict[str, Key] = {}
_lock = threading.Lock()


def cached(key: str) -> tuple[str, Key | None]:
    """The key's digest, and its cached entry if it is fresh enough."""
    digest = key_digest(key)
    entry = _entries.get(digest)
    if entry is not None and entry.expires < time.monotonic():
        entry = None
    return digest, entry


def load(key: str, digest: str) -> Key | None:
    """Read the key from the database (blocking: run off the event loop), and
    cache it when it belongs to a subscription."""
    holder = Subscription.objects.holder_of(key)
    if holder is None:
        return None
    try:
        generation = counters.generation(holder.id)
    except Exception:
        # The counters' store is down: an entry no check can confirm is not cached.
        generation = -1
    # Read again under the generation just read: see the module's docstring.
    holder = Subscription.objects.holder_of(key)
    if holder is None:
        return None
    entry = Key(
        digest=digest,
        id=holder.id,
        user_id=holder.user_id,
        product_id=holder.product_id,
        is_active=holder.is_active,
        limits=counters.Limits.of(holder),
        counter_id=holder.counter_id,
        quota_start=holder.quota_start,
        generation=generation,
        expires=time.monotonic() + MAX_AGE,
    )
    if not entry.is_active or generation < 0:
        # Not cached: a reactivation elsewhere must be seen at once too, and
        # only an active key's use checks the generation.
        return entry
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[digest] = entry
    return entry


def forget(digest: str) -> None:
    _entries.pop(digest, None)


def forget_subscription(subscription_id: int) -> None:
    with _lock:
        for digest in [d for d, e in _entries.items() if e.id == subscription_id]:
            del _entries[digest]


def clear() -> None:
    _entries.clear()


def changed(subscription_id: int) -> None:
    """A subscription changed: its cached keys are stale everywhere."""
    forget_subscription(subscription_id)
    counters.bump_generation(subscription_id, caches[DEFAULT_CACHE_ALIAS])


@receiver([post_save, post_delete], sender=Subscription)
def _subscription_changed(sender, instance, **kwargs) -> None:
    changed(instance.pk)
    transaction.on_commit(lambda: changed(instance.pk), using=kwargs.get("using"))
