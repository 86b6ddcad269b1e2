import sys

from django.core.management.base import BaseCommand, CommandError

from apis import importing, openapi
from apis.models import Product


class Command(BaseCommand):
    help = (
        "Import an OpenAPI 2.0, 3.0 or 3.1 document (JSON or YAML) as an API, or update an API from a new "
        "version of its document. One transaction: nothing is written if anything is wrong."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The document's path, or - to read standard input.")
        parser.add_argument("--api", default="", metavar="SLUG", help="The API to create or update (by slug).")
        parser.add_argument("--name", default="", help="The API's name (default: the document's title).")
        parser.add_argument(
            "--suffix", default="", help="The API's URL suffix at the gateway (default: a slug of the title)."
        )
        parser.add_argument(
            "--service-url",
            default="",
            metavar="URL",
            help="The backend's URL (default: the document's first server; a relative server URL is joined to it).",
        )
        parser.add_argument(
            "--product", action="append", default=[], metavar="SLUG", help="Add the API to this product (repeatable)."
        )
        parser.add_argument("--publish", action="store_true", help="Publish the API (an imported API is a draft).")
        parser.add_argument("--dry-run", action="store_true", help="Show what would change and write nothing.")

    def handle(self, *args, **options):
        try:
            data = self.read(options["file"])
            products = []
            for slug in options["product"]:
                product = Product.objects.filter(slug=slug).first()
                if product is None:
                    raise openapi.DocumentError(f"No product has the slug '{slug}'.")
                products.append(product)
            report = importing.import_document(
                data,
                slug=options["api"],
                name=options["name"],
                suffix=options["suffix"],
                service_url=options["service_url"],
                products=products,
                publish=options["publish"],
                dry_run=options["dry_run"],
            )
        except openapi.DocumentError as e:
            raise CommandError(str(e), returncode=2) from e
        for change in report.changes:
            self.stdout.write(str(change))
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}")
        prefix = "Dry run, nothing written. " if options["dry_run"] else ""
        verb = "would be created" if options["dry_run"] and report.created else "created" if report.created else ""
        self.stdout.write(f"{prefix}{report.summary}{f' (API {verb})' if verb else ''}.")

    def read(self, name: str) -> bytes:
        limit = openapi.MAX_BYTES + 1
        try:
            if name == "-":
                return sys.stdin.buffer.read(limit)
            with open(name, "rb") as f:
                return f.read(limit)
        except OSError as e:
            raise openapi.DocumentError(f"Cannot read {name}: {e.strerror}.") from e
