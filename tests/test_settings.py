"""Settings come from the environment, and production settings pass Django's deploy checks."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from portal.settings import database_from_url

ROOT = Path(__file__).resolve().parent.parent


def test_it_reads_a_postgresql_url():
    db = database_from_url("postgres://portico:s%40cret@db.internal:5433/portico?sslmode=require")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "portico",
        "portico",
        "s@cret",
        "db.internal",
        "5433",
    )
    assert db["OPTIONS"] == {"sslmode": "require", "pool": {"min_size": 1, "max_size": 10, "timeout": 10.0}}
    # Django's pool returns connections at the end of each request instead.
    assert db["CONN_MAX_AGE"] == 0


def test_the_pool_is_sized_by_the_environment_and_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("DB_POOL_SIZE", "4")
    monkeypatch.setenv("DB_POOL_TIMEOUT", "2.5")
    assert database_from_url("postgres://db/portico")["OPTIONS"]["pool"] == {
        "min_size": 1,
        "max_size": 4,
        "timeout": 2.5,
    }
    monkeypatch.setenv("DB_POOL_SIZE", "0")
    monkeypatch.setenv("DB_CONN_MAX_AGE", "30")
    db = database_from_url("postgres://db/portico")
    assert "pool" not in db["OPTIONS"] and db["CONN_MAX_AGE"] == 30


def test_it_reads_a_sqlite_url():
    assert database_from_url("sqlite:////tmp/x.sqlite3")["NAME"] == "/tmp/x.sqlite3"


def test_production_settings_pass_the_deploy_checks(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        # Browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for this process only.
        if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    } | {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_HSTS_PRELOAD": "1",
        "ALLOWED_HOSTS": "portal.example.com",
        "SITE_URL": "https://portal.example.com",
        "PORTAL_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_subscription_key_secret_comes_from_the_environment(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")} | {
        "KEY_ENCRYPTION_KEY": "a-key-of-its-own",
        "PORTAL_VAR_DIR": str(tmp_path),
    }
    code = "from django.conf import settings; from portal.crypto import derived_key; import hashlib; print(settings.KEY_ENCRYPTION_KEY, derived_key(b'x') == hashlib.sha256(b'portico:x:a-key-of-its-own').digest())"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v0", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.split() == ["a-key-of-its-own", "True"], result.stderr
