"""The web services' dashboard: staff only, ids, keys on request, the Test form, API help."""

from __future__ import annotations

import pytest


def test_it_is_for_staff_only(client, service, developer):
    for url in ["/ml/", service.get_absolute_url(), f"/ml/services/{service.service_id}/rrs/"]:
        assert client.get(url).status_code == 302
    client.force_login(developer)
    response = client.get("/ml/")
    assert response.status_code == 403 and "This page is for staff" in response.content.decode()
    assert client.post(f"/ml/services/{service.service_id}/keys").status_code == 403


def test_the_list_shows_each_services_ids(client, service, staff):
    client.force_login(staff)
    page = client.get("/ml/").content.decode()
    assert service.workspace_id in page and service.service_id in page
    assert service.primary_key not in page


def test_the_keys_are_hidden_until_asked_for(client, service, staff):
    client.force_login(staff)
    page = client.get(service.get_absolute_url()).content.decode()
    assert service.workspace_id in page and service.service_id in page
    assert service.primary_key not in page
    fragment = client.post(f"/ml/services/{service.service_id}/keys", headers={"HX-Request": "true"}).content.decode()
    assert service.primary_key in fragment and service.secondary_key in fragment
    assert "<html" not in fragment


def test_a_key_can_be_regenerated(client, service, staff):
    client.force_login(staff)
    old = service.secondary_key
    client.post(f"/ml/services/{service.service_id}/keys", {"regenerate": "secondary"}, headers={"HX-Request": "true"})
    service.refresh_from_db()
    assert service.secondary_key != old


def test_the_test_form_shows_the_guides_hashed_features(client, service, staff):
    client.force_login(staff)
    fragment = client.post(
        f"/ml/services/{service.service_id}/test", {"text": "This is a good day"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert "1 1 2 2 0 2 0 1" in fragment
    assert "Col2_HashingFeature.7" in fragment


@pytest.mark.parametrize("page", ["rrs", "bes"])
def test_the_api_help_has_sample_code_for_this_service(client, service, staff, page):
    client.force_login(staff)
    html = client.get(f"/ml/services/{service.service_id}/{page}/").content.decode()
    for language in ("Python", "C#", "R"):
        assert f"<summary>{language}</summary>" in html
    assert service.workspace_id in html and service.service_id in html
    assert "api-version=2.0" in html


def test_an_unknown_service_is_a_404(client, staff, db):
    client.force_login(staff)
    assert client.get("/ml/services/nope/").status_code == 404


def test_a_service_id_with_a_nul_byte_is_a_404(client, staff, db):
    client.force_login(staff)
    assert client.get("/ml/services/a%00/").status_code == 404


def test_the_header_marks_ml_services_as_the_current_page(client, service, staff):
    client.force_login(staff)
    page = client.get("/ml/").content.decode()
    assert '<a href="/ml/" aria-current="page">ML services</a>' in page


def test_the_dashboard_pages_answer_only_reads(client, service, staff):
    client.force_login(staff)
    for url in [
        "/ml/",
        service.get_absolute_url(),
        f"/ml/services/{service.service_id}/rrs/",
        f"/ml/services/{service.service_id}/bes/",
    ]:
        assert client.get(url).status_code == 200
        assert client.post(url).status_code == 405, url
