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


def test_it_reads_rolled_up_hours_and_raw_records_without_counting_twice(
    client, admin_user, make_call, alice_sub, bob_sub
):
    for days in (1, 2, 3):
        make_call(alice_sub, ago=timedelta(days=days))
        make_call(bob_sub, Call.THROTTLED, ago=timedelta(days=days, minutes=3))
    make_call(alice_sub, Call.CLIENT_ERROR, ago=timedelta(days=2, minutes=6))
    make_call(alice_sub, ago=timedelta(minutes=1))
    client.force_login(admin_user)
    before = totals(client, range="7d")
    call_command("rollup_calls", "--no-prune")
    assert CallRollup.objects.filter(kind="h").count() == 7
    assert RollupState.watermark() is not None
    after = totals(client, range="7d")
    assert before[0] == after[0] == 8
    assert before[1] == after[1] and after[1]["client_error"] == 1 and after[1]["success"] == 4
    assert {s for s, _, _ in after[2]} == {"raw", "t", "h", "d"}
    # Idempotent: a second run adds nothing.
    call_command("rollup_calls", "--no-prune")
    assert totals(client, range="7d")[0] == 8


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


def figures(report):
    return (
        report.total.calls,
        report.outcome_totals,
        report.by_outcome,
        [(r.key, r.stats.calls, r.stats.errors, r.stats.bytes_out) for r in report.by_subscription],
        sorted((r.key or 0, r.stats.calls) for r in report.by_operation),
        report.bandwidth,
    )


def test_it_gives_the_same_figures_from_rollups_as_from_raw_records(make_call, alice_sub, bob_sub, demo_api):
    import random

    from django.utils import timezone

    from monitoring import analytics, rollup

    rng = random.Random(7)
    ops = list(demo_api.operations.all())
    outcomes = [Call.SUCCESS] * 6 + [Call.THROTTLED, Call.BACKEND_ERROR, Call.UNAUTHORIZED, Call.QUOTA, Call.NO_MATCH]
    for _ in range(300):
        outcome = rng.choice(outcomes)
        sub = None if outcome == Call.UNAUTHORIZED else rng.choice([alice_sub, bob_sub])
        make_call(
            sub,
            outcome,
            ago=timedelta(seconds=rng.uniform(0, 10 * 86400)),
            total_ms=rng.uniform(1, 300),
            op=rng.choice(ops),
            bytes_out=rng.randint(1, 999),
        )
    now = timezone.now()
    # Two runs, the first a few days behind, as a periodic job would leave it.
    rollup.roll_up(now=now - timedelta(days=3, hours=5))
    rollup.roll_up(now=now)
    watermark = RollupState.watermark()
    cases = [
        {},
        {"outcome": Call.SUCCESS},
        {"subscription_id": alice_sub.pk},
        {"user_id": bob_sub.user_id, "outcome": Call.THROTTLED},
        {"operation_id": ops[0].pk},
    ]
    ranges = [timedelta(hours=6), timedelta(days=1), timedelta(days=7), timedelta(days=30)]
    for lookups in cases:
        for span in ranges:
            for end in (now, now - timedelta(days=2, hours=7, minutes=13)):
                filters = analytics.Filters(start=end - span, end=end, **lookups)
                with_rollups = analytics.dashboard(filters)
                assert any(s != "raw" for s, _, _ in with_rollups.sources) or end < watermark - span
                RollupState.objects.filter(pk=1).update(rolled_until=None)
                raw_only = analytics.dashboard(filters)
                RollupState.objects.filter(pk=1).update(rolled_until=watermark)
                assert figures(with_rollups) == figures(raw_only), (lookups, span, end)


def test_it_rebuilds_without_losing_pruned_hours(client, admin_user, make_call, alice_sub, settings):
    settings.CALL_RETENTION_DAYS = 2
    make_call(alice_sub, ago=timedelta(days=5))
    make_call(alice_sub, ago=timedelta(days=1))
    call_command("rollup_calls")
    call_command("rollup_calls", "--rebuild", "--no-prune")
    client.force_login(admin_user)
    assert totals(client, range="7d")[0] == 2
