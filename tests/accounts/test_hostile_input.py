"""What a hostile visitor tried on the account pages, and what error reports may show."""

from __future__ import annotations

import sys

import pytest
from django.test import RequestFactory
from django.views.debug import ExceptionReporter

pytestmark = pytest.mark.django_db

PASSWORD = "a long and unusual passphrase"


@pytest.mark.parametrize(
    "next_value, location",
    [
        ("true", "/products/"),  # a view name to redirect(), once a NoReverseMatch and a 500
        ("apis-home", "/products/"),
        ("https://evil.example/", "/products/"),
        ("//evil.example/", "/products/"),
        ("/apis/", "/apis/"),
    ],
)
def test_sign_up_follows_only_a_path_on_this_site(client, next_value, location):
    response = client.post(f"/accounts/signup/?next={next_value}", {"email": "dev@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == location


SECRETS = ["c2VjcmV0IGtleQ==", "redis-password", "db-password"]


@pytest.fixture
def secret_settings(settings):
    """Settings that hold secrets under names Django's own filter does not catch."""
    settings.MLSERVICE_DEMO_CONNECTION_STRING = f"AccountName=a;AccountKey={SECRETS[0]};BlobEndpoint=http://x/a;"
    settings.REDIS_URL = f"redis://:{SECRETS[1]}@cache:6379/0"
    settings.DATABASE_URL = f"postgres://portico:{SECRETS[2]}@db/portico"
    settings.CACHES = {"default": {"BACKEND": "x", "LOCATION": settings.REDIS_URL}}
    # Whatever a setting is called, a connection string or a URL with a password is masked.
    settings.SOME_NEW_STORAGE = f"AccountName=b;AccountKey={SECRETS[0]};"
    settings.SOME_NEW_URL = f"amqp://user:{SECRETS[2]}@broker/"


def raise_an_error():
    raise RuntimeError("boom")


@pytest.mark.usefixtures("secret_settings")
def test_error_reports_mask_every_setting_that_holds_a_secret(settings):
    request = RequestFactory().get("/accounts/signup/")
    try:
        raise_an_error()
    except RuntimeError:
        # The debug page and the mails to admins are both made by this reporter.
        reporter = ExceptionReporter(request, *sys.exc_info())
        page = reporter.get_traceback_html() + reporter.get_traceback_text()
    assert "MLSERVICE_DEMO_CONNECTION_STRING" in page and "SOME_NEW_STORAGE" in page
    for secret in [*SECRETS, settings.AZURITE_KEY]:
        assert secret not in page


def test_a_password_reset_link_leads_to_site_url_whatever_the_host_header(client, alice, settings):
    from django.core import mail

    settings.SITE_URL = "https://portal.example.com"
    client.post("/accounts/password-reset/", {"email": "alice@example.com"}, HTTP_HOST="127.0.0.1:18998")
    (message,) = mail.outbox
    assert "https://portal.example.com/accounts/password-reset/" in message.body
    assert "18998" not in message.body + message.subject
    assert message.subject == f"Reset your {settings.SITE_NAME} password"
