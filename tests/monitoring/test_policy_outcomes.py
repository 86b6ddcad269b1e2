"""Monitoring tells cached, mocked and policy-refused calls apart."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from gateway.models import Call

pytestmark = pytest.mark.django_db


def kpis(html: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-outcome="(\w+)">(\d+)<', html)}


@pytest.fixture
def policed(make_call, alice_sub):
    for outcome, status, policy in [
        (Call.CACHED, 200, "cache-lookup"),
        (Call.CACHED, 200, "cache-lookup"),
        (Call.MOCKED, 200, "mock-response"),
        (Call.REFUSED, 403, "ip-filter"),
        (Call.POLICY_ERROR, 500, "set-header"),
        (Call.SUCCESS, 200, ""),
    ]:
        call = make_call(alice_sub)
        Call.objects.filter(pk=call.pk).update(outcome=outcome, status=status, policy=policy)


def test_the_dashboard_counts_and_filters_policy_outcomes(client, admin_user, policed):
    client.force_login(admin_user)
    figures = kpis(client.get(reverse("monitoring-dashboard")).content.decode())
    assert {k: figures[k] for k in ("cached", "mocked", "refused", "policy_error", "success")} == {
        "cached": 2,
        "mocked": 1,
        "refused": 1,
        "policy_error": 1,
        "success": 1,
    }
    only = client.get(reverse("monitoring-dashboard"), {"outcome": "cached"})
    assert only.status_code == 200
    assert kpis(only.content.decode())["total"] == 2
    report = only.context["report"]
    # Served from the cache is served: no error in the success rate.
    assert [r.stats.success_rate for r in report.by_subscription] == [100.0]
