"""The demo: RRS Execute through the gateway with nothing but a subscription
key, the web service's own key added by the API's policy; the walkthrough's
way (typing the Authorization header) still works."""

from __future__ import annotations

import json

import pytest
import requests
from django.core.management import call_command

from apis.models import Api
from gateway import policy, routing
from policies.demo import KEY_NAME
from policies.models import NamedValue, Policy
from subscriptions.models import Subscription

pytestmark = pytest.mark.django_db(transaction=True)

GUIDE_FEATURES = ["1", "1", "2", "2", "0", "2", "0", "1"]
BODY = {"Inputs": {"input1": {"ColumnNames": ["Col2"], "Values": [["This is a good day"]]}}, "GlobalParameters": {}}


@pytest.fixture
def demo(live_server, settings, alice):
    settings.GATEWAY_URL = f"{live_server.url}/gateway"
    settings.MLSERVICE_URL = f"{live_server.url}/ml"
    settings.GATEWAY_ENFORCE_SCHEME = False
    settings.GATEWAY_RECORD_ASYNC = False
    call_command("load_demo", stdout=open("/dev/null", "w"))
    routing.catalog.clear()
    policy.compiled.clear()
    from mlservice.models import WebService

    api = Api.objects.get(path="azureml-demo")
    service = WebService.objects.get()
    sub = Subscription.objects.create(
        user=alice, product=api.products.get(slug="starter"), name="Demo", state=Subscription.ACTIVE
    )
    url = (
        f"{live_server.url}/gateway/azureml-demo/workspaces/{service.workspace_id}/services/{service.service_id}"
        "/execute?api-version=2.0&details=true"
    )
    return url, sub.primary_key, service


def execute(url: str, key: str, **headers) -> requests.Response:
    headers = {"Ocp-Apim-Subscription-Key": key, "Content-Type": "application/json", **headers}
    return requests.post(url, data=json.dumps(BODY), headers=headers, timeout=30)


def features(response: requests.Response) -> list[str]:
    return [str(v) for v in response.json()["Results"]["output1"]["value"]["Values"][0][-8:]]


def test_rrs_execute_works_with_only_a_subscription_key(demo):
    url, key, _ = demo
    response = execute(url, key)
    assert response.status_code == 200, response.text
    assert features(response) == GUIDE_FEATURES


def test_the_walkthroughs_authorization_header_still_works_and_is_not_overridden(demo):
    url, key, service = demo
    assert features(execute(url, key, Authorization=f"Bearer {service.primary_key}")) == GUIDE_FEATURES
    # The caller's own (wrong) key is the one the web service sees.
    assert execute(url, key, Authorization="Bearer not-the-key").status_code == 401


def test_the_key_is_a_secret_named_value_and_the_api_page_says_so(demo, client):
    _, _, service = demo
    named = NamedValue.objects.get(name=KEY_NAME)
    assert named.secret and named.value == service.primary_key and service.primary_key not in named.stored
    assert "{{" + KEY_NAME + "}}" in Policy.objects.get(api__path="azureml-demo").document
    page = client.get("/apis/azureml-demo-api/")
    assert "Your subscription key is all you need" in page.text


def test_load_demo_twice_keeps_one_policy_and_one_named_value(demo):
    call_command("load_demo", stdout=open("/dev/null", "w"))
    assert Policy.objects.count() == 1 and NamedValue.objects.count() == 1


def test_the_console_shows_which_policies_ran_with_the_secret_masked(demo, client, alice, settings):
    from django.urls import reverse

    from apis.models import Operation

    url, _key, service = demo
    settings.CONSOLE_TRANSPORT = "inprocess"
    client.force_login(alice)
    rrs = Operation.objects.get(display_name="RRS Execute")
    sub = Subscription.objects.get(user=alice)
    data = {
        "p_workspace": service.workspace_id,
        "p_service": service.service_id,
        "p_apiversion": "2.0",
        "p_details": "true",
        "h_name": ["Content-Type"],
        "h_value": ["application/json"],
        "subscription": f"{sub.pk}:primary",
        "rep": "0",
        "body": json.dumps(BODY),
    }
    response = client.post(reverse("console-send", args=[rrs.pk]), data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "200 OK" in html, html[:2000]
    assert "Policies that ran" in html
    assert "set-header" in html and "Authorization: Bearer ***" in html
    assert service.primary_key not in html
