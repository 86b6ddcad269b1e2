"""Policies and named values in Django admin."""

from __future__ import annotations

import pytest

from apis.models import Api, Operation, Product
from policies.models import NamedValue, Policy

pytestmark = pytest.mark.django_db

GOOD = "<policies><inbound><base /><set-header name='X-A'><value>{{greeting}}</value></set-header></inbound></policies>"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def api():
    return Api.objects.create(name="Books", slug="books", path="books", service_url="http://127.0.0.1:9")


def api_form(api, document: str) -> dict:
    return {
        "name": api.name,
        "slug": api.slug,
        "service_url": api.service_url,
        "path": api.path,
        "url_schemes": "https",
        "operations-TOTAL_FORMS": 0,
        "operations-INITIAL_FORMS": 0,
        "policy-TOTAL_FORMS": 1,
        "policy-INITIAL_FORMS": 0,
        "policy-MAX_NUM_FORMS": 1,
        "policy-0-document": document,
    }


def test_the_api_page_saves_a_valid_document(admin_client, api):
    r = admin_client.post(f"/admin/apis/api/{api.pk}/change/", api_form(api, GOOD))
    assert r.status_code == 302
    assert Policy.objects.get(api=api).document == GOOD


def test_the_api_page_shows_line_and_column_of_the_first_problem(admin_client, api):
    bad = "<policies>\n  <inbound>\n    <cors><allowed-origins><origin>*</origin></allowed-origins></cors>\n    <ip-filter action='maybe' />\n  </inbound>\n</policies>"
    r = admin_client.post(f"/admin/apis/api/{api.pk}/change/", api_form(api, bad))
    assert r.status_code == 200
    errors = r.context["inline_admin_formsets"][-1].formset.errors[0]["document"]
    assert errors == ["line 4, column 5: 'action' on <ip-filter> must be one of allow, forbid, not 'maybe'."]
    assert "line 4, column 5" in r.text
    assert not Policy.objects.exists()


def test_the_global_document_is_edited_on_the_policies_page(admin_client):
    r = admin_client.post("/admin/policies/policy/add/", {"document": GOOD})
    assert r.status_code == 302
    assert Policy.objects.get().scope == Policy.GLOBAL
    assert admin_client.get("/admin/policies/policy/add/").status_code == 403  # one global document


def test_what_runs_for_an_operation_shows_the_merged_document(admin_client, api):
    product = Product.objects.create(name="Gold", slug="gold")
    api.products.add(product)
    operation = Operation.objects.create(api=api, method="GET", url_template="/books", display_name="List")
    Policy.objects.create(
        document="<policies><inbound><set-header name='From-Global'><value>1</value></set-header></inbound></policies>"
    )
    Policy.objects.create(
        product=product,
        document="<policies><inbound><base /><ip-filter action='allow'><address>10.0.0.1</address></ip-filter></inbound></policies>",
    )
    Policy.objects.create(api=api, document=GOOD)
    page = admin_client.get(f"/admin/apis/operation/{operation.pk}/change/")
    assert "What runs for this operation" in page.text
    r = admin_client.get(f"/admin/policies/policy/effective/{operation.pk}/")
    text = r.context["document"]
    assert text.index("From-Global") < text.index("ip-filter") < text.index("X-A")
    assert "<!-- from product gold -->" in text and "<!-- from API books -->" in text
    assert "<forward-request />" in text


def test_a_secret_named_value_is_never_shown_again(admin_client):
    r = admin_client.post(
        "/admin/policies/namedvalue/add/", {"name": "backend-key", "secret": "on", "value": "hunter2-long-secret"}
    )
    assert r.status_code == 302
    nv = NamedValue.objects.get()
    assert nv.value == "hunter2-long-secret" and "hunter2" not in nv.stored
    assert "hunter2" not in admin_client.get("/admin/policies/namedvalue/").text
    change = admin_client.get(f"/admin/policies/namedvalue/{nv.pk}/change/")
    assert "hunter2" not in change.text
    # Saving again without typing the value keeps it.
    r = admin_client.post(
        f"/admin/policies/namedvalue/{nv.pk}/change/", {"name": "backend-key", "secret": "on", "value": ""}
    )
    assert r.status_code == 302
    nv.refresh_from_db()
    assert nv.value == "hunter2-long-secret"
    assert "hunter2" not in repr(nv)


def test_a_plain_named_value_shows_and_names_are_checked(admin_client):
    admin_client.post("/admin/policies/namedvalue/add/", {"name": "greeting", "value": "hello"})
    assert "hello" in admin_client.get("/admin/policies/namedvalue/").text
    r = admin_client.post("/admin/policies/namedvalue/add/", {"name": "has space", "value": "x"})
    assert r.status_code == 200 and "letters, digits" in r.text
