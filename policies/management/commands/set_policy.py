"""python manage.py set_policy (--global | --product SLUG | --api SLUG [--operation NAME]) FILE|-"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from apis.models import Api, Product
from policies import document, pipeline
from policies.models import Policy


class Command(BaseCommand):
    help = (
        "Set the policy document of one scope from FILE ('-' reads standard input). "
        "An empty document removes the policy; an invalid one is refused (exit code 2) with its line and the reason."
    )

    def add_arguments(self, parser) -> None:
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("--global", dest="is_global", action="store_true", help="The global policy (all APIs).")
        scope.add_argument("--product", metavar="SLUG", help="A product's policy.")
        scope.add_argument("--api", metavar="SLUG", help="An API's policy, or with --operation an operation's.")
        parser.add_argument("--operation", metavar="NAME", help="The operation's display name or slug (with --api).")
        parser.add_argument("file", metavar="FILE", help="The XML document, or '-' for standard input.")

    def handle(self, *args, **options) -> None:
        if options["operation"] and not options["api"]:
            raise CommandError("--operation needs --api SLUG.", returncode=2)
        text = self.read(options["file"])
        scope = self.scope(options)
        if text.strip():
            try:
                pipeline.load(text)
            except document.PolicyError as e:
                raise CommandError(f"{options['file']}: {e}", returncode=2) from None
        existing = Policy.objects.for_scope(**scope).first()
        if not text.strip():
            if existing is not None:
                existing.delete()
                self.stdout.write(f"Removed the {existing.scope_label} policy.")
            else:
                self.stdout.write("No policy at this scope; nothing to remove.")
            return
        policy = existing or Policy(**scope)
        policy.document = text
        policy.save()
        self.stdout.write(f"Set the {policy.scope_label} policy.")

    def read(self, name: str) -> str:
        try:
            if name == "-":
                return sys.stdin.read()
            with open(name, encoding="utf-8") as f:
                return f.read()
        except (OSError, UnicodeDecodeError) as e:
            raise CommandError(f"Cannot read {name}: {e}", returncode=2) from None

    def scope(self, options) -> dict:
        if options["is_global"]:
            return {}
        if options["product"]:
            product = Product.objects.filter(slug=options["product"]).first()
            if product is None:
                raise CommandError(f"No product with the slug {options['product']!r}.", returncode=2)
            return {"product": product}
        api = Api.objects.filter(slug=options["api"]).first()
        if api is None:
            raise CommandError(f"No API with the slug {options['api']!r}.", returncode=2)
        if not options["operation"]:
            return {"api": api}
        name = options["operation"]
        found = list(api.operations.filter(Q(display_name=name) | Q(slug=name)))
        if not found:
            raise CommandError(f"{api.name} has no operation named {name!r}.", returncode=2)
        if len(found) > 1:
            raise CommandError(f"{api.name} has several operations named {name!r}: use its slug.", returncode=2)
        return {"operation": found[0]}
