"""Which API and operation a gateway request is for, without a query per call.

Each process keeps the whole catalog's routes in memory (catalogs are small:
a few APIs, tens of operations), built with three queries. It is rebuilt when
the catalog changes: at once in the process where the change was saved (the
signals below), and within CHECK_INTERVAL seconds in every other process,
which compares one cheap aggregate of Api.updated against what it built from.
The signals touch Api.updated whenever an operation or an API's products
change, so that aggregate moves with every change that matters here.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.db.models import Count, Max
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from apis import urltemplate
from apis.models import Api, Operation, Product

CHECK_INTERVAL = 1.0
# Where the gateway is mounted, under the script prefix (portal/urls.py).
GATEWAY_ROOT = "gateway/"


@dataclass(frozen=True)
class ApiRoute:
    id: int
    path: str
    service_url: str
    url_schemes: tuple[str, ...]
    subscription_required: bool
    product_ids: frozenset[int]
    router: urltemplate.Router[int]  # keys are Operation ids


class _Catalog:
    def __init__(self) -> None:
        self.routes: dict[str, ApiRoute] | None = None
        self.version: tuple | None = None
        self.checked = 0.0
        self.lock = threading.Lock()

    def get(self, suffix: str) -> ApiRoute | None:
        now = time.monotonic()
        if self.routes is None or now - self.checked > CHECK_INTERVAL:
            with self.lock:
                if self.routes is None or now - self.checked > CHECK_INTERVAL:
                    version = _version()
                    if self.routes is None or version != self.version:
                        self.routes, self.version = _build(), version
                    self.checked = now
        return self.routes.get(suffix)  # type: ignore[union-attr]

    def fresh_routes(self) -> dict[str, ApiRoute] | None:
        """The routes when no check is due (nothing to wait for), else None."""
        routes = self.routes
        if routes is None or time.monotonic() - self.checked > CHECK_INTERVAL:
            return None
        return routes

    def clear(self) -> None:
        with self.lock:
            self.routes = None


catalog = _Catalog()


def route_for(suffix: str) -> ApiRoute | None:
    return catalog.get(suffix)


def _version() -> tuple:
    return tuple(Api.objects.aggregate(updated=Max("updated"), count=Count("id")).values())


def _build() -> dict[str, ApiRoute]:
    products: dict[int, set[int]] = {}
    for api_id, product_id in Api.products.through.objects.values_list("api_id", "product_id"):
        products.setdefault(api_id, set()).add(product_id)
    operations: dict[int, list[tuple[str, urltemplate.UrlTemplate, int]]] = {}
    for op_id, api_id, method, template in Operation.objects.values_list("id", "api_id", "method", "url_template"):
        try:
            parsed = urltemplate.parse(template)
        except urltemplate.TemplateError:
            continue  # an invalid template saved around validation answers nothing
        operations.setdefault(api_id, []).append((method, parsed, op_id))
    routes = {}
    for api in Api.objects.only("id", "path", "service_url", "url_schemes", "subscription_required"):
        routes[api.path] = ApiRoute(
            id=api.id,
            path=api.path,
            service_url=api.service_url.rstrip("/"),
            url_schemes=tuple(s.strip() for s in api.url_schemes.split(",") if s.strip()),
            subscription_required=api.subscription_required,
            product_ids=frozenset(products.get(api.id, ())),
            router=urltemplate.Router(operations.get(api.id, [])),
        )
    return routes


def _touch(api_ids) -> None:
    Api.objects.filter(pk__in=list(api_ids)).update(updated=timezone.now())


@receiver([post_save, post_delete], sender=Api)
def _api_changed(sender, **kwargs) -> None:
    catalog.clear()


@receiver([post_save, post_delete], sender=Operation)
def _operation_changed(sender, instance, **kwargs) -> None:
    if instance.api_id:
        _touch([instance.api_id])
    catalog.clear()


@receiver(m2m_changed, sender=Api.products.through)
def _products_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if not action.startswith("post_"):
        return
    if reverse:  # product.apis.add(...): instance is the Product
        _touch(pk_set or instance.apis.values_list("pk", flat=True))
    else:
        _touch([instance.pk])
    catalog.clear()


@receiver(post_delete, sender=Product)
def _product_deleted(sender, **kwargs) -> None:
    catalog.clear()
