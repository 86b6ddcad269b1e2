"""What error reports (the DEBUG page, mails to admins) may show of the settings and the request."""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter


class SecretsFilter(SafeExceptionReporterFilter):
    # Django masks names with API, TOKEN, KEY, SECRET, PASS, SIGNATURE or
    # HTTP_COOKIE in them. Ours also hold secrets under other names: storage
    # connection strings carry an AccountKey, database and Redis URLs (and the
    # cache's LOCATION, which is the Redis URL) may carry a password.
    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|CONNECTION_STRING|DATABASE_URL|REDIS_URL|LOCATION",
        flags=re.IGNORECASE,
    )
