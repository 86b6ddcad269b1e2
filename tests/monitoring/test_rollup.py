from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse

from gateway.models import Call
from monitoring.models import CallRollup, RollupState

pytestmark = pytest.mark.django_db


def totals(client, **params):
    report = client.get(reverse("monitoring-dashboard"), params).context["report"]
    return report.total.calls, report.outcome_totals, report.sources


def test_it_reads_rolled_up_hours_and_raw_records_without_counting_twice(client, admin_user, make_call, alice_sub, bob_sub):
    for days in (1, 2, 3):
        make_call(alice_sub, ago=timedelta(days=days))
        make_call(bob_sub, Call.THROTTLED, ago=timedelta(days=days, minutes=3))
    make_call(alice_sub, ago=timedelta(minutes=1))
    client.force_login(admin_user)
    before = totals(client, range="7d")
    call_command("rollup_calls", "--no-prune")
    assert CallRollup.objects.count() == 6
    assert RollupState.watermark() is not None
    after = totals(client, range="7d")
    assert before[0] == after[0] == 7
    assert before[1] == after[1]
    assert [s for s, _, _ in after[2]] == ["raw", "rollup", "raw"]
    # Idempotent: a second run adds nothing.
    call_command("rollup_calls", "--no-prune")
    assert totals(client, range="7d")[0] == 7


def test_it_deletes_raw_records_past_retention_once_rolled_up(client, admin_user, make_call, alice_sub, settings):
    settings.CALL_RETENTION_DAYS = 2
    make_call(alice_sub, ago=timedelta(days=5), total_ms=100, backend_ms=90)
    make_call(alice_sub, ago=timedelta(days=1))
    call_command("rollup_calls")
    assert Call.objects.count() == 1
    client.force_login(admin_user)
    report = client.get(reverse("monitoring-dashboard"), {"range": "7d"}).context["report"]
    assert report.total.calls == 2
    assert [r.stats.calls for r in report.by_subscription] == [2]
    assert 70 < report.total.p95 < 140


def test_it_filters_rolled_up_calls_too(client, admin_user, make_call, alice_sub, bob_sub, alice):
    make_call(alice_sub, ago=timedelta(days=2))
    make_call(bob_sub, ago=timedelta(days=2))
    call_command("rollup_calls", "--no-prune")
    client.force_login(admin_user)
    assert totals(client, range="7d", developer=alice.pk)[0] == 1
