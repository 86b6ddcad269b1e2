"""A key served from the process's cache, and refused the call after its
subscription changed elsewhere (told only by the generation in the counters' store)."""

from __future__ import annotations

import pytest

from gateway import counters, keycache
from subscriptions.models import Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    keycache.clear()
    yield
    keycache.clear()


def get(client, key):
    return client.get("/gateway/echo/items/1", headers={"Ocp-Apim-Subscription-Key": key})


def test_a_cached_key_is_refused_at_once_when_another_process_suspends_it(client, echo_api, subscription, key):
    assert get(client, key).status_code == 200
    # Another process's change: the row changes, this process's signals do not fire...
    Subscription.objects.filter(pk=subscription.pk).update(state=Subscription.SUSPENDED)
    assert get(client, key).status_code == 200  # ...so the key is still served from the cache,
    counters.bump_generation(subscription.pk)  # until that process's bump of the generation
    assert get(client, key).status_code == 401


def test_a_change_in_this_process_forgets_the_cached_key_at_once(client, echo_api, subscription, key):
    assert get(client, key).status_code == 200
    subscription.suspend()
    assert get(client, key).status_code == 401
    subscription.reactivate()
    assert get(client, key).status_code == 200
