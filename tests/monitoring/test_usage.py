from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from gateway.models import Call
from monitoring import analytics

pytestmark = pytest.mark.django_db


def test_it_needs_a_login(client):
    response = client.get(reverse("monitoring-usage"))
    assert response.status_code == 302


def test_it_shows_a_developer_only_their_own_subscriptions_and_calls(client, alice, alice_sub, bob_sub, make_call):
    for _ in range(3):
        make_call(alice_sub, total_ms=42)
    make_call(alice_sub, Call.THROTTLED)
    for _ in range(4):
        make_call(bob_sub)
    client.force_login(alice)
    html = client.get(reverse("monitoring-usage")).content.decode()
    assert "Alice&#x27;s app" in html and "Bob&#x27;s app" not in html
    assert 'data-figure="today">4<' in html
    # The throttled call was refused before it counted against the quota.
    assert "3 used of 100 per week, <strong>97 left</strong>" in html
    assert "5 calls per minute" in html
    assert html.count("42.0 ms") == 3
    assert html.count('class="num"><span class="mon-outcome') == 4


def test_a_backends_4xx_counts_against_the_quota_and_shows_as_a_client_error(client, alice, alice_sub, make_call):
    make_call(alice_sub)
    make_call(alice_sub, Call.CLIENT_ERROR)
    client.force_login(alice)
    html = client.get(reverse("monitoring-usage")).content.decode()
    assert "2 used of 100 per week" in html
    assert '<span class="mon-outcome mon-client_error" title="Client error">401</span>' in html


def test_it_counts_today_this_week_and_the_quota_window(alice, alice_sub, make_call):
    now = timezone.now().replace(hour=12)  # a Wednesday-independent noon
    alice_sub.started = now - timedelta(days=9)  # the second weekly window started 2 days ago
    alice_sub.save()
    make_call(alice_sub, ago=timezone.now() - now + timedelta(hours=1))  # today
    make_call(alice_sub, ago=timezone.now() - now + timedelta(days=1))  # yesterday
    make_call(alice_sub, ago=timezone.now() - now + timedelta(days=3))  # before this quota window
    make_call(alice_sub, Call.BACKEND_ERROR, ago=timezone.now() - now + timedelta(minutes=30))
    [usage] = analytics.usage_for(alice, now=now)
    assert usage.today == 2
    assert usage.quota_used == 3 and usage.quota_left == 97
    assert usage.quota_resets == alice_sub.started + timedelta(days=14)
    local = timezone.localtime(now)
    days_into_week = local.weekday()
    assert usage.week == 2 + (1 if days_into_week >= 1 else 0) + (1 if days_into_week >= 3 else 0)


def test_it_says_so_when_there_are_no_subscriptions(client, bob):
    client.force_login(bob)
    assert "No subscriptions yet" in client.get(reverse("monitoring-usage")).content.decode()


def test_it_counts_the_same_with_rollups(alice, alice_sub, make_call):
    from monitoring import rollup
    from monitoring.models import RollupState

    for hours in (1, 5, 20, 30, 50, 70, 100, 150):
        make_call(alice_sub, ago=timedelta(hours=hours, minutes=7))
        make_call(alice_sub, Call.THROTTLED, ago=timedelta(hours=hours, minutes=9))
    before = [(u.today, u.week, u.quota_used) for u in analytics.usage_for(alice)]
    rollup.roll_up()
    assert RollupState.watermark() is not None
    assert [(u.today, u.week, u.quota_used) for u in analytics.usage_for(alice)] == before


def test_it_is_a_page_of_its_own_without_htmx_and_the_panel_alone_with_it(client, alice, alice_sub):
    client.force_login(alice)
    assert "<html" in client.get(reverse("monitoring-usage")).content.decode()
    html = client.get(reverse("monitoring-usage"), headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in html and html.startswith('<section class="mon-usage"')


def test_the_profile_page_loads_the_usage_panel(client, alice, alice_sub):
    client.force_login(alice)
    html = client.get(reverse("accounts-profile")).content.decode()
    assert f'hx-get="{reverse("monitoring-usage")}"' in html
    assert f'<a href="{reverse("monitoring-usage")}">See your calls' in html
