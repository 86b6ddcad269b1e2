import logging
import re

from django.apps import AppConfig

from subscriptions.keys import KEY_QUERY_PARAMETER

# The gateway decodes parameter names, so "subscription%2Dkey" is a key too:
# match every character of the name literally or percent-encoded.
KEY_NAME = "".join(f"(?:{re.escape(c)}|%{ord(c):02x})" for c in KEY_QUERY_PARAMETER)
KEY_IN_QUERY = re.compile(rf"({KEY_NAME}=)[^&\s\"']*", re.IGNORECASE)


class RedactKeys(logging.Filter):
    """Subscription keys sent in the query string must not reach the logs
    (the development server logs the request line of every 4xx and 5xx)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = KEY_IN_QUERY.sub(r"\1[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


class GatewayConfig(AppConfig):
    name = "gateway"

    def ready(self) -> None:
        from gateway import keycache, routing  # noqa: F401  (connect their signals)

        for name in ("django.server", "django.request", "gunicorn.access"):
            logging.getLogger(name).addFilter(RedactKeys())
