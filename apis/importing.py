"""Apply an OpenAPI import plan (apis/openapi.py) to the catalog, in one transaction.

Operations are matched by their key (else by verb and URL template, for
operations typed in admin) and updated in place: ids, slugs and parameter ids
stay, descriptions an admin typed survive where the document has none, and
what the new document no longer has is removed. A dry run does the same work
and rolls it back, so a preview lists exactly what "Apply" will do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_slug
from django.db import DataError, IntegrityError, transaction
from django.utils.text import slugify

from apis import openapi
from apis.models import Api, Operation, Parameter, Product, RequestRepresentation, Response, ResponseRepresentation


@dataclass
class Change:
    verb: str  # added, changed or removed
    method: str
    url_template: str
    display_name: str

    def __str__(self) -> str:
        return f"{self.verb:<8} {self.method} {self.url_template}  ({self.display_name})"


@dataclass
class Report:
    api: Api
    created: bool
    api_changed: bool
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unchanged: int = 0

    def count(self, verb: str) -> int:
        return sum(1 for c in self.changes if c.verb == verb)

    @property
    def summary(self) -> str:
        return (
            f"{self.api.name}: {self.count('added')} added, {self.count('changed')} changed, "
            f"{self.count('removed')} removed, {self.unchanged} unchanged"
            f"{'' if self.api_changed or self.created else '; API details unchanged'}"
        )


class _DryRun(Exception):
    pass


def import_document(
    data: bytes | str,
    *,
    api: Api | None = None,
    slug: str = "",
    name: str = "",
    suffix: str = "",
    service_url: str = "",
    products: list[Product] | None = None,
    publish: bool = False,
    dry_run: bool = False,
) -> Report:
    """Read, map and apply a document; DocumentError for anything that cannot be imported."""
    document = openapi.read(data)
    if api is None and slug:
        api = Api.objects.filter(slug=slug).first()
    plan = openapi.plan(
        document, name=name, suffix=suffix, given_service_url=service_url, existing_suffix=api.path if api else ""
    )
    # An API's name and backend stay as they are on a re-import unless new ones are given.
    if api is not None and not name:
        plan.name = api.name
    if api is not None and not service_url:
        plan.service_url = api.service_url
    return apply(plan, api=api, slug=slug, products=products or [], publish=publish, dry_run=dry_run)


def apply(
    plan: openapi.ApiPlan,
    *,
    api: Api | None = None,
    slug: str = "",
    products: list[Product] | None = None,
    publish: bool = False,
    dry_run: bool = False,
) -> Report:
    report: Report | None = None
    try:
        with transaction.atomic():
            report = _apply(plan, api=api, slug=slug, products=products or [], publish=publish)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    except (IntegrityError, DataError) as e:
        raise openapi.DocumentError(f"The catalog refused the import: {e}") from e
    assert report is not None
    return report


def _check_service_url(url: str) -> str:
    if not url:
        raise openapi.DocumentError(
            "The document names no server: give the web service URL (--service-url) the gateway forwards to."
        )
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as e:
        raise openapi.DocumentError(
            f"The web service URL '{url}' is not an absolute http(s) URL"
            " (a relative server URL needs --service-url to be joined to)."
        ) from e
    if len(url) > Api._meta.get_field("service_url").max_length:
        raise openapi.DocumentError(
            f"The web service URL is longer than {Api._meta.get_field('service_url').max_length} characters."
        )
    return url


def _apply(plan: openapi.ApiPlan, *, api: Api | None, slug: str, products: list[Product], publish: bool) -> Report:
    service_url = _check_service_url(plan.service_url)
    try:
        Api._meta.get_field("path").run_validators(plan.suffix)
    except ValidationError as e:
        raise openapi.DocumentError(f"The URL suffix '{plan.suffix}' cannot be used: {' '.join(e.messages)}") from e
    if len(plan.suffix) > Api._meta.get_field("path").max_length:
        raise openapi.DocumentError(f"The URL suffix '{plan.suffix}' is longer than 100 characters.")
    created = api is None
    if created and slug:
        try:
            validate_slug(slug)
        except ValidationError as e:
            raise openapi.DocumentError(f"'{slug}' cannot be an API's slug: {' '.join(e.messages)}") from e
        if len(slug) > Api._meta.get_field("slug").max_length:
            raise openapi.DocumentError(f"The slug '{slug[:20]}...' is longer than 100 characters.")
    if api is None:
        api = Api(slug=slug, published=publish)
    fields = {
        "name": plan.name,
        "service_url": service_url,
        "path": plan.suffix,
        "version": plan.version,
        "components": plan.components,
        "tags": plan.tags,
    }
    if plan.description:
        fields["description"] = plan.description
    api_changed = any(getattr(api, k) != v for k, v in fields.items()) or (publish and not api.published)
    for k, v in fields.items():
        setattr(api, k, v)
    if publish:
        api.published = True
    if Api.objects.exclude(pk=api.pk).filter(path=api.path).exists():
        raise openapi.DocumentError(
            f"Another API already uses the URL suffix '{api.path}': give another with --suffix."
        )
    if created:
        api.slug = api.slug or slugify(api.name)[:100] or slugify(api.path)
        if Api.objects.filter(slug=api.slug).exists():
            raise openapi.DocumentError(
                f"An API with the slug '{api.slug}' already exists: name it (--api {api.slug}) to update it."
            )
    if api_changed or created:
        api.save()
    if products:
        api.products.add(*products)
    report = Report(api=api, created=created, api_changed=api_changed, warnings=plan.warnings)

    existing = list(api.operations.prefetch_related("parameters", "representations", "responses__representations"))
    by_key = {op.key: op for op in existing if op.key}
    by_signature = {(op.method, op.url_template): op for op in existing}
    matched: list[tuple[openapi.OperationPlan, Operation | None]] = []
    used: set[int] = set()
    for planned in plan.operations:
        op = by_key.get(planned.key)
        if op is None:
            candidate = by_signature.get((planned.method, planned.url_template))
            if (
                candidate is not None
                and candidate.pk not in used
                and (not candidate.key or candidate.key == planned.key)
            ):
                op = candidate
        if op is not None and op.pk in used:
            op = None
        if op is not None:
            used.add(op.pk)
        matched.append((planned, op))

    removed = [op for op in existing if op.pk not in used]
    for op in removed:
        report.changes.append(Change("removed", op.method, op.url_template, op.display_name))
        op.delete()
    # Templates move between operations on a re-import; park the moving ones so
    # the (api, verb, template) constraint holds at every step.
    for planned, op in matched:
        if op is not None and (op.method, op.url_template) != (planned.method, planned.url_template):
            Operation.objects.filter(pk=op.pk).update(url_template=f"/--portico-import--/{op.pk}")

    for position, (planned, op) in enumerate(matched):
        if op is None:
            op = Operation(api=api)
            changed = True
        else:
            changed = False
        changed |= _set(op, "key", planned.key)
        changed |= _set(op, "method", planned.method)
        changed |= _set(op, "url_template", planned.url_template) or op.url_template.startswith("/--portico-import--/")
        op.url_template = planned.url_template
        changed |= _set(op, "display_name", planned.display_name)
        if planned.description:
            changed |= _set(op, "description", planned.description)
        changed |= _set(op, "tags", planned.tags)
        changed |= _set(op, "deprecated", planned.deprecated)
        is_new = op.pk is None
        # A new position alone (an operation added or removed before it) is
        # saved but not reported as a change.
        moved = _set(op, "order", position)
        if changed or moved:
            op.save()
        changed |= _parameters(op, planned.parameters)
        changed |= _representations(op, planned.representations, is_new)
        changed |= _responses(op, planned.responses, is_new)
        if is_new:
            report.changes.append(Change("added", op.method, op.url_template, op.display_name))
        elif changed:
            report.changes.append(Change("changed", op.method, op.url_template, op.display_name))
        else:
            report.unchanged += 1
    return report


def _set(obj, name: str, value) -> bool:
    if getattr(obj, name) == value:
        return False
    setattr(obj, name, value)
    return True


def _parameters(op: Operation, planned: list[openapi.ParameterPlan]) -> bool:
    # Read afresh: Operation.save has just created the template's new
    # parameters. Each keeps its id as long as its place and name stay.
    current = {(p.location, p.name): p for p in Parameter.objects.filter(operation=op)}
    changed = False
    for position, p in enumerate(planned):
        param = current.pop((p.location, p.name), None)
        new = param is None
        if new:
            param = Parameter(operation=op, name=p.name, location=p.location)
        dirty = new
        for name in ("type", "default_value", "allowed_values", "required", "deprecated", "schema"):
            dirty |= _set(param, name, getattr(p, name))
        if p.description:
            dirty |= _set(param, "description", p.description)
        dirty |= _set(param, "order", position)
        if dirty:
            param.save()
            changed = True
    for param in current.values():
        param.delete()
        changed = True
    return changed


def _representations(op: Operation, planned: list[openapi.BodyPlan], is_new: bool) -> bool:
    current = [] if is_new else list(op.representations.all())
    return _sync_bodies(current, planned, lambda: RequestRepresentation(operation=op))


def _sync_bodies(current: list, planned: list[openapi.BodyPlan], make) -> bool:
    by_type = {r.content_type: r for r in current}
    changed = False
    for body in planned:
        rep = by_type.pop(body.content_type, None)
        dirty = rep is None
        if rep is None:
            rep = make()
            rep.content_type = body.content_type
        dirty |= _set(rep, "schema", body.schema)
        dirty |= _set(rep, "examples", body.examples)
        dirty |= _set(rep, "example", body.example)
        if dirty:
            rep.save()
            changed = True
    for rep in by_type.values():
        rep.delete()
        changed = True
    return changed


def _responses(op: Operation, planned: list[openapi.ResponsePlan], is_new: bool) -> bool:
    current = {} if is_new else {r.status_code: r for r in op.responses.all()}
    changed = False
    for p in planned:
        response = current.pop(p.status_code, None)
        new = response is None
        dirty = new
        if response is None:
            response = Response(operation=op, status_code=p.status_code)
        if p.description:
            dirty |= _set(response, "description", p.description)
        dirty |= _set(response, "headers", p.headers)
        if dirty:
            response.save()
            changed = True
        reps = [] if new else list(response.representations.all())
        changed |= _sync_bodies(reps, p.representations, lambda r=response: ResponseRepresentation(response=r))
    for response in current.values():
        response.delete()
        changed = True
    return changed
