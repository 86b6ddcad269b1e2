"""BES: jobs over CSV blobs in a real Azurite, run by the worker."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from azure.storage.blob import BlobSasPermissions, generate_blob_sas

from mlservice import hashing, worker
from mlservice.models import BatchJob


def call(client, service, method, path="", body=None, key=None):
    key = service.primary_key if key is None else key
    url = f"/ml{service.base_path}/jobs{path}?api-version=2.0"
    headers = {"Authorization": f"Bearer {key}"}
    if method == "post":
        return client.post(
            url, json.dumps(body) if body is not None else "", content_type="application/json", headers=headers
        )
    return getattr(client, method)(url, headers=headers)


def upload(container, name, text: str | bytes) -> str:
    container.upload_blob(name, text, overwrite=True)
    return f"/{container.container_name}/{name}"


def ref(azurite, location):
    return {"ConnectionString": azurite.connection_string, "RelativeLocation": location}


def submit(client, service, azurite, container, csv_text, output="results.csv", **extra):
    body = {
        "Input": ref(azurite, upload(container, "input.csv", csv_text)),
        "Outputs": {"output1": ref(azurite, f"/{container.container_name}/{output}")},
        "GlobalParameters": {},
        **extra,
    }
    response = call(client, service, "post", body=body)
    assert response.status_code == 200, response.content
    return response.json()


def run(client, service, job_id):
    assert call(client, service, "post", f"/{job_id}/start").status_code in (200, 204)
    worker.run_once("test-worker")
    return call(client, service, "get", f"/{job_id}").json()


def fetch(results) -> str:
    output = results["output1"]
    response = requests.get(output["BaseLocation"] + output["RelativeLocation"] + output["SasBlobToken"], timeout=10)
    assert response.status_code == 200
    return response.content.decode()


def test_it_runs_the_guides_job_to_finished_with_results_behind_a_sas(client, service, azurite, container):
    job_id = submit(client, service, azurite, container, 'Col2\nThis is a good day\n"another review, with a comma"\n')
    assert call(client, service, "get", f"/{job_id}").json()["StatusCode"] == "NotStarted"
    status = run(client, service, job_id)
    assert status["StatusCode"] == "Finished", status
    assert status["Details"] is None
    output = status["Results"]["output1"]
    assert output["RelativeLocation"] == f"{container.container_name}/results.csv"
    assert output["BaseLocation"] == azurite.blob_endpoint + "/"
    assert output["SasBlobToken"].startswith("?") and "sp=r" in output["SasBlobToken"]
    rows = list(csv.reader(io.StringIO(fetch(status["Results"]))))
    assert rows[0] == ["Col2"] + hashing.feature_names("Col2", 3)
    assert rows[1] == ["This is a good day", "1", "1", "2", "2", "0", "2", "0", "1"]
    assert rows[2][1:] == [str(n) for n in hashing.hash_text("another review, with a comma", 3, 2)]


def test_the_results_sas_is_read_only_and_expires(client, service, azurite, container, settings):
    settings.MLSERVICE_RESULTS_SAS_HOURS = 2
    job_id = submit(client, service, azurite, container, "Col2\nhello\n")
    output = run(client, service, job_id)["Results"]["output1"]
    url = output["BaseLocation"] + output["RelativeLocation"] + output["SasBlobToken"]
    overwrite = requests.put(url, data=b"x", headers={"x-ms-blob-type": "BlockBlob"}, timeout=10)
    assert overwrite.status_code == 403
    expiry = dict(p.split("=", 1) for p in output["SasBlobToken"][1:].split("&"))["se"]
    expires = datetime.fromisoformat(requests.utils.unquote(expiry).replace("Z", "+00:00"))
    assert timedelta(hours=1) < expires - datetime.now(UTC) <= timedelta(hours=2)


def test_it_accepts_inputs_with_input1_and_global_parameters(client, service, azurite, container):
    location = upload(container, "in.csv", "Id,Col2\n7,This is a good day\n")
    body = {
        "Inputs": {"input1": ref(azurite, location)},
        "Outputs": {"output1": ref(azurite, f"/{container.container_name}/out.csv")},
        "GlobalParameters": {"Hashing bitsize": 4, "N-grams": 1},
    }
    job_id = call(client, service, "post", body=body).json()
    status = run(client, service, job_id)
    rows = list(csv.reader(io.StringIO(fetch(status["Results"]))))
    assert rows[0] == ["Id", "Col2"] + hashing.feature_names("Col2", 4)
    assert rows[1][:2] == ["7", "This is a good day"]
    assert rows[1][2:] == [str(n) for n in hashing.hash_text("This is a good day", 4, 1)]


def test_it_writes_next_to_the_input_when_no_output_is_given(client, service, azurite, container):
    location = upload(container, "in.csv", "Col2\nhi\n")
    job_id = call(client, service, "post", body={"Input": ref(azurite, location), "GlobalParameters": {}}).json()
    status = run(client, service, job_id)
    assert status["Results"]["output1"]["RelativeLocation"] == f"{container.container_name}/{job_id}output1.csv"


def test_it_reads_and_writes_through_sas_urls(client, service, azurite, container):
    location = upload(container, "in.csv", "Col2\nThis is a good day\n")
    expiry = datetime.now(UTC) + timedelta(hours=1)
    name = container.container_name

    def sas(blob, **permissions):
        return "?" + generate_blob_sas(
            "devstoreaccount1",
            name,
            blob,
            account_key=azurite_key(),
            permission=BlobSasPermissions(**permissions),
            expiry=expiry,
        )

    base = azurite.blob_endpoint + "/"
    body = {
        "Input": {"BaseLocation": base, "RelativeLocation": location, "SasBlobToken": sas("in.csv", read=True)},
        "Outputs": {
            "output1": {
                "BaseLocation": base,
                "RelativeLocation": f"/{name}/o.csv",
                "SasBlobToken": sas("o.csv", write=True, read=True, create=True),
            }
        },
    }
    status = run(client, service, call(client, service, "post", body=body).json())
    assert status["StatusCode"] == "Finished", status
    assert fetch(status["Results"]).splitlines()[1] == "This is a good day,1,1,2,2,0,2,0,1"


def azurite_key():
    from mlservice.azurite import KEY

    return KEY


def test_it_keeps_quoted_line_breaks_and_non_ascii(client, service, azurite, container):
    text = 'Col2,Other\n"line one\nline two",x\n"café ""quoted"" 日本",y\n'
    status = run(client, service, submit(client, service, azurite, container, text.encode("utf-8-sig")))
    rows = list(csv.reader(io.StringIO(fetch(status["Results"]))))
    assert [r[:2] for r in rows[1:]] == [["line one\nline two", "x"], ['café "quoted" 日本', "y"]]
    assert rows[1][2:] == [str(n) for n in hashing.hash_text("line one\nline two", 3, 2)]


@pytest.mark.parametrize(
    "body, detail",
    [
        ({"Input": {}, "Inputs": {"input1": {}}}, "DuplicateInputInBatchCall"),
        ({"GlobalParameters": {}}, "BatchJobInputsNotSpecified"),
        ({"Inputs": {"input2": {}}}, "InvalidInputNames"),
        ({"Input": {"RelativeLocation": "/c/in.csv"}}, "RequestBodyInvalid"),
        ({"Input": {"ConnectionString": "x", "RelativeLocation": "nocontainer"}}, "RequestBodyInvalid"),
        (
            {"Input": {"ConnectionString": "x", "RelativeLocation": "/c/in.csv"}, "GlobalParameters": {"N-grams": 99}},
            "RequestBodyInvalid",
        ),
    ],
)
def test_it_rejects_bad_submissions(client, service, body, detail):
    response = call(client, service, "post", body=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadArgument"
    assert response.json()["error"]["details"][0]["code"] == detail


def test_bes_checks_the_key_and_the_version(client, service):
    assert call(client, service, "get", key="nope").status_code == 401
    response = client.get(f"/ml{service.base_path}/jobs", headers={"Authorization": f"Bearer {service.primary_key}"})
    assert response.json()["error"]["details"][0]["code"] == "BadVersionCall"


def test_a_job_starts_only_once(client, service, azurite, container):
    job_id = submit(client, service, azurite, container, "Col2\nx\n")
    started = call(client, service, "post", f"/{job_id}/start")
    # AzureML's answer: 200 and nothing else; an empty body is not an HTML page.
    assert (started.status_code, started.content, started.get("Content-Type")) == (200, b"", None)
    response = call(client, service, "post", f"/{job_id}/start")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "InvalidOperation"
    assert error["details"][0]["code"] == "CannotStartJob"
    assert error["details"][0]["message"] == "The job cannot be started because it is in Running state."


def test_an_unknown_job_is_not_found(client, service):
    for method, path in [("get", "/0123"), ("delete", "/0123"), ("post", "/0123/start")]:
        response = call(client, service, method, path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NotFound"


def test_delete_cancels_a_job(client, service, azurite, container):
    job_id = submit(client, service, azurite, container, "Col2\nx\n")
    deleted = call(client, service, "delete", f"/{job_id}")
    assert (deleted.status_code, deleted.content, deleted.get("Content-Type")) == (204, b"", None)
    assert call(client, service, "get", f"/{job_id}").json()["StatusCode"] == "Cancelled"
    assert worker.run_once("test-worker") is None


def test_a_job_cancelled_while_running_stops_and_leaves_no_output(
    client, service, azurite, container, settings, monkeypatch
):
    settings.MLSERVICE_WORKER_HEARTBEAT_SECONDS = 0
    job_id = submit(client, service, azurite, container, "Col2\n" + "some review text here\n" * 10_000)
    call(client, service, "post", f"/{job_id}/start")
    beats = []
    original = worker.Runner.beat

    def beat_then_cancel(self, rows):
        beats.append(rows)
        if rows > 0 and len(beats) == 2:
            BatchJob.objects.get(job_id=job_id).cancel()  # as DELETE does, from another process
        original(self, rows)

    monkeypatch.setattr(worker.Runner, "beat", beat_then_cancel)
    assert worker.run_once("test-worker") == "Cancelled"
    assert beats[-1] < 10_000
    assert call(client, service, "get", f"/{job_id}").json()["StatusCode"] == "Cancelled"
    assert not container.get_blob_client("results.csv").exists()


def failed_details(client, service, job_id):
    status = run(client, service, job_id)
    assert status["StatusCode"] == "Failed", status
    assert status["Results"] is None
    return status["Details"]


def test_a_missing_input_blob_fails_the_job_saying_so(client, service, azurite, container):
    body = {
        "Input": ref(azurite, f"/{container.container_name}/nothing.csv"),
        "Outputs": {"output1": ref(azurite, f"/{container.container_name}/r.csv")},
    }
    details = failed_details(client, service, call(client, service, "post", body=body).json())
    assert "nothing.csv" in details and "does not exist" in details


def test_a_missing_column_fails_the_job_naming_the_columns(client, service, azurite, container):
    details = failed_details(client, service, submit(client, service, azurite, container, "Text,Id\nhello,1\n"))
    assert "'Col2'" in details and "'Text'" in details


@pytest.mark.parametrize(
    "text, words",
    [
        ("Col2,Id\nhello,1\nhello\n", "Line 3"),
        ('Col2\n"never closed\n', "not valid CSV"),
        (b"Col2\n\xff\xfe bad bytes\n", "UTF-8"),
        ("", "empty"),
    ],
)
def test_a_bad_csv_fails_the_job_with_what_to_fix(client, service, azurite, container, text, words):
    assert words in failed_details(client, service, submit(client, service, azurite, container, text))


def test_unreachable_storage_fails_the_job_quickly(client, service, settings):
    settings.MLSERVICE_STORAGE_TIMEOUT = 2
    settings.MLSERVICE_STORAGE_RETRIES = 0
    from mlservice.azurite import connection_string

    dead = connection_string("127.0.0.1", 9)  # the discard port: nothing listens
    body = {
        "Input": {"ConnectionString": dead, "RelativeLocation": "/c/in.csv"},
        "Outputs": {"output1": {"ConnectionString": dead, "RelativeLocation": "/c/out.csv"}},
    }
    details = failed_details(client, service, call(client, service, "post", body=body).json())
    assert "could not be reached" in details
    assert "AccountKey=" not in details


def test_a_wrong_account_key_fails_the_job_without_showing_the_key(client, service, azurite, container):
    location = upload(container, "in.csv", "Col2\nx\n")
    wrong = azurite.connection_string.replace(azurite_key(), "d3Jvbmcga2V5" * 8)
    body = {"Input": {"ConnectionString": wrong, "RelativeLocation": location}}
    details = failed_details(client, service, call(client, service, "post", body=body).json())
    assert "refused the credentials" in details
    assert "d3Jvbmcga2V5" not in details


def test_the_job_list_shows_this_services_jobs(client, service, azurite, container):
    job_id = submit(client, service, azurite, container, "Col2\nx\n")
    listed = call(client, service, "get").json()
    assert [job["Id"] for job in listed] == [job_id]
    assert listed[0]["StatusCode"] == "NotStarted"
    assert "ConnectionString" not in json.dumps(listed)


def test_a_job_of_a_killed_worker_is_run_again_on_restart(client, service, azurite, container):
    job_id = submit(client, service, azurite, container, "Col2\nThis is a good day\n")
    call(client, service, "post", f"/{job_id}/start")
    import socket

    # A worker of this host claimed it, then was killed (pid 2**22+1 does not exist): its lease is still valid.
    BatchJob.objects.filter(job_id=job_id).update(
        claimed_by=f"{socket.gethostname()}:{2**22 + 1}:dead",
        lease_expires=datetime.now(UTC) + timedelta(hours=1),
        attempts=1,
    )
    assert worker.run_once("test-worker") is None  # still leased
    assert worker.free_jobs_of_dead_local_workers() == 1
    assert worker.run_once("test-worker") == "Finished"


def test_a_job_whose_lease_ran_out_is_taken_over(client, service, azurite, container):
    job_id = submit(client, service, azurite, container, "Col2\nx\n")
    call(client, service, "post", f"/{job_id}/start")
    BatchJob.objects.filter(job_id=job_id).update(
        claimed_by="otherhost:1:x", lease_expires=datetime.now(UTC) - timedelta(seconds=1), attempts=1
    )
    assert worker.run_once("test-worker") == "Finished"


def test_a_job_whose_workers_keep_dying_is_failed_with_the_reason(client, service, azurite, container, settings):
    settings.MLSERVICE_JOB_MAX_ATTEMPTS = 2
    job_id = submit(client, service, azurite, container, "Col2\nx\n")
    call(client, service, "post", f"/{job_id}/start")
    BatchJob.objects.filter(job_id=job_id).update(
        claimed_by="otherhost:1:x", lease_expires=datetime.now(UTC) - timedelta(seconds=1), attempts=2
    )
    assert worker.run_once("test-worker") is None
    status = call(client, service, "get", f"/{job_id}").json()
    assert status["StatusCode"] == "Failed"
    assert "worker stopped" in status["Details"]


def test_a_job_id_with_a_nul_byte_is_not_found(client, service):
    for method, path in [("get", "/a%00"), ("delete", "/a%00"), ("post", "/a%00/start")]:
        response = call(client, service, method, path)
        assert response.status_code == 404
        assert response.json()["error"]["details"][0]["code"] == "JobNotFound"
