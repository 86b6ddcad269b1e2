"""The developer portal's catalog pages, as a visitor sees them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apis.models import Api, Operation, Product

pytestmark = pytest.mark.django_db


def test_home_lists_the_demo_api(client, demo_api):
    r = client.get("/")
    assert r.status_code == 200
    assert "AzureML Demo API" in r.text


def test_the_apis_list_searches_and_filters_by_product(client, demo_api):
    Api.objects.create(name="Weather", path="weather", service_url="http://127.0.0.1:9")
    r = client.get("/apis/", {"q": "azure"})
    assert "AzureML Demo API" in r.text and "Weather" not in r.text
    r = client.get("/apis/", {"product": "starter"})
    assert "AzureML Demo API" in r.text and "Weather" not in r.text
    r = client.get("/apis/", {"product": "no-such-product"})
    assert "There is no product “no-such-product”" in r.text and "AzureML Demo API" not in r.text


def test_the_apis_list_answers_htmx_with_just_the_results(client, demo_api):
    r = client.get("/apis/", {"q": "azure"}, headers={"HX-Request": "true"})
    assert r.text.lstrip().startswith('<div id="results">')
    assert "<html" not in r.text


def test_the_api_page_shows_the_gateway_url_products_and_operations_in_order(client, demo_api, settings):
    r = client.get(demo_api.get_absolute_url())
    assert r.status_code == 200
    assert f"{settings.GATEWAY_URL}/azureml-demo" in r.text
    assert "Starter" in r.text
    positions = [r.text.index(name) for name in ("RRS Execute", "BES Submit", "BES Start", "BES Status", "BES Delete")]
    assert positions == sorted(positions)
    assert 'class="verb verb-DELETE"' in r.text


def scheme_shown(client, api) -> str:
    import re

    page = client.get(api.get_absolute_url()).text
    return re.search(r'<span id="url-scheme">([^<]*)</span>', page).group(1)


def test_the_api_page_shows_the_scheme_the_gateway_really_serves(client, demo_api, settings):
    # The demo API is published for HTTPS only, but runs on http locally, unenforced.
    settings.GATEWAY_URL, settings.GATEWAY_ENFORCE_SCHEME = "http://127.0.0.1:8000/gateway", False
    assert scheme_shown(client, demo_api) == "HTTP"
    assert "does not enforce it" in client.get(demo_api.get_absolute_url()).text
    settings.GATEWAY_URL = "https://portal.example.com/gateway"
    assert scheme_shown(client, demo_api) == "HTTPS"
    settings.GATEWAY_URL, settings.GATEWAY_ENFORCE_SCHEME = "http://portal.example.com/gateway", True
    assert scheme_shown(client, demo_api) == "none at this base URL"


def test_the_operation_page_shows_signature_parameters_headers_example_and_responses(client, demo_api, settings):
    op = demo_api.operations.get(display_name="RRS Execute")
    r = client.get(op.get_absolute_url())
    assert r.status_code == 200
    assert f"{settings.GATEWAY_URL}/azureml-demo/workspaces/{{workspace}}/services/{{service}}/execute" in r.text
    for name in ("workspace", "service", "apiversion", "details", "Authorization", "Ocp-Apim-Subscription-Key"):
        assert f"<code>{name}</code>" in r.text
    assert "This is a good day" in r.text
    assert "200</span> OK" in r.text
    assert 'id="try-it"' in r.text


def test_the_products_pages_show_limits_and_apis(client, demo_api):
    r = client.get("/products/")
    assert "5 calls per minute" in r.text and "100 calls per week" in r.text
    r = client.get("/products/starter/")
    assert r.status_code == 200 and "AzureML Demo API" in r.text


@pytest.mark.parametrize(
    "url",
    ["/apis/nope/", "/apis/azureml-demo-api/operations/nope/", "/products/nope/", "/apis/azureml-demo-api/operations/"],
)
def test_unknown_things_get_a_404_page(client, demo_api, url):
    r = client.get(url)
    assert r.status_code == 404


def test_unpublished_apis_and_products_are_hidden_from_developers(client, demo_api, admin_user):
    demo_api.published = False
    demo_api.save()
    Product.objects.filter(slug="starter").update(published=False)
    assert client.get(demo_api.get_absolute_url()).status_code == 404
    assert client.get("/products/starter/").status_code == 404
    assert "AzureML Demo API" not in client.get("/apis/").text
    client.force_login(admin_user)
    assert client.get(demo_api.get_absolute_url()).status_code == 200


def test_pages_run_a_constant_number_of_queries(client, demo_api):
    def count(url):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    op = demo_api.operations.first()
    before = [count("/apis/"), count(demo_api.get_absolute_url()), count(op.get_absolute_url()), count("/products/")]
    starter = Product.objects.get(slug="starter")
    for i in range(10):
        api = Api.objects.create(name=f"Extra {i}", path=f"extra-{i}", service_url="http://127.0.0.1:9")
        api.products.add(starter)
    for i in range(10):
        o = Operation.objects.create(
            api=demo_api, method="GET", url_template=f"/more/{i}/{{x}}", display_name=f"More {i}"
        )
        o.add_ok_response()
    after = [count("/apis/"), count(demo_api.get_absolute_url()), count(op.get_absolute_url()), count("/products/")]
    assert after == before


def test_the_operation_page_links_to_its_console_unless_an_admin_turned_it_off(client, demo_api):
    op = demo_api.operations.get(display_name="RRS Execute")
    assert 'href="#try-it">Try it</a>' in client.get(op.get_absolute_url()).text
    op.console_enabled = False
    op.save()
    assert 'href="#try-it">Try it</a>' not in client.get(op.get_absolute_url()).text


def test_a_search_with_a_nul_byte_still_answers(client, demo_api):
    # PostgreSQL refuses NUL in a query parameter; the search drops it.
    r = client.get("/apis/", {"q": "azure\x00"})
    assert r.status_code == 200
    assert "AzureML Demo API" in r.text


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/apis/",
        "/apis/azureml-demo-api/",
        "/apis/azureml-demo-api/operations/rrs-execute/",
        "/products/",
        "/products/starter/",
    ],
)
def test_the_portal_pages_answer_only_reads(client, demo_api, url):
    assert client.head(url).status_code == 200
    for method in ("post", "put", "delete"):
        assert getattr(client, method)(url).status_code == 405, (method, url)
