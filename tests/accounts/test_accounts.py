"""Signing up, logging in and out, resetting a password, the profile page."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db.models.signals import pre_save

pytestmark = pytest.mark.django_db

PASSWORD = "a long and unusual passphrase"


def test_it_signs_up_with_an_email_and_a_password_and_logs_in(client):
    response = client.post("/accounts/signup/", {"email": "Dev@Example.com", "password": PASSWORD})
    assert response.status_code == 302
    user = get_user_model().objects.get()
    assert user.email == "dev@example.com" and user.username == "dev@example.com"
    assert client.get("/accounts/profile/").status_code == 200


def test_it_refuses_a_taken_email_and_a_weak_password(client, alice):
    page = client.post("/accounts/signup/", {"email": "ALICE@example.com", "password": PASSWORD}).content.decode()
    assert "already exists" in page
    page = client.post("/accounts/signup/", {"email": "new@example.com", "password": "123"}).content.decode()
    assert "too short" in page
    assert get_user_model().objects.count() == 1


def test_it_logs_in_with_the_email_address(client, alice):
    response = client.post("/accounts/login/", {"username": "Alice@example.com", "password": "alice's long password"})
    assert response.status_code == 302 and response["Location"] == "/accounts/profile/"


def test_it_says_so_when_the_password_is_wrong(client, alice):
    page = client.post("/accounts/login/", {"username": "alice@example.com", "password": "nope"}).content.decode()
    assert "correct" in page and "errorlist" in page


def test_it_logs_out_with_a_post(client, alice):
    client.force_login(alice)
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/accounts/profile/").status_code == 302


def test_the_profile_needs_a_login(client):
    response = client.get("/accounts/profile/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_it_resets_a_forgotten_password_by_email(client, alice, settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    client.post("/accounts/password-reset/", {"email": "alice@example.com"})
    assert len(mail.outbox) == 1
    link = re.search(r"http://127.0.0.1:8000(/accounts/password-reset/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/complete/"
    response = client.post("/accounts/login/", {"username": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/profile/"


def test_a_reset_for_an_unknown_address_sends_nothing_and_reveals_nothing(client):
    response = client.post("/accounts/password-reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302 and not mail.outbox


def test_the_profile_answers_only_reads(client, alice):
    client.force_login(alice)
    assert client.get("/accounts/profile/").status_code == 200
    assert client.post("/accounts/profile/").status_code == 405


def test_it_says_the_address_is_taken_when_another_sign_up_wins_the_race(client, django_user_model):
    # The other request creates the account after this one's form was checked
    # and just before it saves its own.
    def other_request(sender, instance, **kwargs):
        pre_save.disconnect(other_request, sender=django_user_model)
        django_user_model.objects.create_user("race@example.com", "race@example.com", "another long password")

    pre_save.connect(other_request, sender=django_user_model)
    try:
        page = client.post("/accounts/signup/", {"email": "race@example.com", "password": PASSWORD})
    finally:
        pre_save.disconnect(other_request, sender=django_user_model)
    assert page.status_code == 200
    assert "An account with this e-mail address already exists." in page.content.decode()


def test_the_profile_shows_no_template_comment(client, alice):
    client.force_login(alice)
    page = client.get("/accounts/profile/").content.decode()
    assert "{#" not in page and "#}" not in page and "Loaded after the page" not in page


def test_the_login_page_says_the_site_name_not_the_host(client, settings):
    settings.SITE_NAME = "Contoso APIs"
    page = client.get("/accounts/login/", HTTP_HOST="127.0.0.1").content.decode()
    assert "<title>Log in · Contoso APIs</title>" in page
    assert "127.0.0.1" not in page


def test_the_password_reset_mail_says_the_site_name(client, alice, settings):
    settings.SITE_NAME = "Contoso APIs"
    client.post("/accounts/password-reset/", {"email": "alice@example.com"}, HTTP_HOST="127.0.0.1")
    assert mail.outbox[0].subject == "Reset your Contoso APIs password"
