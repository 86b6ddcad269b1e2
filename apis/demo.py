"""The walkthrough's demo: the AzureML Demo API and the Starter and Unlimited products.

Idempotent: running it again brings the rows back to these values without
duplicating anything, and leaves whatever else an admin added alone.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from apis.models import Api, Operation, Parameter, Product, RequestRepresentation

RRS_EXAMPLE = """{
  "Inputs": {
    "input1": {
      "ColumnNames": ["Col2"],
      "Values": [["This is a good day"]]
    }
  },
  "GlobalParameters": {}
}"""

BES_EXAMPLE = """{
  "Input": {
    "ConnectionString": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=...;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
    "RelativeLocation": "/demo/input.csv"
  },
  "Outputs": {
    "output1": {
      "ConnectionString": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=...;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
      "RelativeLocation": "/demo/results.csv"
    }
  },
  "GlobalParameters": {}
}"""

# (display name, verb, URL template, description, request example)
OPERATIONS = [
    (
        "RRS Execute",
        "POST",
        "/workspaces/{workspace}/services/{service}/execute?api-version={apiversion}&details={details}",
        "Request-response: score rows synchronously and get the hashed features back.",
        RRS_EXAMPLE,
    ),
    (
        "BES Submit",
        "POST",
        "/workspaces/{workspace}/services/{service}/jobs?api-version={apiversion}",
        "Batch: submit a job over a CSV blob. The answer is the job id, as a JSON string.",
        BES_EXAMPLE,
    ),
    (
        "BES Start",
        "POST",
        "/workspaces/{workspace}/services/{service}/jobs/{jobid}/start?api-version={apiversion}",
        "Batch: start a submitted job.",
        None,
    ),
    (
        "BES Status",
        "GET",
        "/workspaces/{workspace}/services/{service}/jobs/{jobid}?api-version={apiversion}",
        "Batch: a job's status, and its results once it has finished.",
        None,
    ),
    (
        "BES Delete",
        "DELETE",
        "/workspaces/{workspace}/services/{service}/jobs/{jobid}?api-version={apiversion}",
        "Batch: cancel and delete a job.",
        None,
    ),
]

PARAMETER_DOCS = {
    "workspace": ("The workspace id of the web service.", ""),
    "service": ("The service id of the web service.", ""),
    "apiversion": ("The version of the web-service API.", "2.0"),
    "details": ("true to get the column types with the results.", "true"),
    "jobid": ("The job id returned by BES Submit.", ""),
}


@transaction.atomic
def load() -> Api:
    starter, _ = Product.objects.update_or_create(
        slug="starter",
        defaults={
            "name": "Starter",
            "description": "Try the APIs: 5 calls a minute, 100 calls a week. Subscribe and get your keys at once.",
            "subscription_required": True,
            "approval_required": False,
            "published": True,
            "rate_limit_calls": 5,
            "rate_limit_period": 60,
            "quota_calls": 100,
            "quota_period": 7 * 24 * 3600,
            "subscriptions_limit": 1,
            "order": 1,
        },
    )
    unlimited, _ = Product.objects.update_or_create(
        slug="unlimited",
        defaults={
            "name": "Unlimited",
            "description": "No rate limit and no quota, for production use. Subscriptions are approved by an administrator.",
            "subscription_required": True,
            "approval_required": True,
            "published": True,
            "rate_limit_calls": None,
            "rate_limit_period": None,
            "quota_calls": None,
            "quota_period": None,
            "subscriptions_limit": None,
            "order": 2,
        },
    )
    api, _ = Api.objects.update_or_create(
        path="azureml-demo",
        defaults={
            "name": "AzureML Demo API",
            "slug": "azureml-demo-api",
            "description": (
                "The Feature Hashing experiment of the AzureML Studio guide, published as a web service: "
                "a column of free text in, 2^bits integer columns of hashed unigrams and bigrams out. "
                "Call it one request at a time (RRS) or over a CSV file in blob storage (BES)."
            ),
            "service_url": settings.MLSERVICE_URL,
            "url_schemes": "https",
            "subscription_required": True,
            "published": True,
        },
    )
    # Both products give access to the demo API: a product with no API would offer nothing to subscribe to.
    api.products.add(starter, unlimited)
    for order, (name, method, template, description, example) in enumerate(OPERATIONS):
        operation, _ = Operation.objects.update_or_create(
            api=api,
            method=method,
            url_template=template,
            defaults={"display_name": name, "description": description, "order": order},
        )
        operation.add_ok_response()
        for param in operation.parameters.exclude(location=Parameter.HEADER):
            doc, default = PARAMETER_DOCS.get(param.name, ("", ""))
            param.description, param.default_value = doc, default
            param.save(update_fields=["description", "default_value"])
        Parameter.objects.update_or_create(
            operation=operation,
            location=Parameter.HEADER,
            name="Authorization",
            defaults={
                "description": "Bearer followed by the web service's API key.",
                "required": True,
                "default_value": "Bearer ",
                "order": 100,
            },
        )
        if example is not None:
            RequestRepresentation.objects.update_or_create(
                operation=operation, content_type="application/json", defaults={"example": example}
            )
    return api
