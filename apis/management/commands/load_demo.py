from django.core.management.base import BaseCommand

from apis import demo


class Command(BaseCommand):
    help = "Register the walkthrough's AzureML Demo API and the Starter and Unlimited products (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the demo web service's ids and key as JSON.")

    def handle(self, *args, **options):
        api = demo.load()
        if not options["json"]:
            self.stdout.write(f"Loaded {api.name}: {api.operations.count()} operations, backend {api.service_url}")
