"""BatchJob: its owner (the calling subscription), and its blob references encrypted at rest."""

from django.db import migrations, models


def encrypt_existing(apps, schema_editor):
    from mlservice.models import encrypt_refs

    BatchJob = apps.get_model("mlservice", "BatchJob")
    for job in BatchJob.objects.only("pk", "input_ref", "outputs").iterator():
        refs = encrypt_refs({"input": job.input_ref or {}, "outputs": job.outputs or {}})
        BatchJob.objects.filter(pk=job.pk).update(refs=refs)


def decrypt_existing(apps, schema_editor):
    from mlservice.models import decrypt_refs

    BatchJob = apps.get_model("mlservice", "BatchJob")
    for job in BatchJob.objects.only("pk", "refs").iterator():
        refs = decrypt_refs(job.refs)
        BatchJob.objects.filter(pk=job.pk).update(input_ref=refs.get("input") or {}, outputs=refs.get("outputs") or {})


class Migration(migrations.Migration):
    dependencies = [("mlservice", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="batchjob",
            name="owner",
            field=models.CharField(blank=True, db_index=True, max_length=64),
        ),
        migrations.AddField(
            model_name="batchjob",
            name="refs",
            field=models.TextField(default="", editable=False),
        ),
        migrations.AlterField(model_name="batchjob", name="input_ref", field=models.JSONField(null=True)),
        migrations.RunPython(encrypt_existing, decrypt_existing),
        migrations.RemoveField(model_name="batchjob", name="input_ref"),
        migrations.RemoveField(model_name="batchjob", name="outputs"),
    ]
