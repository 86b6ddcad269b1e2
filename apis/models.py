"""The API catalog: APIs, their operations, and the products that group them.

Shaped after API Management's publisher model: an Api is a set of Operations
proxied to one backend web service; each Operation has an HTTP verb and a URL
template whose parameters are kept as Parameter rows; Products bundle APIs and
carry the limits the gateway enforces.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.urls import reverse
from django.utils.text import slugify

from apis import headers, schemas, urltemplate

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]

suffix_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._~-]*\Z",
    "Use letters, digits, '-', '.', '_' and '~' only, starting with a letter or digit (no '/').",
)


def validate_url_template(value: str) -> None:
    try:
        urltemplate.parse(value)
    except urltemplate.TemplateError as e:
        raise ValidationError(str(e), code="url_template") from e


class Product(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    subscription_required = models.BooleanField(
        default=True, help_text="Callers need a subscription key of this product."
    )
    approval_required = models.BooleanField(
        default=False, help_text="New subscriptions wait for an administrator's approval."
    )
    published = models.BooleanField(default=True, help_text="Shown to developers in the portal.")
    rate_limit_calls = models.PositiveIntegerField(
        null=True, blank=True, help_text="Calls allowed per rate-limit period (sliding window). Empty: no limit."
    )
    rate_limit_period = models.PositiveIntegerField(
        null=True, blank=True, help_text="Rate-limit renewal period, in seconds."
    )
    quota_calls = models.PositiveIntegerField(
        null=True, blank=True, help_text="Calls allowed per quota period (fixed window from the subscription's start)."
    )
    quota_period = models.PositiveIntegerField(null=True, blank=True, help_text="Quota renewal period, in seconds.")
    # API Management's subscriptionsLimit: without it a developer could
    # multiply the limits above by subscribing again and again.
    subscriptions_limit = models.PositiveIntegerField(
        "number of subscriptions allowed per user",
        null=True,
        blank=True,
        help_text="Subscriptions a developer may hold at once (cancelled ones do not count). Empty: any number.",
    )
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if (self.rate_limit_calls is None) != (self.rate_limit_period is None):
            errors["rate_limit_period"] = "Set both the calls and the period of the rate limit, or neither."
        if (self.quota_calls is None) != (self.quota_period is None):
            errors["quota_period"] = "Set both the calls and the period of the quota, or neither."
        for name in ("rate_limit_period", "quota_period"):
            if getattr(self, name) == 0:
                errors[name] = "The period must be at least one second."
        if errors:
            raise ValidationError(errors)

    def get_absolute_url(self) -> str:
        return reverse("apis-product", args=[self.slug])

    @staticmethod
    def limit_applies(calls: int | None, period: int | None) -> bool:
        """The one rule for both limits: a limit with no period (or a zero
        one) is no limit."""
        return calls is not None and bool(period)

    @property
    def has_rate_limit(self) -> bool:
        return self.limit_applies(self.rate_limit_calls, self.rate_limit_period)

    @property
    def has_quota(self) -> bool:
        return self.limit_applies(self.quota_calls, self.quota_period)


# Api.schema_components: (pk, updated) -> parsed components, oldest first.
COMPONENTS_CACHE_SIZE = 16
_components_cache: dict[tuple, dict] = {}


class ApiQuerySet(models.QuerySet):
    def visible_to(self, user) -> ApiQuerySet:
        if user.is_staff:
            return self
        return self.filter(published=True)


class Api(models.Model):
    SCHEMES = [("https", "HTTPS"), ("http", "HTTP"), ("http,https", "HTTP and HTTPS")]

    name = models.CharField("web API name", max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    service_url = models.URLField(
        "web service URL", max_length=500, help_text="The backend the gateway forwards calls to."
    )
    path = models.CharField(
        "web API URL suffix",
        max_length=100,
        unique=True,
        validators=[suffix_validator],
        help_text="Callers reach the API at the gateway URL followed by this suffix.",
        error_messages={"unique": "Another API already uses this URL suffix."},
    )
    url_schemes = models.CharField("URL scheme", max_length=20, choices=SCHEMES, default="https")
    subscription_required = models.BooleanField(
        default=True, help_text="Callers must send a subscription key of a product that contains this API."
    )
    published = models.BooleanField(default=True)
    console_enabled = models.BooleanField(
        "Try It console", default=True, help_text="Developers can call the operations from the portal."
    )
    products = models.ManyToManyField(Product, related_name="apis", blank=True)
    # What an OpenAPI document brings beyond the operations. The reusable
    # schemas stay as the document had them (in OpenAPI 3.1 form, with
    # "#/components/schemas/..." references left in place), so a circular
    # schema is stored once and every consumer (the portal's schema tree, the
    # console's body generator, validation, mocks) resolves references itself.
    version = models.CharField(max_length=100, blank=True, help_text="The API's own version, from info.version.")
    components = models.JSONField(
        default=dict, blank=True, help_text="OpenAPI components (schemas, examples, ...) referenced by the operations."
    )
    tags = models.JSONField(
        default=list, blank=True, help_text='Operation groups, in order: [{"name": ..., "description": ...}].'
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = ApiQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = "API"

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            self.slug = slugify(self.name)[:100] or slugify(self.path)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("apis-api", args=[self.slug])

    @property
    def gateway_url(self) -> str:
        return f"{settings.GATEWAY_URL}/{self.path}"

    def schema_components(self) -> dict:
        """The components, parsed once per process for each saved version of the API.

        An imported API's components can be half a megabyte of JSON, and every
        operation page needs them: pages load the API with
        .defer("components") and ask here. The cache is checked against
        `updated` (read with the row), which every save moves on, so a process
        never shows components another one has replaced."""
        key = (self.pk, self.updated)
        components = _components_cache.get(key)
        if components is None:
            components = self.components if isinstance(self.components, dict) else {}
            if len(_components_cache) >= COMPONENTS_CACHE_SIZE:
                _components_cache.pop(next(iter(_components_cache)))
            _components_cache[key] = components
        return components

    def operation_groups(self, operations) -> list[tuple[dict, list[Operation]]]:
        """Operations grouped by tag: the API's tags in their order, then tags
        only operations name, then the untagged ones ({"name": ""}). An
        operation with two tags is listed under both, as OpenAPI tools do."""
        declared = (
            [t for t in self.tags if isinstance(t, dict) and t.get("name")] if isinstance(self.tags, list) else []
        )
        groups: dict[str, tuple[dict, list]] = {str(t["name"]): (t, []) for t in declared}
        untagged: list[Operation] = []
        for op in operations:
            names = [str(n) for n in op.tags if n] if isinstance(op.tags, list) else []
            for name in dict.fromkeys(names):
                groups.setdefault(name, ({"name": name}, []))[1].append(op)
            if not names:
                untagged.append(op)
        out = [(tag, ops) for tag, ops in groups.values() if ops]
        if untagged:
            out.append(({"name": ""}, untagged))
        return out

    @property
    def allowed_schemes(self) -> list[str]:
        return [s.strip() for s in self.url_schemes.split(",") if s.strip()]

    def served_schemes(self) -> tuple[str, str]:
        """What the gateway here really serves the API on, as (schemes, note), for its page.

        The gateway is reached at GATEWAY_URL and refuses a scheme the API does
        not allow only when GATEWAY_ENFORCE_SCHEME is on (the rule in gateway/views.py).
        """
        scheme = urlsplit(settings.GATEWAY_URL).scheme
        allowed = " and ".join(s.upper() for s in self.allowed_schemes) or "none"
        if scheme in self.allowed_schemes:
            return scheme.upper(), "" if allowed == scheme.upper() else f"The API allows {allowed}."
        if not settings.GATEWAY_ENFORCE_SCHEME:
            return scheme.upper(), (
                f"The API is published for {allowed} only; this gateway does not enforce it "
                "(GATEWAY_ENFORCE_SCHEME is off, as in local development)."
            )
        return (
            "none at this base URL",
            f"The API allows {allowed} only and this gateway is reached over {scheme.upper()}.",
        )


class Operation(models.Model):
    api = models.ForeignKey(Api, models.CASCADE, related_name="operations")
    method = models.CharField("HTTP verb", max_length=10, choices=[(m, m) for m in METHODS], default="GET")
    url_template = models.CharField(
        "URL template",
        max_length=urltemplate.MAX_TEMPLATE_LENGTH,
        validators=[validate_url_template],
        help_text="For example /users/{id}?api-version={apiversion}",
    )
    display_name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, blank=True)
    # The stable name re-imports match on: the normalised operationId, else
    # the verb and path. Empty for operations typed in admin.
    key = models.CharField(max_length=200, blank=True, db_index=True)
    description = models.TextField(blank=True)
    tags = models.JSONField(
        default=list, blank=True, help_text="Names of the API's tags this operation is listed under."
    )
    deprecated = models.BooleanField(default=False)
    order = models.PositiveIntegerField(default=0)
    console_enabled = models.BooleanField("Try It console", default=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["api", "method", "url_template"],
                name="operation_unique_signature",
                violation_error_message="This API already has an operation with this verb and URL template.",
            ),
            models.UniqueConstraint(fields=["api", "slug"], name="operation_unique_slug"),
            models.UniqueConstraint(
                fields=["api", "key"],
                condition=~models.Q(key=""),
                name="operation_unique_key",
                violation_error_message="This API already has an operation with this key.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.method} {self.url_template})"

    @property
    def template(self) -> urltemplate.UrlTemplate:
        return urltemplate.parse(self.url_template)

    def clean(self) -> None:
        # Two templates that differ only in parameter names would catch the same
        # requests: the second one could never be reached.
        if not self.api_id or not self.url_template:
            return
        try:
            mine = urltemplate.parse(self.url_template)
        except urltemplate.TemplateError:
            return  # reported on the field
        for other in self.api.operations.filter(method=self.method).exclude(pk=self.pk):
            try:
                theirs = urltemplate.parse(other.url_template)
            except urltemplate.TemplateError:
                continue
            if shape(mine) == shape(theirs):
                raise ValidationError(
                    {"url_template": f"'{other.display_name}' already answers {self.method} {other.url_template}."}
                )

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            self.slug = self.unique_slug()
        with transaction.atomic():
            super().save(*args, **kwargs)
            self.sync_parameters()

    def unique_slug(self) -> str:
        base = slugify(self.display_name)[:90] or self.method.lower()
        slug, n = base, 2
        while Operation.objects.filter(api_id=self.api_id, slug=slug).exclude(pk=self.pk).exists():
            slug, n = f"{base}-{n}", n + 1
        return slug

    def sync_parameters(self) -> None:
        """Create a Parameter for each template and query parameter, and remove
        those the template no longer has. Descriptions and defaults typed for a
        parameter are kept as long as its name stays. Optional query
        parameters are never removed here: an OpenAPI import declares them
        outside the template, and they are the admin's to keep or delete."""
        try:
            template = urltemplate.parse(self.url_template)
        except urltemplate.TemplateError:
            return
        wanted = [(name, Parameter.TEMPLATE) for name in template.path_params]
        wanted += [(name, Parameter.QUERY) for name in template.query_params]
        declared = {}
        existing = {}
        for p in self.parameters.exclude(location=Parameter.HEADER):
            if p.location == Parameter.QUERY and not p.required:
                declared[p.name] = p
            else:
                existing[p.name] = p
        for position, (name, location) in enumerate(wanted):
            param = existing.pop(name, None)
            if param is None and location == Parameter.QUERY:
                param = declared.pop(name, None)
            if param is None:
                Parameter.objects.create(operation=self, name=name, location=location, required=True, order=position)
            elif param.location != location or param.order != position:
                param.location, param.order = location, position
                param.save(update_fields=["location", "order"])
        for param in existing.values():
            param.delete()

    def get_absolute_url(self) -> str:
        return reverse("apis-operation", args=[self.api.slug, self.slug])

    @property
    def gateway_url_template(self) -> str:
        return self.api.gateway_url + self.url_template

    def add_ok_response(self) -> Response:
        response, _ = Response.objects.get_or_create(operation=self, status_code="200", defaults={"description": "OK"})
        return response


shape = urltemplate.shape


class Parameter(models.Model):
    TEMPLATE, QUERY, HEADER = "template", "query", "header"
    LOCATIONS = [(TEMPLATE, "template"), (QUERY, "query"), (HEADER, "header")]
    TYPES = [(t, t) for t in ("string", "number", "integer", "boolean")]

    operation = models.ForeignKey(Operation, models.CASCADE, related_name="parameters")
    name = models.CharField(max_length=200)
    location = models.CharField(max_length=10, choices=LOCATIONS, default=HEADER)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=10, choices=TYPES, default="string")
    default_value = models.CharField(max_length=1000, blank=True)
    allowed_values = models.TextField(blank=True, help_text="One value per line; empty for any value.")
    required = models.BooleanField(default=False)
    deprecated = models.BooleanField(default=False)
    # The parameter's JSON Schema (OpenAPI 3.1 form, references into
    # Api.components kept); type, default and allowed values above are the
    # simple view of it that admins edit and the console uses.
    schema = models.JSONField(default=dict, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["operation", "location", "name"],
                name="parameter_unique_name",
                violation_error_message="This operation already has a parameter with this name.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.location})"

    @property
    def choices(self) -> list[str]:
        """The allowed values: typed by an admin, else the schema's enum."""
        typed = [line.strip() for line in self.allowed_values.splitlines() if line.strip()]
        if typed:
            return typed
        enum = self.value_schema.get("enum")
        return [schemas.show(v) for v in enum if v is not None] if isinstance(enum, list) else []

    @property
    def value_schema(self) -> dict:
        """The schema a value is checked against: the stored one (a reference
        resolved), else the simple type an admin picked."""
        schema = self.schema if isinstance(self.schema, dict) else {}
        if "$ref" in schema:
            schema = schemas.resolve(schema["$ref"], self.operation.api.schema_components()) or {}
        return schema or {"type": self.type}

    def value_problem(self, text: str) -> str:
        """What is wrong with a value typed for this parameter, or ''."""
        return schemas.value_problem(text, self.value_schema, self.choices)

    def clean(self) -> None:
        if self.location == self.HEADER:
            if not headers.is_header_name(self.name):
                raise ValidationError({"name": headers.INVALID_NAME})
        if self.default_value and self.choices and self.default_value not in self.choices:
            raise ValidationError({"default_value": "The default must be one of the allowed values."})


class Representation(models.Model):
    content_type = models.CharField(max_length=200, default="application/json")
    example = models.TextField("example body", blank=True)
    schema = models.JSONField(default=dict, blank=True, help_text="JSON Schema of the body (OpenAPI 3.1 form).")
    # Named examples as OpenAPI has them: {name: {"summary": ..., "description": ..., "value": ...}}.
    # `example` above stays the default body the console starts from.
    examples = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.content_type

    def example_bodies(self) -> list[dict]:
        """The examples as body texts, in order: the named ones, else the one example body.

        [{"name", "summary", "description", "body"}]; the first is the one to start from.
        """
        named = self.examples if isinstance(self.examples, dict) else {}
        out = []
        for name, example in named.items():
            if not isinstance(example, dict) or "value" not in example:
                continue  # an externalValue, which the portal does not fetch
            value = example["value"]
            body = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
            out.append(
                {
                    "name": str(name),
                    "summary": str(example.get("summary") or name),
                    "description": str(example.get("description") or ""),
                    "body": body,
                }
            )
        # The example body is the default an admin may have edited: first,
        # unless it is one of the named examples already.
        if self.example and not any(same_body(self.example, e["body"]) for e in out):
            out.insert(0, {"name": "example", "summary": "Example", "description": "", "body": self.example})
        return out


def same_body(a: str, b: str) -> bool:
    if a.strip() == b.strip():
        return True
    try:
        return json.loads(a) == json.loads(b)
    except ValueError:
        return False


class RequestRepresentation(Representation):
    operation = models.ForeignKey(Operation, models.CASCADE, related_name="representations")

    class Meta:
        ordering = ["id"]
        verbose_name = "request representation"


status_validator = RegexValidator(
    r"^([1-5][0-9][0-9]|[1-5]XX|default)\Z", "Use a status code (100-599), a range such as 2XX, or 'default'."
)


class Response(models.Model):
    operation = models.ForeignKey(Operation, models.CASCADE, related_name="responses")
    # A string, as in OpenAPI: "200", a range "2XX", or "default". Ordered as
    # text, codes come first by value, then each range after its codes, then
    # "default".
    status_code = models.CharField(max_length=7, validators=[status_validator])
    description = models.TextField(blank=True)
    headers = models.JSONField(
        default=dict, blank=True, help_text='Response headers: {name: {"description": ..., "schema": {...}}}.'
    )

    class Meta:
        ordering = ["status_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["operation", "status_code"],
                name="response_unique_status",
                violation_error_message="This operation already has a response with this status code.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.status_code} {self.description}".strip()

    @property
    def outcome(self) -> str:
        """ok, warn or bad, for the status badge."""
        first = self.status_code[:1]
        return {"1": "ok", "2": "ok", "3": "ok", "4": "warn", "5": "bad"}.get(first, "ok")


class ResponseRepresentation(Representation):
    response = models.ForeignKey(Response, models.CASCADE, related_name="representations")

    class Meta:
        ordering = ["id"]
        verbose_name = "response representation"
