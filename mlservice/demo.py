"""The guide's web service: SimpleFeatureHashingExperiment (Col2, bitsize 3, N-grams 2).

Idempotent: ids and keys stay what they were on the first load, so clients
and the console keep working across `make run`s.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from mlservice.models import WebService

DEMO_NAME = "SimpleFeatureHashingExperiment"


@transaction.atomic
def load(api=None) -> WebService:
    service = WebService.objects.filter(name=DEMO_NAME).order_by("id").first()
    if service is None:
        service = WebService(name=DEMO_NAME)
    service.description = (
        "The guide's experiment: Feature Hashing of the Col2 text column of the Book Reviews from Amazon "
        "sample, hashing bitsize 3 (8 columns), unigrams and bigrams."
    )
    service.target_column, service.bits, service.ngrams = "Col2", 3, 2
    service.save()
    if api is not None:
        prefill_console(api, service)
    return service


def prefill_console(api, service: WebService) -> None:
    """Default the demo operations' workspace and service parameters to the demo's ids.

    The API key is not prefilled: parameter defaults are shown to every developer.
    """
    from apis.models import Parameter

    Parameter.objects.filter(operation__api=api, name="workspace", location=Parameter.TEMPLATE).update(
        default_value=service.workspace_id
    )
    Parameter.objects.filter(operation__api=api, name="service", location=Parameter.TEMPLATE).update(
        default_value=service.service_id
    )


def summary(service: WebService) -> dict:
    return {
        "name": service.name,
        "workspace_id": service.workspace_id,
        "service_id": service.service_id,
        "api_key": service.primary_key,
        "url": f"{settings.MLSERVICE_URL}{service.base_path}",
        "storage_connection_string": settings.MLSERVICE_DEMO_CONNECTION_STRING,
    }


def describe(service: WebService) -> str:
    return (
        f"Web service {service.name}:\n"
        f"  workspace id: {service.workspace_id}\n"
        f"  service id:   {service.service_id}\n"
        f"  API key:      {service.primary_key}\n"
        f"  RRS:          {settings.MLSERVICE_URL}{service.base_path}/execute?api-version=2.0&details=true"
    )
