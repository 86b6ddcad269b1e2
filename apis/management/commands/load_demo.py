from django.core.management.base import BaseCommand

from apis import demo


class Command(BaseCommand):
    help = "Register the walkthrough's AzureML Demo API and the Starter and Unlimited products (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the demo web service's ids and key as JSON.")

    def handle(self, *args, **options):
        import json

        from mlservice import demo as ml_demo
        from policies import demo as policy_demo

        api = demo.load()
        service = ml_demo.load(api)
        policy_demo.load(api, service)
        if options["json"]:
            self.stdout.write(json.dumps(ml_demo.summary(service)))
            return
        self.stdout.write(f"Loaded {api.name}: {api.operations.count()} operations, backend {api.service_url}")
        self.stdout.write(ml_demo.describe(service))
