"""BES jobs submitted through the gateway belong to the calling subscription.

Over real HTTP, through the real gateway to the embedded ML service of the
same live server: one developer can neither list, read, start nor cancel
another's job, even by sending the header the gateway uses to say who calls.
"""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {
    "Input": {"ConnectionString": "AccountName=a;AccountKey=a2V5;", "RelativeLocation": "/c/in.csv"},
    "GlobalParameters": {},
}


@pytest.fixture
def demo(live_server, alice, bob, settings):
    settings.GATEWAY_RECORD_ASYNC = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from gateway import routing

    routing.catalog.clear()  # the catalog of another test's database
    from apis import demo as api_demo
    from apis.models import Operation, Product
    from mlservice import demo as ml_demo
    from subscriptions import services

    api = api_demo.load()
    api.service_url = f"{live_server.url}/ml"
    api.save()
    # Not one of the demo's five operations, but a publisher may add it.
    Operation.objects.create(
        api=api,
        method="GET",
        url_template="/workspaces/{workspace}/services/{service}/jobs?api-version={apiversion}",
        display_name="BES List",
    )
    open_product = Product.objects.create(name="Open", slug="open-test")  # no rate limit or quota
    api.products.add(open_product)
    service = ml_demo.load(api)
    keys = {
        user.username: services.subscribe(user=user, product=open_product, name="app").primary_key
        for user in (alice, bob)
    }
    base = f"{live_server.url}/gateway/{api.path}/workspaces/{service.workspace_id}/services/{service.service_id}/jobs"
    direct = f"{live_server.url}/ml/workspaces/{service.workspace_id}/services/{service.service_id}/jobs"
    return {"base": base, "direct": direct, "service": service, "keys": keys}


def as_developer(demo, who, method, path="", **kwargs):
    headers = {
        "Ocp-Apim-Subscription-Key": demo["keys"][who],
        "Authorization": f"Bearer {demo['service'].primary_key}",
        **kwargs.pop("headers", {}),
    }
    return requests.request(method, f"{demo['base']}{path}?api-version=2.0", headers=headers, timeout=30, **kwargs)


def test_a_developer_sees_and_controls_only_the_jobs_of_his_subscription(demo):
    submitted = as_developer(demo, "alice", "POST", json=BODY)
    assert submitted.status_code == 200, submitted.text
    job_id = submitted.json()

    assert [job["Id"] for job in as_developer(demo, "alice", "GET").json()] == [job_id]
    assert as_developer(demo, "bob", "GET").json() == []
    for method, path in (("GET", f"/{job_id}"), ("POST", f"/{job_id}/start"), ("DELETE", f"/{job_id}")):
        answer = as_developer(demo, "bob", method, path)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["error"]["details"][0]["code"] == "JobNotFound"
    assert as_developer(demo, "alice", "GET", f"/{job_id}").json()["StatusCode"] == "NotStarted"


def test_the_caller_cannot_claim_another_subscription(demo):
    from subscriptions.models import Subscription

    job_id = as_developer(demo, "alice", "POST", json=BODY).json()
    alices = str(Subscription.objects.get(user__username="alice").pk)
    forged = {"X-Portico-Subscription": alices}
    assert as_developer(demo, "bob", "GET", headers=forged).json() == []
    assert as_developer(demo, "bob", "GET", f"/{job_id}", headers=forged).status_code == 404


def test_a_direct_call_with_the_service_key_sees_every_job(demo):
    ids = {as_developer(demo, who, "POST", json=BODY).json() for who in ("alice", "bob")}
    headers = {"Authorization": f"Bearer {demo['service'].primary_key}"}
    listed = requests.get(f"{demo['direct']}?api-version=2.0", headers=headers, timeout=30).json()
    assert {job["Id"] for job in listed} == ids
