"""Web services and their batch jobs.

A WebService is one published AzureML-style experiment (here always Feature
Hashing) with its workspace id, service id and two API keys. A BatchJob is one
BES job; the job rows are also the worker queue (see mlservice/worker.py).
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import uuid

from cryptography.fernet import InvalidToken
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from mlservice import hashing
from portal import crypto


def new_guid() -> str:
    # AzureML Studio shows workspace, service and job ids as 32 hex digits.
    return uuid.uuid4().hex


def storable_id(value: str) -> bool:
    """Whether an id from a URL can name a row at all. PostgreSQL refuses NUL
    in text, so looking one up would fail instead of finding nothing."""
    return "\x00" not in value


def _refs_fernet():
    return crypto.fernet(b"mlservice-blob-refs")


def encrypt_refs(refs: dict) -> str:
    return _refs_fernet().encrypt(json.dumps(refs).encode()).decode()


def decrypt_refs(token: str) -> dict:
    if not token:
        return {}
    try:
        return json.loads(_refs_fernet().decrypt(token.encode()))
    except (InvalidToken, ValueError):
        return {}


def new_api_key() -> str:
    # AzureML's keys are 64 random bytes in base64 (88 characters).
    return base64.b64encode(secrets.token_bytes(64)).decode()


class WebService(models.Model):
    name = models.CharField(max_length=200)
    workspace_id = models.CharField(max_length=32, default=new_guid, db_index=True)
    service_id = models.CharField(max_length=32, default=new_guid, unique=True)
    description = models.TextField(blank=True)
    # Kept readable (the dashboard shows them to staff, as AzureML's did);
    # never written to logs or error messages.
    primary_key = models.CharField(max_length=100, default=new_api_key)
    secondary_key = models.CharField(max_length=100, default=new_api_key)
    target_column = models.CharField(
        max_length=200, default="Col2", help_text="The text column whose n-grams are hashed."
    )
    bits = models.PositiveSmallIntegerField(
        "hashing bitsize",
        default=hashing.DEFAULT_BITS,
        validators=[MinValueValidator(hashing.MIN_BITS), MaxValueValidator(hashing.MAX_BITS)],
        help_text="The output has 2^bits hashed columns.",
    )
    ngrams = models.PositiveSmallIntegerField(
        "N-grams",
        default=hashing.DEFAULT_NGRAMS,
        validators=[MinValueValidator(hashing.MIN_NGRAMS), MaxValueValidator(hashing.MAX_NGRAMS)],
        help_text="The longest n-gram hashed: 2 means unigrams and bigrams; 0 and 1 mean unigrams only.",
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "web service"

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:  # no keys in reprs: they end up in tracebacks and logs
        return f"<WebService {self.pk} {self.name!r}>"

    def get_absolute_url(self) -> str:
        return reverse("mlservice-service", args=[self.service_id])

    def check_key(self, presented: str) -> bool:
        """Constant-time comparison against both keys (both are always compared)."""
        given = presented.encode()
        primary = hmac.compare_digest(given, self.primary_key.encode())
        secondary = hmac.compare_digest(given, self.secondary_key.encode())
        return primary | secondary

    def regenerate_key(self, which: str) -> None:
        setattr(self, f"{which}_key", new_api_key())
        self.save(update_fields=[f"{which}_key"])

    def hasher(self, bits: int | None = None, ngrams: int | None = None) -> hashing.FeatureHasher:
        return hashing.FeatureHasher(self.bits if bits is None else bits, self.ngrams if ngrams is None else ngrams)

    @property
    def base_path(self) -> str:
        return f"/workspaces/{self.workspace_id}/services/{self.service_id}"


class BatchJob(models.Model):
    NOT_STARTED, RUNNING, FAILED, CANCELLED, FINISHED = "NotStarted", "Running", "Failed", "Cancelled", "Finished"
    STATES = [(s, s) for s in (NOT_STARTED, RUNNING, FAILED, CANCELLED, FINISHED)]
    TERMINAL = (FAILED, CANCELLED, FINISHED)

    service = models.ForeignKey(WebService, models.CASCADE, related_name="jobs")
    job_id = models.CharField(max_length=32, default=new_guid, unique=True)
    state = models.CharField(max_length=12, choices=STATES, default=NOT_STARTED, db_index=True)
    # The blob references as submitted ({"ConnectionString"| "BaseLocation"+
    # "SasBlobToken", "RelativeLocation"}), as the input_ref and outputs
    # properties. They hold storage credentials (account keys, SAS tokens), so
    # they are stored encrypted as subscription keys are (portal/crypto.py),
    # never logged, never echoed back in a status answer.
    refs = models.TextField(default="", editable=False)
    global_parameters = models.JSONField(default=dict)
    details = models.TextField(blank=True)
    results = models.JSONField(null=True, blank=True)
    rows = models.PositiveBigIntegerField(default=0, help_text="Rows processed so far.")
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    ended = models.DateTimeField(null=True, blank=True)
    # The queue: a Running job with no live lease waits for a worker. A worker
    # holds the lease while it runs the job and renews it with each heartbeat;
    # a lease that runs out means the worker died and the job is up for grabs.
    claimed_by = models.CharField(max_length=200, blank=True)
    lease_expires = models.DateTimeField(null=True, blank=True, db_index=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Who submitted the job through the gateway: the X-Portico-Subscription
    # header it sets (a subscription's id). Empty for a direct call with the
    # service key, which sees every job, as AzureML does.
    owner = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = "batch job"

    def __str__(self) -> str:
        return self.job_id

    def _refs(self) -> dict:
        cached = self.__dict__.get("_refs_cache")
        if cached is None or cached[0] != self.refs:
            cached = (self.refs, decrypt_refs(self.refs))
            self.__dict__["_refs_cache"] = cached
        return cached[1]

    def _set_refs(self, **changes) -> None:
        self.refs = encrypt_refs(self._refs() | changes)

    @property
    def input_ref(self) -> dict:
        """{} when the references cannot be read (KEY_ENCRYPTION_KEY changed since)."""
        return self._refs().get("input") or {}

    @input_ref.setter
    def input_ref(self, value: dict) -> None:
        self._set_refs(input=value)

    @property
    def outputs(self) -> dict:
        return self._refs().get("outputs") or {}

    @outputs.setter
    def outputs(self, value: dict) -> None:
        self._set_refs(outputs=value)

    @property
    def is_terminal(self) -> bool:
        return self.state in self.TERMINAL

    def start(self) -> bool:
        """Queue a NotStarted job for the workers. False when it is not NotStarted."""
        now = timezone.now()
        updated = BatchJob.objects.filter(pk=self.pk, state=self.NOT_STARTED).update(
            state=self.RUNNING, started=now, lease_expires=None, claimed_by=""
        )
        self.refresh_from_db()
        return bool(updated)

    def cancel(self) -> None:
        BatchJob.objects.filter(pk=self.pk, state__in=[self.NOT_STARTED, self.RUNNING]).update(
            state=self.CANCELLED, ended=timezone.now(), details="The job was cancelled.", lease_expires=None
        )
        self.refresh_from_db()

    def status(self) -> dict:
        """The BES status answer."""

        def iso(value):
            return value.isoformat().replace("+00:00", "Z") if value else None

        return {
            "StatusCode": self.state,
            "Results": self.results if self.state == self.FINISHED else None,
            "Details": self.details or None,
            "CreatedAt": iso(self.created),
            "StartTime": iso(self.started),
            "EndTime": iso(self.ended),
            # An extra (AZUREML.md allows them): how far the worker has got, for a progress line.
            "RowsProcessed": self.rows,
        }
