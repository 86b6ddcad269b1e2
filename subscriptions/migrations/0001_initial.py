"""Subscription moves here from the gateway app, table and all: this only
tells Django's migration state; the table gateway_subscription (made by
gateway 0001) is kept as it is, rows, indexes, constraints and sequence."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def rename_content_type(apps, schema_editor):
    # Permissions and admin log entries point at the content type: keep them
    # by renaming it rather than letting a new one be made.
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label="subscriptions", model="subscription").exists():
        ContentType.objects.using(db).filter(app_label="gateway", model="subscription").update(
            app_label="subscriptions"
        )


def restore_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label="gateway", model="subscription").exists():
        ContentType.objects.using(db).filter(app_label="subscriptions", model="subscription").update(
            app_label="gateway"
        )


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("apis", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("gateway", "0002_call_bad_request_outcome"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Subscription",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=200)),
                        (
                            "state",
                            models.CharField(
                                choices=[
                                    ("submitted", "Submitted"),
                                    ("active", "Active"),
                                    ("suspended", "Suspended"),
                                    ("cancelled", "Cancelled"),
                                    ("expired", "Expired"),
                                ],
                                db_index=True,
                                default="submitted",
                                max_length=10,
                            ),
                        ),
                        ("created", models.DateTimeField(default=django.utils.timezone.now)),
                        ("started", models.DateTimeField(blank=True, null=True)),
                        ("ended", models.DateTimeField(blank=True, null=True)),
                        ("primary_digest", models.CharField(editable=False, max_length=64, unique=True)),
                        ("secondary_digest", models.CharField(editable=False, max_length=64, unique=True)),
                        ("primary_encrypted", models.TextField(editable=False)),
                        ("secondary_encrypted", models.TextField(editable=False)),
                        (
                            "product",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="subscriptions",
                                to="apis.product",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="subscriptions",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={"db_table": "gateway_subscription", "ordering": ["-created"]},
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(rename_content_type, restore_content_type, elidable=True),
    ]
