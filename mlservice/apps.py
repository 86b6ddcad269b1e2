from __future__ import annotations

import logging

from django.apps import AppConfig


class MlserviceConfig(AppConfig):
    name = "mlservice"

    def ready(self) -> None:
        # azure-core logs every storage request and response at INFO: a BES
        # job of a few thousand blocks would drown the worker's own log.
        logging.getLogger("azure").setLevel(logging.WARNING)
