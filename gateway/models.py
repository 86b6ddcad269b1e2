"""Subscriptions, their keys, and the record of every call through the gateway."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property

from apis.models import Api, Operation, Product
from gateway import dbpool
from portal import crypto


def key_digest(key: str) -> str:
    """The keyed digest a subscription key is looked up by. Without the
    server's secret, a stolen database does not let anyone test keys."""
    return hmac.new(crypto.derived_key(b"lookup"), key.encode(), hashlib.sha256).hexdigest()


def _fernet() -> Fernet:
    return crypto.fernet(b"encrypt")


def _decrypt(token: str) -> str:
    """A stored key in clear, or "" when it was encrypted under another
    KEY_ENCRYPTION_KEY/SECRET_KEY: the owner then regenerates it."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return ""


def new_key() -> str:
    return secrets.token_hex(32)


class SubscriptionQuerySet(models.QuerySet):
    def by_key(self, key: str) -> tuple[Subscription, str] | None:
        """The subscription holding this key, and which key it is ("primary"
        or "secondary"), whatever its state."""
        if not key or len(key) > 200:
            return None
        digest = key_digest(key)
        for sub in self.filter(Q(primary_digest=digest) | Q(secondary_digest=digest)).select_related("product"):
            if hmac.compare_digest(sub.primary_digest, digest):
                return sub, "primary"
            if hmac.compare_digest(sub.secondary_digest, digest):
                return sub, "secondary"
        return None

    def holder_of(self, key: str) -> KeyHolder | None:
        """by_key for the gateway's hot path: one hand-written query with the
        product's limits joined, since building it with the ORM costs more
        than the rest of a call's own work."""
        if not key or len(key) > 200:
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
        # Through the gateway's few pooled connections under gunicorn, not
        # one per thread (see gateway.dbpool).
        rows, connection = dbpool.fetchall(sql, [digest, digest], self.db)
        for row in rows:
            sid, user_id, product_id, state, created, started, p_digest, s_digest, *product_limits = row
            if hmac.compare_digest(p_digest, digest):
                which = "primary"
            elif hmac.compare_digest(s_digest, digest):
                which = "secondary"
            else:
                continue
            # SQLite hands back text for datetimes in raw queries.
            created, started = _as_datetime(connection, created), _as_datetime(connection, started)
            return KeyHolder(sid, user_id, product_id, state, created, started, which, *product_limits)
        return None


def _as_datetime(connection, value):
    if value is None or isinstance(value, datetime):
        return value
    converted = connection.ops.convert_datetimefield_value(value, None, connection)
    return converted


@dataclass(frozen=True)
class KeyHolder:
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
    def is_active(self) -> bool:
        return self.state == Subscription.ACTIVE

    @property
    def counter_id(self) -> str:
        return f"{self.id}.{int(self.created.timestamp() * 1_000_000)}"

    @property
    def quota_start(self) -> float:
        return (self.started or self.created).timestamp()


class Subscription(models.Model):
    SUBMITTED, ACTIVE, SUSPENDED, CANCELLED, EXPIRED = "submitted", "active", "suspended", "cancelled", "expired"
    STATES = [
        (SUBMITTED, "Submitted"),
        (ACTIVE, "Active"),
        (SUSPENDED, "Suspended"),
        (CANCELLED, "Cancelled"),
        (EXPIRED, "Expired"),
    ]

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="subscriptions")
    product = models.ForeignKey(Product, models.PROTECT, related_name="subscriptions")
    name = models.CharField(max_length=200)
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
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.product}, {self.get_state_display()})"

    def save(self, *args, **kwargs) -> None:
        if not self.primary_digest:
            self.set_key("primary", new_key())
        if not self.secondary_digest:
            self.set_key("secondary", new_key())
        super().save(*args, **kwargs)

    def set_key(self, which: str, key: str) -> None:
        assert which in ("primary", "secondary")
        setattr(self, f"{which}_digest", key_digest(key))
        setattr(self, f"{which}_encrypted", _fernet().encrypt(key.encode()).decode())
        self.__dict__.pop(f"{which}_key", None)

    @cached_property
    def primary_key(self) -> str:
        return _decrypt(self.primary_encrypted)

    @cached_property
    def secondary_key(self) -> str:
        return _decrypt(self.secondary_encrypted)

    def regenerate(self, which: str) -> str:
        """A new key in place of one of the two; the other keeps working, so a
        client can rotate without downtime."""
        key = new_key()
        self.set_key(which, key)
        self.save(update_fields=[f"{which}_digest", f"{which}_encrypted"])
        return key

    @property
    def is_active(self) -> bool:
        return self.state == self.ACTIVE

    @property
    def counter_id(self) -> str:
        """Names this subscription's rate and quota counters in the cache. The
        creation time makes it unique even where a database reuses ids."""
        return f"{self.pk}.{int(self.created.timestamp() * 1_000_000)}"

    @property
    def quota_start(self) -> float:
        return (self.started or self.created).timestamp()

    @property
    def is_open(self) -> bool:
        """Not yet ended: the owner can still see and rotate its keys."""
        return self.state in (self.SUBMITTED, self.ACTIVE, self.SUSPENDED)

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


class Call(models.Model):
    """One request through the gateway, allowed or not. Never holds a key."""

    SUCCESS, UNAUTHORIZED, THROTTLED, QUOTA, NO_MATCH, BACKEND_ERROR = (
        "success",
        "unauthorized",
        "throttled",
        "quota",
        "no_match",
        "backend_error",
    )
    # A request the gateway refused before forwarding it: a malformed path,
    # header or length, or a body over the limit.
    BAD_REQUEST = "bad_request"
    # A call forwarded to the backend that answered 4xx (a wrong API key, a
    # bad body): not a success, not the backend failing either. API
    # Management's analytics counts these apart too.
    CLIENT_ERROR = "client_error"
    OUTCOMES = [
        (SUCCESS, "Success"),
        (CLIENT_ERROR, "Client error"),
        (UNAUTHORIZED, "Unauthorized"),
        (THROTTLED, "Throttled"),
        (QUOTA, "Over quota"),
        (NO_MATCH, "No match"),
        (BACKEND_ERROR, "Backend error"),
        (BAD_REQUEST, "Bad request"),
    ]

    created = models.DateTimeField(default=timezone.now)
    # Ties a console history entry to its call; the gateway returns it in a header.
    request_id = models.CharField(max_length=32, db_index=True)
    api = models.ForeignKey(Api, models.SET_NULL, null=True, blank=True, related_name="+")
    operation = models.ForeignKey(Operation, models.SET_NULL, null=True, blank=True, related_name="+")
    product = models.ForeignKey(Product, models.SET_NULL, null=True, blank=True, related_name="+")
    subscription = models.ForeignKey(Subscription, models.SET_NULL, null=True, blank=True, related_name="calls")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2000)
    status = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=16, choices=OUTCOMES)
    total_ms = models.FloatField()
    backend_ms = models.FloatField(null=True, blank=True)
    bytes_in = models.BigIntegerField(default=0)
    bytes_out = models.BigIntegerField(default=0)
    client_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [
            models.Index(fields=["created"], name="call_created"),
            models.Index(fields=["api", "created"], name="call_api_created"),
            models.Index(fields=["operation", "created"], name="call_operation_created"),
            models.Index(fields=["product", "created"], name="call_product_created"),
            models.Index(fields=["subscription", "created"], name="call_subscription_created"),
            models.Index(fields=["user", "created"], name="call_user_created"),
            models.Index(fields=["outcome", "created"], name="call_outcome_created"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status}"

    @classmethod
    def outcome_of(cls, backend_status: int) -> str:
        """The outcome of a call the gateway forwarded, from the backend's status."""
        if backend_status >= 500:
            return cls.BACKEND_ERROR
        if backend_status >= 400:
            return cls.CLIENT_ERROR
        return cls.SUCCESS
