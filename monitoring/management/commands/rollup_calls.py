from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand

from monitoring import rollup


class Command(BaseCommand):
    help = (
        "Roll call records up into hourly aggregates for the monitoring dashboard, then delete raw records "
        "older than CALL_RETENTION_DAYS. Run it every few minutes (cron, a systemd timer, or a worker)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--lag-minutes", type=int, default=5, help="Leave hours that ended less than this ago.")
        parser.add_argument(
            "--rebuild", action="store_true", help="Recompute the rollups of every hour that still has raw records."
        )
        parser.add_argument("--no-prune", action="store_true", help="Keep raw records past the retention period.")

    def handle(self, *args, lag_minutes: int, rebuild: bool, no_prune: bool, **options):
        result = rollup.roll_up(lag=timedelta(minutes=lag_minutes), rebuild=rebuild)
        self.stdout.write(
            f"Rolled up {result.hours} hour(s) into {result.rows} row(s); complete until {result.rolled_until}."
        )
        if not no_prune:
            rollup.prune(result=result)
            self.stdout.write(
                f"Deleted {result.raw_deleted} call record(s) older than {settings.CALL_RETENTION_DAYS} days "
                f"and {result.rollups_deleted} rollup row(s) older than {settings.ROLLUP_RETENTION_DAYS} days."
            )
