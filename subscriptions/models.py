"""Subscriptions and their two keys: the one place every other app asks
about a subscription (who holds a key, is it usable, what are its limits).

The table names stay those of the gateway app, where these models lived
before: moving them here moved no data.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.utils import timezone
from django.utils.functional import cached_property

from apis.models import Product
from portal import crypto
from subscriptions.keys import KEYS, is_well_formed, matching, new_key


def key_digest(key: str) -> str:
    """The keyed digest a subscription key is looked up by. Without the
    server's secret, a stolen database does not let anyone test keys."""
    return hmac.new(crypto.derived_key(b"lookup"), key.encode(), hashlib.sha256).hexdigest()


def encrypt_key(key: str) -> str:
    return crypto.fernet(b"encrypt").encrypt(key.encode()).decode()


def decrypt_key(token: str) -> str:
    """A stored key in clear, or "" when it was encrypted under another
    KEY_ENCRYPTION_KEY/SECRET_KEY: the owner then regenerates it."""
    try:
        return crypto.fernet(b"encrypt").decrypt(token.encode()).decode()
    except InvalidToken:
        return ""


def _fetchall(sql: str, params, alias: str):
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall(), connection


# Runs one read-only query: (sql, params, alias) -> (rows, connection).
Fetchall = Callable[[str, list, str], tuple[list, object]]


class SubscriptionQuerySet(models.QuerySet):
    def holder_of(self, key: str, fetchall: Fetchall | None = None) -> KeyHolder | None:
        """The subscription holding this key (whatever its state), with its
        product's limits: the one key lookup. One hand-written query, since
        building it with the ORM costs more than the rest of a gateway
        call's own work; ``fetchall`` lets the gateway run it on its own
        connections."""
        if not is_well_formed(key):
            return None
        digest = key_digest(key)
        sub, product = Subscription._meta, Product._meta
        columns = [sub.get_field(name).column for name in ("id", "user", "product", "state", "created", "started")]
        limits = [
            product.get_field(name).column
            for name in ("rate_limit_calls", "rate_limit_period", "quota_calls", "quota_period")
        ]
        primary, secondary = sub.get_field("primary_digest").column, sub.get_field("secondary_digest").column
        sql = (
            f"SELECT {', '.join('s.' + c for c in columns)}, s.{primary}, s.{secondary}, {', '.join('p.' + c for c in limits)} "
            f"FROM {sub.db_table} s JOIN {product.db_table} p ON p.{product.pk.column} = s.{sub.get_field('product').column} "
            f"WHERE s.{primary} = %s OR s.{secondary} = %s"
        )
        rows, connection = (fetchall or _fetchall)(sql, [digest, digest], self.db or DEFAULT_DB_ALIAS)
        for row in rows:
            sid, user_id, product_id, state, created, started, p_digest, s_digest, *product_limits = row
            which = matching(digest, p_digest, s_digest)
            if which is None:
                continue
            # SQLite hands back text for datetimes in raw queries.
            created, started = _as_datetime(connection, created), _as_datetime(connection, started)
            return KeyHolder(sid, user_id, product_id, state, created, started, which, *product_limits)
        return None

    def by_key(self, key: str) -> tuple[Subscription, str] | None:
        """The Subscription holding this key, and which key it is ("primary"
        or "secondary"), whatever its state."""
        holder = self.holder_of(key)
        if holder is None:
            return None
        found = self.select_related("product").filter(pk=holder.id).first()
        return (found, holder.which) if found is not None else None

    def open(self) -> SubscriptionQuerySet:
        """Not yet ended: submitted, active or suspended."""
        return self.filter(state__in=Subscription.OPEN_STATES)


def _as_datetime(connection, value):
    if value is None or isinstance(value, datetime):
        return value
    return connection.ops.convert_datetimefield_value(value, None, connection)


class SubscriptionFacts:
    """What a Subscription row and the gateway's KeyHolder both answer."""

    id: int
    state: str
    created: datetime
    started: datetime | None

    @property
    def is_active(self) -> bool:
        return self.state == Subscription.ACTIVE

    @property
    def counter_id(self) -> str:
        """Names this subscription's rate and quota counters in the cache. The
        creation time makes it unique even where a database reuses ids."""
        return f"{self.id}.{int(self.created.timestamp() * 1_000_000)}"

    @property
    def quota_start(self) -> float:
        """The quota's fixed windows count from the first activation."""
        return (self.started or self.created).timestamp()


@dataclass(frozen=True)
class KeyHolder(SubscriptionFacts):
    """What the gateway needs to know about the subscription a key belongs to."""

    id: int
    user_id: int
    product_id: int
    state: str
    created: datetime
    started: datetime | None
    which: str
    rate_limit_calls: int | None
    rate_limit_period: int | None
    quota_calls: int | None
    quota_period: int | None

    @property
    def has_rate_limit(self) -> bool:
        return Product.limit_applies(self.rate_limit_calls, self.rate_limit_period)

    @property
    def has_quota(self) -> bool:
        return Product.limit_applies(self.quota_calls, self.quota_period)


class SubscriptionsLimitReached(Exception):
    """A developer already holds as many subscriptions to a product as it allows."""

    def __init__(self, product: Product):
        super().__init__(product)
        self.product = product

    @property
    def message(self) -> str:
        n = self.product.subscriptions_limit
        held = "a subscription" if n == 1 else f"{n} subscriptions"
        return (
            f"You already have {held} to {self.product.name}, the most it allows per developer. "
            "Cancel one on your profile to subscribe again."
        )


class Subscription(SubscriptionFacts, models.Model):
    SUBMITTED, ACTIVE, SUSPENDED, CANCELLED, EXPIRED = "submitted", "active", "suspended", "cancelled", "expired"
    STATES = [
        (SUBMITTED, "Submitted"),
        (ACTIVE, "Active"),
        (SUSPENDED, "Suspended"),
        (CANCELLED, "Cancelled"),
        (EXPIRED, "Expired"),
    ]
    OPEN_STATES = (SUBMITTED, ACTIVE, SUSPENDED)
    NAME_MAX_LENGTH = 200

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="subscriptions")
    product = models.ForeignKey(Product, models.PROTECT, related_name="subscriptions")
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    state = models.CharField(max_length=10, choices=STATES, default=SUBMITTED, db_index=True)
    created = models.DateTimeField(default=timezone.now)
    # The quota's fixed windows count from here.
    started = models.DateTimeField(null=True, blank=True)
    ended = models.DateTimeField(null=True, blank=True)
    primary_digest = models.CharField(max_length=64, unique=True, editable=False)
    secondary_digest = models.CharField(max_length=64, unique=True, editable=False)
    primary_encrypted = models.TextField(editable=False)
    secondary_encrypted = models.TextField(editable=False)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        db_table = "gateway_subscription"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.product}, {self.get_state_display()})"

    def clean(self) -> None:
        if self.user_id and self.product_id and self._takes_a_place() and self.passes_subscriptions_limit():
            limit = self.product.subscriptions_limit
            raise ValidationError(
                {
                    "product": f"This developer already holds {limit} open subscription{'s' if limit != 1 else ''} "
                    f"to {self.product.name}, the number allowed per user. Cancel one first."
                }
            )

    def _takes_a_place(self) -> bool:
        """New, or newly open for this developer and product: an edit of a
        subscription that already held its place (a rename) is no new one."""
        before = Subscription.objects.filter(pk=self.pk).values("user_id", "product_id", "state").first()
        return (
            before is None
            or (before["user_id"], before["product_id"]) != (self.user_id, self.product_id)
            or (before["state"] not in self.OPEN_STATES)
        )

    def passes_subscriptions_limit(self) -> bool:
        """Would this subscription, open, pass its product's number of
        subscriptions allowed per user? Cancelled and expired ones hold no
        working key and do not count."""
        limit = self.product.subscriptions_limit
        if limit is None or not self.is_open:
            return False
        held = Subscription.objects.open().filter(user_id=self.user_id, product_id=self.product_id)
        return held.exclude(pk=self.pk).count() >= limit

    def save(self, *args, **kwargs) -> None:
        for which in KEYS:
            if not getattr(self, f"{which}_digest"):
                self.set_key(which, new_key())
        super().save(*args, **kwargs)

    def set_key(self, which: str, key: str) -> None:
        assert which in KEYS
        setattr(self, f"{which}_digest", key_digest(key))
        setattr(self, f"{which}_encrypted", encrypt_key(key))
        self.__dict__.pop(f"{which}_key", None)

    @cached_property
    def primary_key(self) -> str:
        return decrypt_key(self.primary_encrypted)

    @cached_property
    def secondary_key(self) -> str:
        return decrypt_key(self.secondary_encrypted)

    def key(self, which: str) -> str:
        assert which in KEYS
        return getattr(self, f"{which}_key")

    def regenerate(self, which: str) -> str:
        """A new key in place of one of the two; the other keeps working, so a
        client can rotate without downtime."""
        key = new_key()
        self.set_key(which, key)
        self.save(update_fields=[f"{which}_digest", f"{which}_encrypted"])
        return key

    @property
    def is_open(self) -> bool:
        """Not yet ended: the owner can still see and rotate its keys."""
        return self.state in self.OPEN_STATES

    def activate(self) -> None:
        """Approve a submitted subscription (or start one that needs no
        approval). The quota's windows count from the first activation."""
        self.state = self.ACTIVE
        self.started = self.started or timezone.now()
        self.ended = None
        self.save(update_fields=["state", "started", "ended"])

    def suspend(self) -> None:
        self.state = self.SUSPENDED
        self.save(update_fields=["state"])

    def reactivate(self) -> None:
        self.activate()

    def cancel(self) -> None:
        self.state = self.CANCELLED
        self.ended = timezone.now()
        self.save(update_fields=["state", "ended"])
