"""What Portico stores encrypted survives a SECRET_KEY rotation when KEY_ENCRYPTION_KEY is set."""

from __future__ import annotations

import pytest

from console.models import SavedValues
from portal import crypto

pytestmark = pytest.mark.django_db


def test_each_purpose_gets_a_key_of_its_own():
    assert crypto.derived_key(b"console") != crypto.derived_key(b"encrypt")


def test_values_typed_in_the_console_survive_a_secret_key_rotation(settings, alice, demo_api):
    settings.KEY_ENCRYPTION_KEY = "a key kept apart from the session secret"
    SavedValues.store(alice, demo_api, {"workspace": "ws-1", "Authorization": "Bearer secret"})
    settings.SECRET_KEY = "a brand new session secret, rotated " + "x" * 20
    assert SavedValues.load(alice, demo_api) == {"workspace": "ws-1", "Authorization": "Bearer secret"}


def test_without_the_right_key_saved_values_are_simply_gone(settings, alice, demo_api):
    settings.KEY_ENCRYPTION_KEY = "first key"
    SavedValues.store(alice, demo_api, {"workspace": "ws-1"})
    settings.KEY_ENCRYPTION_KEY = "another key"
    assert SavedValues.load(alice, demo_api) == {}
