"""Shared fixtures: named users, and a real Chromium driven by Playwright.

Browser tests use Debian's chromium (Playwright's own browser download does
not work offline). Under CI=true a missing browser is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.getenv("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium when run as root."
        if os.getenv("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API runs an event loop in this thread; the live
    # server's database access from the test thread is still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture(autouse=True)
def _many_attempts_per_address(settings):
    # Every test logs in and signs up from 127.0.0.1, and the attempt counters
    # outlive a test's database: only tests/accounts/test_brute_force.py,
    # with addresses of its own, meets the per-address limit.
    settings.ACCOUNTS_ATTEMPTS_PER_MINUTE = 10_000


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "correct horse battery")


@pytest.fixture
def alice(django_user_model):
    """A developer."""
    return django_user_model.objects.create_user("alice", "alice@example.com", "alice's long password")


@pytest.fixture
def bob(django_user_model):
    """Another developer, who must never see alice's things."""
    return django_user_model.objects.create_user("bob", "bob@example.com", "bob's long password")


@pytest.fixture
def demo_api(db):
    from apis import demo

    return demo.load()
