"""Storage credentials of BES jobs: encrypted at rest, masked in the console's history, and not kept forever."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from mlservice import worker
from mlservice.models import BatchJob
from tests.mlservice.test_bes import call

pytestmark = pytest.mark.django_db

ACCOUNT_KEY = "c3RvcmFnZSBhY2NvdW50IGtleSBvZiBhIGRldmVsb3Blcg=="
SIGNATURE = "c2FzIHNpZ25hdHVyZQ%3D%3D"
BODY = {
    "Input": {
        "ConnectionString": f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={ACCOUNT_KEY}",
        "RelativeLocation": "/c/in.csv",
    },
    "Outputs": {
        "output1": {
            "BaseLocation": "https://acct.blob.core.windows.net/",
            "RelativeLocation": "/c/out.csv",
            "SasBlobToken": f"?sv=2024-01-01&sr=b&sp=w&sig={SIGNATURE}",
        }
    },
    "GlobalParameters": {},
}


def stored_row(job_id: str) -> str:
    """The job's row as the database holds it, every column as text."""
    table = BatchJob._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE job_id = %s", [job_id])
        return " ".join(str(value) for value in cursor.fetchone())


def test_a_jobs_storage_credentials_are_encrypted_in_the_database(client, service):
    job_id = call(client, service, "post", body=BODY).json()
    row = stored_row(job_id)
    assert ACCOUNT_KEY not in row and SIGNATURE not in row and "AccountKey" not in row
    # The worker still reads them as submitted.
    job = BatchJob.objects.get(job_id=job_id)
    assert job.input_ref == BODY["Input"]
    assert job.outputs == BODY["Outputs"]


def test_a_job_whose_references_cannot_be_decrypted_fails_saying_why(client, service, settings):
    job_id = call(client, service, "post", body=BODY).json()
    call(client, service, "post", f"/{job_id}/start")
    settings.KEY_ENCRYPTION_KEY = "another key than the one the job was stored with"
    worker.run_once("test-worker")
    details = BatchJob.objects.get(job_id=job_id).details
    assert "KEY_ENCRYPTION_KEY" in details and "Submit it again" in details


def test_old_jobs_are_deleted_after_the_retention_period(service, settings):
    settings.MLSERVICE_JOB_RETENTION_DAYS = 30
    now = timezone.now()

    def job(state, *, ended_days_ago=None, created_days_ago=0):
        made = BatchJob.objects.create(service=service, input_ref={"RelativeLocation": "/c/x"}, state=state)
        ended = now - timedelta(days=ended_days_ago) if ended_days_ago is not None else None
        BatchJob.objects.filter(pk=made.pk).update(created=now - timedelta(days=created_days_ago), ended=ended)
        return made.job_id

    gone = {
        job(BatchJob.FINISHED, ended_days_ago=31, created_days_ago=31),
        job(BatchJob.FAILED, ended_days_ago=40, created_days_ago=40),
        job(BatchJob.NOT_STARTED, created_days_ago=31),
    }
    kept = {
        job(BatchJob.FINISHED, ended_days_ago=29, created_days_ago=35),
        job(BatchJob.RUNNING, created_days_ago=60),
        job(BatchJob.NOT_STARTED, created_days_ago=1),
    }
    assert worker.delete_old_jobs() == 3
    assert set(BatchJob.objects.values_list("job_id", flat=True)) == kept
    assert not BatchJob.objects.filter(job_id__in=gone).exists()


def test_the_consoles_history_masks_storage_credentials_and_a_re_send_restores_them(alice):
    from console import forms
    from console.models import Send

    state = forms.State(body=json.dumps(BODY))
    redacted = state.redacted()
    assert ACCOUNT_KEY not in json.dumps(redacted) and SIGNATURE not in json.dumps(redacted)
    assert "AccountKey=••••••••" in redacted["body"] and "sig=••••••••" in redacted["body"]

    from apis.models import Api, Operation

    api = Api.objects.create(name="ML", path="ml")
    operation = Operation.objects.create(api=api, method="POST", url_template="/jobs", display_name="Submit")
    sent = Send.objects.create(user=alice, operation=operation, method="POST", url="/jobs", form=redacted)
    assert json.loads(forms.from_history(sent, alice).body) == BODY
