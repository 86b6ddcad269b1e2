"""Policy documents at their four scopes, and the named values they refer to.

A document is stored as the publisher wrote it (comments and layout kept) and
checked on every save; the gateway compiles it once per process (see
gateway.policy) and never re-parses it per call.
"""

from __future__ import annotations

from cryptography.fernet import InvalidToken
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from apis.models import Api, Operation, Product
from policies import document, pipeline
from portal import crypto


def validate_document(text: str) -> None:
    """A ValidationError naming the line, the column and the first problem."""
    if not text.strip():
        return
    try:
        pipeline.load(text)
    except document.PolicyError as e:
        raise ValidationError(str(e), code="policy") from e


class PolicyQuerySet(models.QuerySet):
    def for_scope(self, *, product: Product | None = None, api: Api | None = None, operation: Operation | None = None):
        return self.filter(product=product, api=api, operation=operation)


class Policy(models.Model):
    GLOBAL, PRODUCT, API, OPERATION = "global", "product", "api", "operation"
    SCOPES = [(GLOBAL, "Global (all APIs)"), (PRODUCT, "Product"), (API, "API"), (OPERATION, "Operation")]

    scope = models.CharField(max_length=10, choices=SCOPES, editable=False)
    product = models.OneToOneField(Product, models.CASCADE, null=True, blank=True, related_name="policy")
    api = models.OneToOneField(Api, models.CASCADE, null=True, blank=True, related_name="policy")
    operation = models.OneToOneField(Operation, models.CASCADE, null=True, blank=True, related_name="policy")
    document = models.TextField(
        "policy document",
        blank=True,
        validators=[validate_document],
        help_text="API Management's XML: <policies> with <inbound>, <backend>, <outbound> and <on-error>; "
        "<base /> runs the enclosing scope's policies. Empty: no policy at this scope.",
    )
    updated = models.DateTimeField(auto_now=True)

    objects = PolicyQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "policies"
        constraints = [
            models.UniqueConstraint(
                fields=["scope"],
                condition=Q(scope="global"),
                name="policy_one_global",
                violation_error_message="There is already a global policy.",
            ),
            models.CheckConstraint(
                condition=(
                    Q(scope="global", product=None, api=None, operation=None)
                    | Q(scope="product", product__isnull=False, api=None, operation=None)
                    | Q(scope="api", product=None, api__isnull=False, operation=None)
                    | Q(scope="operation", product=None, api=None, operation__isnull=False)
                ),
                name="policy_one_scope",
            ),
        ]

    def __str__(self) -> str:
        return self.scope_label

    def save(self, *args, **kwargs) -> None:
        self.scope = self.scope_of()
        super().save(*args, **kwargs)

    def scope_of(self) -> str:
        if self.operation_id:
            return self.OPERATION
        if self.api_id:
            return self.API
        if self.product_id:
            return self.PRODUCT
        return self.GLOBAL

    @property
    def scope_label(self) -> str:
        scope = self.scope_of()
        if scope == self.OPERATION:
            return f"operation {self.operation.api.slug}/{self.operation.slug}"
        if scope == self.API:
            return f"API {self.api.slug}"
        if scope == self.PRODUCT:
            return f"product {self.product.slug}"
        return "global"


name_validator = RegexValidator(
    "^" + document.NAME_RE.pattern,
    "Use letters, digits, '.', '-' and '_' only (at most 256).",
)


def _fernet():
    return crypto.fernet(b"named-values")


class NamedValue(models.Model):
    """A name/value pair policies refer to as {{name}}. A secret's value is
    stored encrypted (with a key derived as subscription keys' are) and is
    never shown again once saved."""

    name = models.CharField(max_length=256, unique=True, validators=[name_validator])
    secret = models.BooleanField(default=False, help_text="Stored encrypted and never shown again after saving.")
    # The value itself when not secret; the Fernet token when secret.
    stored = models.TextField(blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "named value"

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        # Never the value: this may end up in a log or a traceback.
        return f"<NamedValue {self.name}{' (secret)' if self.secret else ''}>"

    def set_value(self, value: str) -> None:
        self.stored = _fernet().encrypt(value.encode()).decode() if self.secret else value

    @property
    def value(self) -> str:
        """The value in clear; "" for a secret encrypted under another key
        (KEY_ENCRYPTION_KEY or SECRET_KEY changed): it must be typed again."""
        if not self.secret:
            return self.stored
        try:
            return _fernet().decrypt(self.stored.encode()).decode()
        except InvalidToken:
            return ""

    @property
    def shown(self) -> str:
        return "••••••" if self.secret else self.stored
