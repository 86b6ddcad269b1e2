from django.db import migrations


def rebuild_rollups(apps, schema_editor):
    # The rollups counted a backend's 4xx as a success: without a watermark the
    # next `rollup_calls` rolls every raw record kept up again, now as "client error"
    # (hours whose raw records are already pruned keep their old counts).
    apps.get_model("monitoring", "RollupState").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0003_kinds"),
        ("gateway", "0005_call_client_error_outcome"),
    ]

    operations = [migrations.RunPython(rebuild_rollups, migrations.RunPython.noop)]
