from django.db import migrations


def store_bodies_uncompressed(apps, schema_editor):
    # Response bodies are kept for download only; PostgreSQL's TOAST compression
    # of a multi-megabyte body costs more than it saves.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE console_send ALTER COLUMN body SET STORAGE EXTERNAL")


class Migration(migrations.Migration):
    dependencies = [("console", "0001_initial")]

    operations = [migrations.RunPython(store_bodies_uncompressed, migrations.RunPython.noop)]
