"""load_demo creates the guide's web service and wires the demo API to it."""

from __future__ import annotations

import io
import json

from django.core.management import call_command

from mlservice.models import WebService


def load(*args) -> str:
    out = io.StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def test_load_demo_prints_the_services_ids_and_key(db):
    text = load()
    service = WebService.objects.get()
    assert (service.bits, service.ngrams, service.target_column) == (3, 2, "Col2")
    for value in (service.workspace_id, service.service_id, service.primary_key):
        assert value in text


def test_load_demo_json_is_one_object_and_idempotent(db, settings):
    first = json.loads(load("--json"))
    second = json.loads(load("--json"))
    assert first == second
    assert WebService.objects.count() == 1
    service = WebService.objects.get()
    assert first["workspace_id"] == service.workspace_id
    assert first["service_id"] == service.service_id
    assert first["api_key"] == service.primary_key


def test_load_demo_points_the_demo_api_at_the_service_and_prefills_its_ids(db, settings):
    from apis.models import Api, Parameter

    summary = json.loads(load("--json"))
    api = Api.objects.get(path="azureml-demo")
    assert api.service_url == settings.MLSERVICE_URL
    execute = api.operations.get(display_name="RRS Execute")
    defaults = {p.name: p.default_value for p in execute.parameters.filter(location=Parameter.TEMPLATE)}
    assert defaults == {"workspace": summary["workspace_id"], "service": summary["service_id"]}


def test_the_demo_service_answers_the_guides_request(client, db):
    summary = json.loads(load("--json"))
    response = client.post(
        f"/ml/workspaces/{summary['workspace_id']}/services/{summary['service_id']}/execute?api-version=2.0&details=true",
        {"Inputs": {"input1": {"ColumnNames": ["Col2"], "Values": [["This is a good day"]]}}, "GlobalParameters": {}},
        content_type="application/json",
        headers={"Authorization": f"Bearer {summary['api_key']}"},
    )
    assert response.json()["Results"]["output1"]["value"]["Values"][0][1:] == ["1", "1", "2", "2", "0", "2", "0", "1"]


def test_the_consoles_bes_submit_example_points_at_the_demo_input(db, settings):
    from apis.models import RequestRepresentation

    load("--json")
    example = json.loads(RequestRepresentation.objects.get(operation__display_name="BES Submit").example)
    assert example["Input"] == {
        "ConnectionString": settings.MLSERVICE_DEMO_CONNECTION_STRING,
        "RelativeLocation": "/demo/input.csv",
    }


def test_the_demo_input_is_uploaded_to_the_demo_storage(azurite, settings):
    from azure.storage.blob import BlobServiceClient

    from mlservice import demo

    settings.MLSERVICE_DEMO_CONNECTION_STRING = azurite.connection_string
    assert demo.ensure_demo_input(attempts=3)
    assert demo.ensure_demo_input(attempts=1)  # again: already there
    blob = BlobServiceClient.from_connection_string(azurite.connection_string).get_blob_client("demo", "input.csv")
    assert blob.download_blob().readall().decode().startswith("Col2\n")


def test_every_demo_file_is_valid_csv_with_one_field_per_row():
    import csv

    from mlservice import demo

    rows = list(csv.reader(io.StringIO(demo.DEMO_INPUT), strict=True))
    assert rows == [["Col2"], *([text] for text in demo.DEMO_ROWS)]
    assert any("," in text for text in demo.DEMO_ROWS)  # the row that needs quoting is there


def test_the_demo_job_runs_end_to_end_on_the_demo_input(client, db, azurite, settings):
    """BES Submit's own example, as the console prefills it, over the demo's input.csv."""
    import csv

    import requests

    from apis.models import RequestRepresentation
    from mlservice import demo, hashing, worker

    settings.MLSERVICE_DEMO_CONNECTION_STRING = azurite.connection_string
    summary = json.loads(load("--json"))
    assert demo.ensure_demo_input(attempts=3)
    example = RequestRepresentation.objects.get(operation__display_name="BES Submit").example
    jobs = f"/ml/workspaces/{summary['workspace_id']}/services/{summary['service_id']}/jobs"
    auth = {"Authorization": f"Bearer {summary['api_key']}"}
    job_id = client.post(f"{jobs}?api-version=2.0", example, content_type="application/json", headers=auth).json()
    assert client.post(f"{jobs}/{job_id}/start?api-version=2.0", headers=auth).status_code in (200, 204)
    assert worker.run_once("demo-test") == "Finished"
    status = client.get(f"{jobs}/{job_id}?api-version=2.0", headers=auth).json()
    assert status["StatusCode"] == "Finished", status["Details"]
    out = status["Results"]["output1"]
    text = requests.get(out["BaseLocation"] + out["RelativeLocation"] + out["SasBlobToken"], timeout=10).text
    rows = list(csv.reader(io.StringIO(text)))
    assert [row[0] for row in rows[1:]] == demo.DEMO_ROWS
    assert rows[1][1:] == ["1", "1", "2", "2", "0", "2", "0", "1"]
    assert rows[3][1:] == [str(n) for n in hashing.hash_text("Not worth the money, sadly", 3, 2)]


def test_a_broken_demo_input_left_by_an_earlier_version_is_replaced(azurite, settings):
    from azure.storage.blob import BlobServiceClient

    from mlservice import demo

    settings.MLSERVICE_DEMO_CONNECTION_STRING = azurite.connection_string
    blob = BlobServiceClient.from_connection_string(azurite.connection_string).get_blob_client("demo", "input.csv")
    demo.ensure_demo_input(attempts=3)
    blob.upload_blob(next(iter(demo.BROKEN_DEMO_INPUTS)), overwrite=True)
    assert demo.ensure_demo_input(attempts=1)
    assert blob.download_blob().readall().decode() == demo.DEMO_INPUT
