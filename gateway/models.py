"""The record of every call through the gateway."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from apis.models import Api, Operation, Product
from gateway import pipeline
from subscriptions.models import Subscription


class CallQuerySet(models.QuerySet):
    def counted(self, subscription_id: int, since: datetime, until: datetime) -> int:
        """Calls of a subscription in [since, until] that counted against its
        limits: every call the gateway admitted, whatever came of it. Seeds
        a quota counter that was lost (a restart, an emptied Redis)."""
        return (
            self.filter(subscription_id=subscription_id, created__gte=since, created__lte=until)
            .exclude(outcome__in=Call.UNCOUNTED)
            .count()
        )


class Call(models.Model):
    """One request through the gateway, allowed or not. Never holds a key."""

    # Named in the gateway's pipeline, which records them.
    SUCCESS, UNAUTHORIZED, THROTTLED, QUOTA, NO_MATCH, BACKEND_ERROR = (
        pipeline.SUCCESS,
        pipeline.UNAUTHORIZED,
        pipeline.THROTTLED,
        pipeline.QUOTA,
        pipeline.NO_MATCH,
        pipeline.BACKEND_ERROR,
    )
    # A request the gateway refused before forwarding it: a malformed path,
    # header or length, or a body over the limit.
    BAD_REQUEST = pipeline.BAD_REQUEST
    # A call forwarded to the backend that answered 4xx (a wrong API key, a
    # bad body): not a success, not the backend failing either. API
    # Management's analytics counts these apart too.
    CLIENT_ERROR = pipeline.CLIENT_ERROR
    # Refused because the rate limit and quota could not be checked (Redis
    # down, GATEWAY_COUNTERS_FAIL_OPEN off).
    UNAVAILABLE = pipeline.UNAVAILABLE
    # A call of a subscription counts against its limits unless it was
    # refused at the limits.
    UNCOUNTED = (THROTTLED, QUOTA, UNAVAILABLE)
    OUTCOMES = [
        (SUCCESS, "Success"),
        (CLIENT_ERROR, "Client error"),
        (UNAUTHORIZED, "Unauthorized"),
        (THROTTLED, "Throttled"),
        (QUOTA, "Over quota"),
        (NO_MATCH, "No match"),
        (BACKEND_ERROR, "Backend error"),
        (BAD_REQUEST, "Bad request"),
        (UNAVAILABLE, "Limits unavailable"),
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

    objects = CallQuerySet.as_manager()

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
        return pipeline.outcome_of(backend_status)
