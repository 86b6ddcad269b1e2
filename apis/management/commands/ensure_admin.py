import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the 'admin' superuser if there is none (password from PORTAL_ADMIN_PASSWORD, else generated)."

    def handle(self, *args, **options):
        User = get_user_model()
        if User.objects.filter(username="admin").exists():
            self.stdout.write("Admin account 'admin' exists; its password is unchanged.")
            return
        password = os.getenv("PORTAL_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", os.getenv("ADMIN_EMAIL", "admin@localhost"), password)
        if os.getenv("PORTAL_ADMIN_PASSWORD"):
            self.stdout.write("Created admin account 'admin' with the password from PORTAL_ADMIN_PASSWORD.")
        else:
            # Printed once, here, and never stored anywhere in clear.
            self.stdout.write(self.style.WARNING(f"Created admin account 'admin' with password: {password}"))
