from __future__ import annotations

from django.core.management.base import BaseCommand

from mlservice import worker


class Command(BaseCommand):
    help = "Run BES jobs of the embedded AzureML web service: claim started jobs from the database and run them."

    def add_arguments(self, parser):
        parser.add_argument("--burst", action="store_true", help="Run the jobs that are queued, then exit.")

    def handle(self, *args, **options):
        worker.run_forever(burst=options["burst"])
