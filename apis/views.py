"""The developer portal's catalog pages: home, APIs, an API, an operation, products.

Each page runs a fixed number of queries whatever the catalog's size
(prefetching the related rows it shows), and the APIs list answers htmx
searches with just its results partial.
"""

from __future__ import annotations

import json

import yaml
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from apis import openapi_export, samples, schemas
from apis.models import Api, Operation, Parameter, Product
from subscriptions.keys import KEY_HEADER, KEY_QUERY_PARAMETER


def _apis(request: HttpRequest):
    return Api.objects.visible_to(request.user)


def _products(request: HttpRequest):
    if request.user.is_staff:
        return Product.objects.all()
    return Product.objects.filter(published=True)


def with_operation_count(apis):
    # A correlated subquery rather than JOIN + GROUP BY: the database counts
    # operations only for the rows it returns, not for the whole catalog.
    count = Operation.objects.filter(api=OuterRef("pk")).order_by().values("api").annotate(n=Count("*")).values("n")
    return apis.annotate(operation_count=Coalesce(Subquery(count, output_field=IntegerField()), Value(0)))


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    apis = with_operation_count(_apis(request)).order_by("name")[:6]
    products = _products(request)[:3]
    return render(request, "apis/home.html", {"apis": apis, "products": products})


@require_safe
def api_list(request: HttpRequest) -> HttpResponse:
    # NUL cannot be searched for (PostgreSQL refuses it in text): dropped.
    q = request.GET.get("q", "").replace("\x00", "").strip()[:200]
    product_slug = request.GET.get("product", "").strip()
    products = list(_products(request))
    # Ordered explicitly: Meta.ordering is not applied to aggregate queries.
    apis = (
        with_operation_count(_apis(request))
        .prefetch_related(Prefetch("products", queryset=_products(request)))
        .order_by("name", "id")
    )
    if q:
        apis = apis.filter(Q(name__icontains=q) | Q(description__icontains=q) | Q(path__icontains=q))
    product = None
    if product_slug:
        product = next((p for p in products if p.slug == product_slug), None)
        # An unknown product filters to nothing rather than being silently ignored.
        apis = apis.filter(products=product) if product else apis.none()
    page = Paginator(apis, 50).get_page(request.GET.get("page"))
    ctx = {"page": page, "q": q, "products": products, "product": product, "product_slug": product_slug, "nav": "apis"}
    template = "apis/api_list.html#results" if request.htmx else "apis/api_list.html"
    return render(request, template, ctx)


@require_safe
def api_detail(request: HttpRequest, api_slug: str) -> HttpResponse:
    api = get_object_or_404(_apis(request).defer("components").prefetch_related("products"), slug=api_slug)
    # Only the columns the list shows: an imported API's descriptions can be long.
    operations = list(
        api.operations.only(
            "id", "api_id", "slug", "method", "url_template", "display_name", "order", "tags", "deprecated"
        )
    )
    products = [p for p in api.products.all() if p.published or request.user.is_staff]
    ctx = {
        "api": api,
        "operations": operations,
        "groups": api.operation_groups(operations),
        "products": products,
        "nav": "apis",
    }
    return render(request, "apis/api_detail.html", ctx)


@require_safe
def operation_detail(request: HttpRequest, api_slug: str, operation_slug: str) -> HttpResponse:
    api = get_object_or_404(_apis(request).defer("components").prefetch_related("products"), slug=api_slug)
    components = api.schema_components()
    operation = get_object_or_404(
        Operation.objects.prefetch_related("parameters", "representations", "responses__representations"),
        api=api,
        slug=operation_slug,
    )
    operation.api = api  # loaded once: an imported API's components can be large
    # The sidebar lists the API's other operations; only the columns it shows.
    siblings = api.operations.only("id", "api_id", "slug", "method", "display_name", "order", "deprecated")
    params = list(operation.parameters.all())
    for p in params:
        p.node = schemas.tree(p.schema, components, max_nodes=20)
    ctx = {
        "api": api,
        "operation": operation,
        "siblings": siblings,
        "template_params": [p for p in params if p.location == Parameter.TEMPLATE],
        "query_params": [p for p in params if p.location == Parameter.QUERY],
        "header_params": [p for p in params if p.location == Parameter.HEADER],
        "products": [p for p in api.products.all() if p.published or request.user.is_staff],
        "bodies": [body_docs(r, components, f"req{i}") for i, r in enumerate(operation.representations.all())],
        "responses": response_docs(operation, components),
        "nav": "apis",
    }
    return render(request, "apis/operation_detail.html", ctx)


def body_docs(rep, components: dict, prefix: str, direction: str = "request") -> dict:
    """A body's schema tree and examples, built once for the page; without
    examples, one generated from the schema."""
    examples = rep.example_bodies()
    if not examples and rep.schema:
        text = samples.body_text(samples.sample(rep.schema, components, direction=direction), rep.content_type)
        if text:
            examples = [{"name": "generated", "summary": "Example generated from the schema", "body": text}]
    return {
        "rep": rep,
        "prefix": prefix,
        "tree": schemas.tree(rep.schema, components, prefix=prefix),
        "examples": examples,
    }


def response_docs(operation: Operation, components: dict) -> list[dict]:
    out = []
    for resp in operation.responses.all():
        headers = resp.headers if isinstance(resp.headers, dict) else {}
        out.append(
            {
                "response": resp,
                "headers": [
                    {
                        "name": name,
                        "description": (h or {}).get("description", ""),
                        "required": (h or {}).get("required") is True,
                        "node": schemas.tree((h or {}).get("schema"), components, max_nodes=20),
                    }
                    for name, h in headers.items()
                ],
                "bodies": [
                    body_docs(r, components, f"resp{resp.status_code}-{i}", "response")
                    for i, r in enumerate(resp.representations.all())
                ],
            }
        )
    return out


PRODUCT_CARD_APIS = 8


@require_safe
def product_list(request: HttpRequest) -> HttpResponse:
    # Each card names a few of its APIs (a sliced prefetch: one query for all
    # cards) and counts the rest.
    products = (
        _products(request)
        .annotate(api_count=Count("apis", filter=Q(apis__in=_apis(request))))
        .prefetch_related(
            Prefetch("apis", queryset=_apis(request).order_by("name")[:PRODUCT_CARD_APIS], to_attr="some_apis")
        )
        .order_by("order", "name")
    )
    return render(request, "apis/product_list.html", {"products": products, "nav": "products"})


@require_safe
def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    product = get_object_or_404(_products(request), slug=slug)
    apis = with_operation_count(_apis(request).filter(products=product)).order_by("name")
    return render(request, "apis/product_detail.html", {"product": product, "apis": apis, "nav": "products"})


# The four downloadable descriptions: URL name → (format, file name).
EXPORTS = {
    "openapi.json": ("3.1", "json"),
    "openapi.yaml": ("3.1", "yaml"),
    "openapi-3.0.json": ("3.0", "json"),
    "swagger.json": ("2.0", "json"),
}


def export_document(api: Api, version: str) -> dict:
    operations = api.operations.prefetch_related("parameters", "representations", "responses__representations")
    # How callers send their key to the gateway (subscriptions/keys.py, plain Python).
    doc = openapi_export.document(
        api, operations, gateway_url=api.gateway_url, key_header=KEY_HEADER, key_param=KEY_QUERY_PARAMETER
    )
    if version == "3.0":
        return openapi_export.to_30(doc)
    if version == "2.0":
        return openapi_export.to_20(doc)
    return doc


@require_safe
def api_export(request: HttpRequest, api_slug: str, filename: str) -> HttpResponse:
    """The API's description, for anyone who may see its page, once it is published."""
    version, kind = EXPORTS[filename]
    api = get_object_or_404(_apis(request).filter(published=True), slug=api_slug)
    doc = export_document(api, version)
    if kind == "yaml":
        body = yaml.dump(doc, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True)
        content_type = "application/yaml; charset=utf-8"
    else:
        body = json.dumps(doc, indent=2, ensure_ascii=False)
        content_type = "application/json"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{api.slug}-{filename}"'
    return response
