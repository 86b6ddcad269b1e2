"""What error reports (the DEBUG page, mails to admins) may show of the settings and the request."""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter

# A value that is a secret whatever its setting's name: a storage connection
# string's account key, or a URL with a password (user:password@host).
SECRET_VALUE = re.compile(r"AccountKey=|SharedAccessSignature=|[?&]sig=|://[^/@\s]*:[^/@\s]*@", re.IGNORECASE)


class SecretsFilter(SafeExceptionReporterFilter):
    # Django masks names with API, TOKEN, KEY, SECRET, PASS, SIGNATURE or
    # HTTP_COOKIE in them. Ours also hold secrets under other names: storage
    # connection strings carry an AccountKey, database and Redis URLs (and the
    # cache's LOCATION, which is the Redis URL) may carry a password.
    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|CONNECTION_STRING|DATABASE_URL|REDIS_URL|LOCATION",
        flags=re.IGNORECASE,
    )

    def cleanse_setting(self, key, value):
        if type(value) is str and SECRET_VALUE.search(value):  # not lazy objects, which pose as str
            return self.cleansed_substitute
        return super().cleanse_setting(key, value)
