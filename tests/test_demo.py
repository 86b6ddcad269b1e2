"""load_demo registers the walkthrough's API exactly, as often as it is run."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apis.models import Api, Operation, Product

pytestmark = pytest.mark.django_db

WALKTHROUGH = [
    (
        "RRS Execute",
        "POST",
        "/workspaces/{workspace}/services/{service}/execute?api-version={apiversion}&details={details}",
    ),
    ("BES Submit", "POST", "/workspaces/{workspace}/services/{service}/jobs?api-version={apiversion}"),
    ("BES Start", "POST", "/workspaces/{workspace}/services/{service}/jobs/{jobid}/start?api-version={apiversion}"),
    ("BES Status", "GET", "/workspaces/{workspace}/services/{service}/jobs/{jobid}?api-version={apiversion}"),
    ("BES Delete", "DELETE", "/workspaces/{workspace}/services/{service}/jobs/{jobid}?api-version={apiversion}"),
]


def test_it_registers_the_walkthrough_api_exactly():
    call_command("load_demo")
    api = Api.objects.get(path="azureml-demo")
    assert (api.name, api.url_schemes) == ("AzureML Demo API", "https")
    assert sorted(p.slug for p in api.products.all()) == ["starter", "unlimited"]
    assert [(o.display_name, o.method, o.url_template) for o in api.operations.all()] == WALKTHROUGH
    for operation in api.operations.all():
        assert [(r.status_code, r.description) for r in operation.responses.all()] == [("200", "OK")]
    rrs = api.operations.get(display_name="RRS Execute")
    assert '"Values": [["This is a good day"]]' in rrs.representations.get().example
    assert rrs.parameters.get(name="apiversion").default_value == "2.0"


def test_it_creates_the_starter_and_unlimited_products_with_their_limits():
    call_command("load_demo")
    starter = Product.objects.get(slug="starter")
    assert (starter.rate_limit_calls, starter.rate_limit_period) == (5, 60)
    assert (starter.quota_calls, starter.quota_period) == (100, 7 * 24 * 3600)
    assert not starter.approval_required
    unlimited = Product.objects.get(slug="unlimited")
    assert unlimited.approval_required and not unlimited.has_rate_limit and not unlimited.has_quota


def test_the_unlimited_product_lists_the_demo_api(client):
    call_command("load_demo")
    page = client.get("/products/unlimited/").content.decode()
    assert "AzureML Demo API" in page
    assert "AzureML Demo API" in client.get("/products/").content.decode().split("Unlimited", 1)[1]


def test_it_can_run_twice_without_duplicating_anything():
    call_command("load_demo")
    call_command("load_demo")
    assert Api.objects.count() == 1
    assert Operation.objects.count() == 5
    assert Product.objects.count() == 2
    assert Operation.objects.get(display_name="RRS Execute").parameters.count() == 5
