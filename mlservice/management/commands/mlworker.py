from __future__ import annotations

import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from mlservice import worker


class Command(BaseCommand):
    help = "Run BES jobs of the embedded AzureML web service: claim started jobs from the database and run them."

    def add_arguments(self, parser):
        parser.add_argument("--burst", action="store_true", help="Run the jobs that are queued, then exit.")
        parser.add_argument(
            "--supervise",
            action="store_true",
            help="Run the worker in a child process and start it again whenever it crashes or is killed.",
        )

    def handle(self, *args, **options):
        if options["supervise"]:
            raise SystemExit(worker.supervise([sys.executable, str(settings.BASE_DIR / "manage.py"), "mlworker"]))
        worker.run_forever(burst=options["burst"])
