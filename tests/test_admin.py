"""Publishing in Django admin: what an administrator sees when adding operations."""

from __future__ import annotations

import pytest

from apis.models import Api, Operation

pytestmark = pytest.mark.django_db

INLINES = ("parameters", "representations", "responses")


def operation_form(api, **fields):
    data = {"api": api.pk, "method": "GET", "display_name": "Get book", "order": 0, "console_enabled": "on"}
    data.update(fields)
    for prefix in INLINES:
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    return data


@pytest.fixture
def api():
    return Api.objects.create(name="Books", slug="books", path="books", service_url="http://127.0.0.1:9")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_it_adds_an_operation_and_detects_its_parameters(admin_client, api):
    r = admin_client.post("/admin/apis/operation/add/", operation_form(api, url_template="/books/{id}?lang={lang}"))
    assert r.status_code == 302
    op = Operation.objects.get()
    assert [(p.name, p.location) for p in op.parameters.all()] == [("id", "template"), ("lang", "query")]


def test_it_shows_a_template_error_on_the_field(admin_client, api):
    r = admin_client.post("/admin/apis/operation/add/", operation_form(api, url_template="/books/{id"))
    assert r.status_code == 200
    errors = r.context["adminform"].form.errors
    assert errors["url_template"] == ["Unbalanced '{': it is not closed (at position 8)"]
    assert not Operation.objects.exists()


def test_it_refuses_a_duplicate_operation(admin_client, api):
    Operation.objects.create(api=api, method="GET", url_template="/books/{id}", display_name="Get")
    r = admin_client.post("/admin/apis/operation/add/", operation_form(api, url_template="/books/{id}"))
    assert r.status_code == 200
    assert "already answers GET /books/{id}" in r.text
    assert Operation.objects.count() == 1


def test_it_refuses_a_suffix_clash(admin_client, api):
    data = {
        "name": "Other",
        "slug": "other",
        "service_url": "http://127.0.0.1:9",
        "path": "books",
        "url_schemes": "https",
        "operations-TOTAL_FORMS": 0,
        "operations-INITIAL_FORMS": 0,
    }
    r = admin_client.post("/admin/apis/api/add/", data)
    assert r.status_code == 200
    assert r.context["adminform"].form.errors["path"] == ["Another API already uses this URL suffix."]


def test_one_click_adds_a_200_ok_response(admin_client, api):
    op = Operation.objects.create(api=api, method="GET", url_template="/books", display_name="List")
    page = admin_client.get(f"/admin/apis/operation/{op.pk}/change/")
    assert "Add 200 OK response" in page.text
    r = admin_client.post(f"/admin/apis/operation/{op.pk}/add-200-ok/")
    assert r.status_code == 302
    assert [(x.status_code, x.description) for x in op.responses.all()] == [("200", "OK")]
    admin_client.post(f"/admin/apis/operation/{op.pk}/add-200-ok/")
    assert op.responses.count() == 1


def test_the_admin_pages_render(admin_client, demo_api):
    starter = demo_api.products.get(slug="starter")
    for url in [
        "/admin/",
        "/admin/apis/api/",
        f"/admin/apis/api/{demo_api.pk}/change/",
        "/admin/apis/operation/",
        "/admin/apis/operation/?q=BES",
        "/admin/apis/product/",
        f"/admin/apis/product/{starter.pk}/change/",
    ]:
        assert admin_client.get(url).status_code == 200, url
