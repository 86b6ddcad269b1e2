"""What the console keeps per developer: the values typed per API, and the last sends."""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from apis.models import Api, Operation
from portal import crypto

HISTORY_SIZE = 20


def _fernet() -> Fernet:
    return crypto.fernet(b"console")


class SavedValues(models.Model):
    """The parameter and header values a developer last typed for an API.

    Shared by the API's operations so that {workspace} typed once fills every
    operation. Header values can be secrets (an Authorization token), so the
    whole record is stored encrypted.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    api = models.ForeignKey(Api, models.CASCADE, related_name="+")
    encrypted = models.TextField()
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "api"], name="console_saved_values_unique")]

    def __str__(self) -> str:
        return f"Values of user {self.user_id} for API {self.api_id}"

    @property
    def data(self) -> dict:
        try:
            return json.loads(_fernet().decrypt(self.encrypted.encode()))
        except (InvalidToken, ValueError):
            return {}

    @classmethod
    def load(cls, user, api: Api) -> dict:
        if not user.is_authenticated:
            return {}
        row = cls.objects.filter(user=user, api=api).first()
        return row.data if row else {}

    @classmethod
    def store(cls, user, api: Api, data: dict) -> None:
        if not user.is_authenticated:
            return
        encrypted = _fernet().encrypt(json.dumps(data).encode()).decode()
        # One UPDATE in the usual case; the INSERT only the first time.
        if not cls.objects.filter(user=user, api=api).update(encrypted=encrypted, updated=timezone.now()):
            try:
                with transaction.atomic():
                    cls.objects.create(user=user, api=api, encrypted=encrypted)
            except IntegrityError:  # created meanwhile by a parallel request
                cls.objects.filter(user=user, api=api).update(encrypted=encrypted, updated=timezone.now())


class Send(models.Model):
    """One Send from the console, secrets redacted, with what came back."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="console_sends")
    operation = models.ForeignKey(Operation, models.CASCADE, related_name="console_sends")
    created = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=10)
    url = models.TextField()
    # The form as typed, secrets redacted: {"params", "extra_query", "headers", "subscription", "rep", "body"}.
    form = models.JSONField(default=dict)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    elapsed_ms = models.FloatField(null=True, blank=True)
    size = models.BigIntegerField(default=0)
    response_headers = models.JSONField(default=list)
    content_type = models.CharField(max_length=200, blank=True)
    # The body as received (decoded), up to the download cap, for the download link.
    body = models.BinaryField(blank=True, default=b"")
    complete = models.BooleanField(default=True, help_text="False when the body went over the download cap.")
    # The gateway's id for the call; ties this send to gateway.models.Call.
    request_id = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["user", "created"], name="console_send_user_created")]

    def __str__(self) -> str:
        return f"{self.method} {self.url} → {self.status or self.error[:40]}"

    @property
    def elapsed_int(self) -> int:
        return round(self.elapsed_ms or 0)

    @property
    def call(self):
        if not self.request_id:
            return None
        from gateway.models import Call

        return Call.objects.filter(request_id=self.request_id).first()

    def prune_history(self) -> None:
        """Keep only each developer's last HISTORY_SIZE sends (the bodies are large)."""
        mine = Send.objects.filter(user_id=self.user_id)
        oldest_kept = mine.order_by("-id").values_list("id", flat=True)[HISTORY_SIZE - 1 : HISTORY_SIZE]
        if oldest_kept:
            mine.filter(id__lt=oldest_kept[0]).delete()


class BatchRun(models.Model):
    """One batch job started from the batch job panel, followed until it ends.

    The panel polls the job's status through the gateway with the developer's
    own subscription key and the web service's API key (the Authorization
    header they typed), kept encrypted like the saved values.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="batch_runs")
    api = models.ForeignKey(Api, models.CASCADE, related_name="+")
    created = models.DateTimeField(default=timezone.now)
    # The console's choice of key ("<subscription id>:primary") and the
    # operations' parameters (workspace, service, api version).
    subscription = models.CharField(max_length=40)
    params = models.JSONField(default=dict)
    encrypted_headers = models.TextField(blank=True)
    input_location = models.CharField(max_length=300)
    output_location = models.CharField(max_length=300)
    job_id = models.CharField(max_length=64, blank=True)
    started = models.BooleanField(default=False, help_text="BES Start answered 2xx.")
    state = models.CharField(max_length=12, blank=True, help_text="BES StatusCode as last read.")
    details = models.TextField(blank=True)
    results = models.JSONField(null=True, blank=True)
    rows = models.PositiveIntegerField(default=0, help_text="Rows in the uploaded CSV.")
    rows_done = models.PositiveIntegerField(null=True, blank=True, help_text="Rows processed, when Status says.")
    calls = models.PositiveIntegerField(default=0, help_text="Gateway calls this run made.")
    checks = models.PositiveIntegerField(default=0, help_text="Status calls made.")
    # The last gateway answer as the panel shows it, and its calls-left headers.
    last_answer = models.CharField(max_length=300, blank=True)
    calls_left = models.JSONField(default=list)
    # After a 429, no Status call before this time (its Retry-After).
    not_before = models.DateTimeField(null=True, blank=True)
    ended = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"Batch run {self.pk} of user {self.user_id}: job {self.job_id or '-'} {self.state}"

    @property
    def headers(self) -> list[tuple[str, str]]:
        if not self.encrypted_headers:
            return []
        try:
            return [tuple(h) for h in json.loads(_fernet().decrypt(self.encrypted_headers.encode()))]
        except (InvalidToken, ValueError):
            return []

    @headers.setter
    def headers(self, value: list[tuple[str, str]]) -> None:
        self.encrypted_headers = _fernet().encrypt(json.dumps(list(value)).encode()).decode()

    @property
    def is_over(self) -> bool:
        return self.ended is not None

    @property
    def result_links(self) -> list[tuple[str, str]]:
        from console import batch

        return batch.result_links(self.results) if self.state == "Finished" else []
