"""Subscription now lives in the subscriptions app (same table): Call's
foreign key points there, and the gateway's model state lets it go. No
change to the database."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("gateway", "0002_call_bad_request_outcome"),
        ("subscriptions", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="call",
                    name="subscription",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="calls",
                        to="subscriptions.subscription",
                    ),
                ),
                migrations.DeleteModel(name="Subscription"),
            ],
            database_operations=[],
        ),
    ]
