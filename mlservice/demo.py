"""The guide's web service: SimpleFeatureHashingExperiment (Col2, bitsize 3, N-grams 2).

Idempotent: ids and keys stay what they were on the first load, so clients
and the console keep working across `make run`s.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time

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


DEMO_CONTAINER = "demo"
DEMO_ROWS = ["This is a good day", "This book was a great read", "Not worth the money, sadly"]


def demo_input() -> str:
    """The demo's input.csv, written by the csv module: a text with a comma must be quoted."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Col2"])
    writer.writerows([text] for text in DEMO_ROWS)
    return out.getvalue()


DEMO_INPUT = demo_input()
# What earlier versions uploaded: its last line has an unquoted comma, so the
# worker refused it ("Line 4 of the input file has 2 fields"). Replaced when found.
BROKEN_DEMO_INPUTS = {b"Col2\nThis is a good day\nThis book was a great read\nNot worth the money, sadly\n"}


def bes_example() -> str:
    connection = settings.MLSERVICE_DEMO_CONNECTION_STRING
    body = {
        "Input": {"ConnectionString": connection, "RelativeLocation": f"/{DEMO_CONTAINER}/input.csv"},
        "Outputs": {"output1": {"ConnectionString": connection, "RelativeLocation": f"/{DEMO_CONTAINER}/results.csv"}},
        "GlobalParameters": {},
    }
    return json.dumps(body, indent=2)


def prefill_console(api, service: WebService) -> None:
    """Default the demo operations' workspace and service parameters to the demo's ids,
    and make BES Submit's example point at the local Azurite's demo input.

    The API key is not prefilled: parameter defaults are shown to every developer.
    (The Azurite key in the example is the public, well-known development key.)
    """
    from apis.models import Parameter, RequestRepresentation

    RequestRepresentation.objects.filter(
        operation__api=api, operation__url_template__endswith="/jobs?api-version={apiversion}"
    ).update(example=bes_example())

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


log = logging.getLogger(__name__)


def is_broken(blob) -> bool:
    return blob.get_blob_properties().size < 1024 and blob.download_blob().readall() in BROKEN_DEMO_INPUTS


def ensure_demo_input(*, attempts: int = 20, wait: float = 1.0) -> bool:
    """Upload the demo input CSV to the demo storage if it is not there yet.

    Called by the worker as it starts (in a thread): under `make run` Azurite
    starts at the same time, so it is tried for a while. Best effort only.
    """
    from azure.core.exceptions import AzureError
    from azure.storage.blob import BlobServiceClient

    for _ in range(attempts):
        try:
            client = BlobServiceClient.from_connection_string(
                settings.MLSERVICE_DEMO_CONNECTION_STRING, connection_timeout=2, read_timeout=5, retry_total=0
            )
            container = client.get_container_client(DEMO_CONTAINER)
            if not container.exists():
                container.create_container()
            blob = container.get_blob_client("input.csv")
            if not blob.exists() or is_broken(blob):
                blob.upload_blob(DEMO_INPUT.encode(), overwrite=True)
                log.info("mlservice: uploaded the demo input to /%s/input.csv", DEMO_CONTAINER)
            return True
        except (AzureError, ValueError):
            time.sleep(wait)
    return False
