"""Portico settings.

Every setting comes from the environment, with a default that runs a fresh
checkout on one machine: SQLite and a generated secret key under var/, the
cache in local memory. Production sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS,
DATABASE_URL and REDIS_URL (see README.md).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.getenv("PORTAL_VAR_DIR", BASE_DIR / "var"))


def envbool(name: str, default: bool) -> bool:
    value = os.getenv(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def envint(name: str, default: int) -> int:
    value = os.getenv(name)
    return int(value) if value else default


def envfloat(name: str, default: float) -> float:
    value = os.getenv(name)
    return float(value) if value else default


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


def envsecret(name: str) -> str | None:
    """A secret from NAME, or from the file named by NAME_FILE (Docker/K8s secrets)."""
    if os.getenv(name):
        return os.environ[name]
    path = os.getenv(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return None


def local_secret_key() -> str:
    # A fresh checkout gets its own random key, kept under var/ so that sessions
    # and the subscription keys encrypted with it survive a restart.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def database_from_url(url: str) -> dict:
    """DATABASE_URL as Django's DATABASES entry: postgres://user:pass@host:port/name or sqlite:///path."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parts.path[1:]) or ":memory:"}
    if parts.scheme in ("postgres", "postgresql", "pgsql"):
        options: dict = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        pool_size = envint("DB_POOL_SIZE", 10)
        if pool_size > 0:
            # Django's pool (psycopg_pool), per process: at most pool_size
            # connections however many threads serve requests, so workers x
            # threads never passes PostgreSQL's max_connections (README:
            # sizing). A thread finding them all in use waits DB_POOL_TIMEOUT.
            options["pool"] = {"min_size": 1, "max_size": pool_size, "timeout": envfloat("DB_POOL_TIMEOUT", 10.0)}
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            # A pooled connection goes back to the pool at the end of each
            # request (Django refuses persistent connections with a pool).
            "CONN_MAX_AGE": 0 if pool_size > 0 else envint("DB_CONN_MAX_AGE", 60),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    raise ValueError(f"DATABASE_URL: unsupported scheme {parts.scheme!r}")


# openapi-spec-validator (the OpenAPI import) switches to jsonschema-rs when
# that is installed, and Schemathesis, a test requirement, brings it: keep the
# validator `make run` has, so that tests see the messages users get.
os.environ.setdefault("OPENAPI_SPEC_VALIDATOR_SCHEMA_VALIDATOR_BACKEND", "jsonschema")

DEBUG = envbool("DEBUG", True)
SECRET_KEY = envsecret("SECRET_KEY") or local_secret_key()
# Subscription keys are looked up and encrypted with keys derived from this,
# or from SECRET_KEY when it is empty (subscriptions/models.py). Set it to rotate
# SECRET_KEY without invalidating every developer's keys.
KEY_ENCRYPTION_KEY = envsecret("KEY_ENCRYPTION_KEY") or ""
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

PORT = envint("PORT", 8000)
# The address people reach the portal at; links in e-mails and the gateway URL
# shown on the API pages are built from it.
SITE_URL = os.getenv("SITE_URL", f"http://127.0.0.1:{PORT}").rstrip("/")
HTTPS_SITE = SITE_URL.startswith("https://")
SITE_NAME = os.getenv("SITE_NAME", "Portico")
# Where the gateway is reached. Every operation's public URL is
# GATEWAY_URL/{api suffix}{operation path}.
GATEWAY_URL = os.getenv("GATEWAY_URL", f"{SITE_URL}/gateway").rstrip("/")
# The gateway's limits on each forwarded call (see gateway/pipeline.py).
GATEWAY_CONNECT_TIMEOUT = envfloat("GATEWAY_CONNECT_TIMEOUT", 5.0)
GATEWAY_READ_TIMEOUT = envfloat("GATEWAY_READ_TIMEOUT", 60.0)
GATEWAY_MAX_REQUEST_BYTES = envint("GATEWAY_MAX_REQUEST_BYTES", 10 * 1024 * 1024)
GATEWAY_MAX_RESPONSE_BYTES = envint("GATEWAY_MAX_RESPONSE_BYTES", 100 * 1024 * 1024)
# The console posts its form (multipart, so a body is not percent-encoded to
# thrice its size) with a request body of up to the gateway's limit: Django
# must read that much, or it answers 400 before the console can say a word.
DATA_UPLOAD_MAX_MEMORY_SIZE = GATEWAY_MAX_REQUEST_BYTES + 1024 * 1024
# Refuse calls on a scheme the API does not allow (the demo API is HTTPS-only
# but runs on http locally): on by default only when DEBUG is off and the
# portal is served over https (SITE_URL).
GATEWAY_ENFORCE_SCHEME = envbool("GATEWAY_ENFORCE_SCHEME", not DEBUG and HTTPS_SITE)
# When the counters' store (Redis) cannot be reached: off (the default) answers
# 503, so no limit is ever passed; on admits every call unchecked, with a
# warning in the log, so an outage of Redis is not one of the APIs.
GATEWAY_COUNTERS_FAIL_OPEN = envbool("GATEWAY_COUNTERS_FAIL_OPEN", False)
# Write call records from a background thread in batches (gateway/records.py).
GATEWAY_RECORD_ASYNC = envbool("GATEWAY_RECORD_ASYNC", True)
# A gateway-only node (portal/serve.py): paths outside the gateway get its JSON 404.
GATEWAY_ONLY = envbool("GATEWAY_ONLY", False)
# Threads (so database connections) per server process for the gateway's
# reads on a cache miss; the event loop itself never waits on the database.
GATEWAY_DB_THREADS = envint("GATEWAY_DB_THREADS", 4)
# The Try It console reaches the gateway in-process, through Django's handler,
# so a Send never waits for a second server thread (see console/transport.py);
# "http" sends over the network instead, for a gateway on other hosts.
CONSOLE_TRANSPORT = os.getenv("CONSOLE_TRANSPORT", "inprocess")
CONSOLE_TIMEOUT = envfloat("CONSOLE_TIMEOUT", 30)
# The console's own threads per process for sending (never the server's); at
# most this many Sends wait on the gateway at once, the others queue.
CONSOLE_SEND_THREADS = envint("CONSOLE_SEND_THREADS", 8)
# Sends one developer may have under way at once (per process): the others
# get a message, so that no one holds all the send threads.
CONSOLE_SENDS_PER_DEVELOPER = envint("CONSOLE_SENDS_PER_DEVELOPER", 2)
# The most of a response body the console reads and keeps for download.
CONSOLE_DOWNLOAD_CAP = envint("CONSOLE_DOWNLOAD_CAP", 10 * 1024 * 1024)
# The embedded AzureML-compatible web service, the demo API's backend.
MLSERVICE_URL = os.getenv("MLSERVICE_URL", f"{SITE_URL}/ml").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "apis",
    "subscriptions",
    "accounts",
    "gateway",
    "mlservice",
    "monitoring",
    "console",
    "policies",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # A limit on password-hashing attempts per address (accounts/throttle.py).
    "accounts.throttle.AttemptsMiddleware",
    # Last, as django-axes asks: it answers a locked-out log-in.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.site",
            ],
        },
    }
]

if os.getenv("DATABASE_URL"):
    DATABASES = {"default": database_from_url(os.environ["DATABASE_URL"])}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "portico.sqlite3",
            # The gateway, the worker and the web server write to the same file.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
            # Opening a connection (and its PRAGMAs) costs more than a gateway
            # call's own query: keep each thread's connection.
            "CONN_MAX_AGE": envint("DB_CONN_MAX_AGE", 60),
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.getenv("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.getenv("CACHE_KEY_PREFIX", "portico"),
            "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Brute-force protection (django-axes): after AXES_FAILURE_LIMIT wrong
# passwords for one account, or from one address, log-ins for that account or
# from that address are refused for AXES_COOLOFF_MINUTES, before any password
# is hashed. Its backend comes first so that it checks before Django's does.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=envint("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_CALLABLE = "accounts.throttle.axes_username"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Log-in and sign-up attempts per address and minute, whatever their outcome:
# each hashes a password on purpose slowly, and a flood of them would starve
# the gateway of CPU (accounts/throttle.py).
ACCOUNTS_ATTEMPTS_PER_MINUTE = envint("ACCOUNTS_ATTEMPTS_PER_MINUTE", 20)
LOGIN_URL = "accounts-login"
LOGIN_REDIRECT_URL = "accounts-profile"
LOGOUT_REDIRECT_URL = "apis-home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.getenv("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.getenv("STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Monitoring (docs/monitoring.md): raw call records older than this are
# deleted by `manage.py rollup_calls` once rolled up into hourly aggregates.
CALL_RETENTION_DAYS = envint("CALL_RETENTION_DAYS", 30)
# Hourly rollups are kept this long; the dashboard's longest range is 92 days.
ROLLUP_RETENTION_DAYS = envint("ROLLUP_RETENTION_DAYS", 400)

DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "portico@localhost")
ADMIN_EMAIL = os.getenv("ADMIN_EMAIL", "admin@localhost")
EMAIL_HOST = os.getenv("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = envint("EMAIL_PORT", 587)
    EMAIL_HOST_USER = os.getenv("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = envsecret("EMAIL_HOST_PASSWORD") or ""
    EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", True)
    EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# Production hardening: on by default whenever DEBUG is off and the portal's
# public address (SITE_URL) is https. `make run` serves plain http on
# 127.0.0.1 with DEBUG off: redirecting that to https, or keeping cookies for
# https only, would leave nothing reachable. Each can be set on its own, e.g.
# off behind a TLS-terminating proxy that needs it.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG and HTTPS_SITE)
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", not DEBUG and HTTPS_SITE)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", not DEBUG and HTTPS_SITE)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000 if not DEBUG and HTTPS_SITE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG and HTTPS_SITE)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
if envbool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
# Settings and request headers that hold secrets are masked in error reports.
DEFAULT_EXCEPTION_REPORTER_FILTER = "portal.errors.SecretsFilter"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}

# ---- mlservice: the embedded AzureML-compatible web service (RRS, BES jobs, Azurite) ----
# Largest RRS/BES request body, and the most cells (rows x 2^bits) one RRS answer may hold.
MLSERVICE_MAX_BODY_BYTES = envint("MLSERVICE_MAX_BODY_BYTES", 4 * 1024 * 1024)
MLSERVICE_MAX_OUTPUT_CELLS = envint("MLSERVICE_MAX_OUTPUT_CELLS", 4_000_000)
# The BES worker: how often an idle worker looks for jobs, how long a claimed
# job stays its own without a heartbeat, and how often it beats.
MLSERVICE_WORKER_POLL_SECONDS = envfloat("MLSERVICE_WORKER_POLL_SECONDS", 1.0)
MLSERVICE_WORKER_LEASE_SECONDS = envfloat("MLSERVICE_WORKER_LEASE_SECONDS", 60.0)
MLSERVICE_WORKER_HEARTBEAT_SECONDS = envfloat("MLSERVICE_WORKER_HEARTBEAT_SECONDS", 5.0)
# A job whose worker died this many times is failed instead of run again.
MLSERVICE_JOB_MAX_ATTEMPTS = envint("MLSERVICE_JOB_MAX_ATTEMPTS", 2)
# Connection and read timeout of every blob storage call, and its retries.
MLSERVICE_STORAGE_TIMEOUT = envfloat("MLSERVICE_STORAGE_TIMEOUT", 20.0)
MLSERVICE_STORAGE_RETRIES = envint("MLSERVICE_STORAGE_RETRIES", 2)
# Jobs (with their blob references, which hold storage credentials) are
# deleted by the worker this many days after they ended, or were submitted
# and never started.
MLSERVICE_JOB_RETENTION_DAYS = envint("MLSERVICE_JOB_RETENTION_DAYS", 30)
# How long the read-only SAS of a finished job's results stays valid.
MLSERVICE_RESULTS_SAS_HOURS = envint("MLSERVICE_RESULTS_SAS_HOURS", 24)
# Azurite, the local blob store `make run` starts (Procfile), with Azure's
# well-known development account.
AZURITE_HOST = os.getenv("AZURITE_HOST", "127.0.0.1")
AZURITE_BLOB_PORT = envint("AZURITE_BLOB_PORT", 10000)
AZURITE_LOCATION = Path(os.getenv("AZURITE_LOCATION", VAR_DIR / "azurite"))
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# The only blob storage hosts a BES job may name (mlservice/egress.py): exact
# hosts (host or host:port, which may be loopback or private) and domain
# wildcards (*.domain, public addresses only), comma-separated.
MLSERVICE_STORAGE_ALLOWED_HOSTS = envlist(
    "MLSERVICE_STORAGE_ALLOWED_HOSTS", f"{AZURITE_HOST}:{AZURITE_BLOB_PORT},*.blob.core.windows.net"
)
# The storage the demo and the dashboard's samples point at.
MLSERVICE_DEMO_CONNECTION_STRING = os.getenv(
    "MLSERVICE_DEMO_CONNECTION_STRING",
    f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
    f"BlobEndpoint=http://{AZURITE_HOST}:{AZURITE_BLOB_PORT}/{AZURITE_ACCOUNT};",
)
# The batch job panel (console/batch_views.py) uploads the developer's CSV
# there, in this container, and the job writes its results next to it.
CONSOLE_BATCH_STORAGE = os.getenv("CONSOLE_BATCH_STORAGE", MLSERVICE_DEMO_CONNECTION_STRING)
CONSOLE_BATCH_CONTAINER = os.getenv("CONSOLE_BATCH_CONTAINER", "portal-batch")
CONSOLE_BATCH_MAX_BYTES = envint("CONSOLE_BATCH_MAX_BYTES", 10 * 1024 * 1024)
# How often the panel asks BES Status while a job runs (each ask is a gateway call).
CONSOLE_BATCH_POLL_SECONDS = envint("CONSOLE_BATCH_POLL_SECONDS", 2)
# The worker uploads a small demo input (/demo/input.csv) there as it starts,
# so the console's BES Submit example works as it is.
MLSERVICE_DEMO_INPUT = envbool("MLSERVICE_DEMO_INPUT", True)
