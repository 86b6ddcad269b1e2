"""Settings for bench/gateway.py: Portico's, plus a bare proxy view to compare with."""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "gateway_bench_urls"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SECURE_SSL_REDIRECT = False
GATEWAY_ENFORCE_SCHEME = False
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR"}}
