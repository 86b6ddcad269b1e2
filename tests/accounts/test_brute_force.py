"""Guessing passwords: lockouts per account and per address, and a limit on attempts per address."""

from __future__ import annotations

import secrets

import pytest

pytestmark = pytest.mark.django_db

RIGHT = "alice's long password"


def address() -> str:
    """An address of its own for each test: the attempt counters outlive a test's database."""
    return f"198.51.{secrets.randbelow(256)}.{secrets.randbelow(256)}"


def log_in(client, who, password, addr):
    return client.post("/accounts/login/", {"username": who, "password": password}, REMOTE_ADDR=addr)


@pytest.fixture
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.ACCOUNTS_ATTEMPTS_PER_MINUTE = 100


def test_an_account_is_locked_after_wrong_passwords_from_any_addresses(client, alice, bob, limits):
    for _ in range(2):
        assert log_in(client, "Alice@example.com ", "wrong", address()).status_code == 200
    assert log_in(client, "alice@example.com", "wrong", address()).status_code == 429  # the third
    # Now even the right password, from yet another address, is refused.
    response = log_in(client, "alice@example.com", RIGHT, address())
    assert response.status_code == 429
    assert "Log-in locked" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another account is not locked.
    assert log_in(client, "bob@example.com", "bob's long password", address()).status_code == 302


def test_an_address_is_locked_after_wrong_passwords_for_any_accounts(client, alice, limits):
    guesser = address()
    for who in ("a@example.com", "b@example.com"):
        assert log_in(client, who, "guess", guesser).status_code == 200
    assert log_in(client, "c@example.com", "guess", guesser).status_code == 429
    assert log_in(client, "alice@example.com", RIGHT, guesser).status_code == 429
    assert log_in(client, "alice@example.com", RIGHT, address()).status_code == 302


def test_a_right_password_before_the_limit_resets_the_count(client, alice, limits):
    addr = address()
    for _ in range(2):
        log_in(client, "alice@example.com", "wrong", addr)
    assert log_in(client, "alice@example.com", RIGHT, addr).status_code == 302
    client.logout()
    for _ in range(2):
        log_in(client, "alice@example.com", "wrong", addr)
    assert log_in(client, "alice@example.com", RIGHT, addr).status_code == 302


@pytest.mark.parametrize(
    "url, data",
    [
        ("/accounts/signup/", {"email": "x@example.com", "password": "a long and unusual passphrase"}),
        ("/accounts/login/", {"username": "x@example.com", "password": "whatever"}),
        ("/admin/login/", {"username": "x", "password": "whatever"}),
    ],
)
def test_attempts_that_hash_a_password_are_limited_per_address(client, settings, url, data):
    settings.ACCOUNTS_ATTEMPTS_PER_MINUTE = 4
    settings.AXES_FAILURE_LIMIT = 100
    flooding = address()
    statuses = [client.post(url, data, REMOTE_ADDR=flooding).status_code for _ in range(5)]
    assert 429 not in statuses[:4]
    assert statuses[4] == 429
    refused = client.post(url, data, REMOTE_ADDR=flooding)
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert "Too many attempts" in refused.content.decode()
    # Another address is not held back; reading the page is not an attempt.
    assert client.post(url, data, REMOTE_ADDR=address()).status_code != 429
    assert client.get(url, REMOTE_ADDR=flooding).status_code != 429
