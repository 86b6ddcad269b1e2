import logging
import re

from django.apps import AppConfig

KEY_IN_QUERY = re.compile(r"(subscription-key=)[^&\s\"']*", re.IGNORECASE)


class RedactKeys(logging.Filter):
    """Subscription keys sent in the query string must not reach the logs
    (the development server logs the request line of every 4xx and 5xx)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "subscription-key=" in message.lower():
            record.msg, record.args = KEY_IN_QUERY.sub(r"\1[redacted]", message), ()
        return True


class GatewayConfig(AppConfig):
    name = "gateway"

    def ready(self) -> None:
        from gateway import routing  # noqa: F401  (connects the catalog signals)

        for name in ("django.server", "django.request", "gunicorn.access"):
            logging.getLogger(name).addFilter(RedactKeys())
