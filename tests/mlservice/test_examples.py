"""The guide's two Python clients (examples/) against a live server and a real Azurite."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlservice import worker

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def live_service(transactional_db):
    from mlservice.models import WebService

    return WebService.objects.create(name="SimpleFeatureHashingExperiment", bits=3, ngrams=2)


def client_env(live_server, service, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZUREML_", "STORAGE_"))}
    env.update(
        AZUREML_BASE_URL=f"{live_server.url}/ml",
        AZUREML_WORKSPACE=service.workspace_id,
        AZUREML_SERVICE=service.service_id,
        AZUREML_API_KEY=service.primary_key,
        **extra,
    )
    return env


def test_the_rrs_client_prints_the_guides_counts(live_server, live_service):
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "rrs_client.py")],
        env=client_env(live_server, live_service),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("result:")
    assert '["This is a good day", "1", "1", "2", "2", "0", "2", "0", "1"]' in done.stdout


def test_the_rrs_client_prints_the_error_of_a_wrong_key(live_server, live_service):
    env = client_env(live_server, live_service)
    env["AZUREML_API_KEY"] = "wrong"
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "rrs_client.py")], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "status code: 401" in done.stdout
    assert "ScoreRequestUnauthorized" in done.stdout


def test_the_bes_client_uploads_runs_and_downloads(live_server, live_service, azurite, tmp_path):
    source = tmp_path / "mydata.csv"
    source.write_text('Col2\nThis is a good day\n"Great book, would read again"\n', encoding="utf-8")
    results = tmp_path / "myresults.csv"
    env = client_env(
        live_server,
        live_service,
        STORAGE_CONNECTION_STRING=azurite.connection_string,
        STORAGE_CONTAINER_NAME="examples",
        INPUT_FILE=str(source),
        OUTPUT_FILE=str(results),
    )
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "bes_client.py")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # The worker runs here while the client polls the live server.
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if worker.run_once("example-worker") is None:
            time.sleep(0.2)
    output, _ = process.communicate(timeout=10)
    assert process.returncode == 0, output
    assert "finished!" in output
    rows = list(csv.reader(results.open(encoding="utf-8")))
    assert rows[0][0] == "Col2" and len(rows[0]) == 9
    assert rows[1] == ["This is a good day", "1", "1", "2", "2", "0", "2", "0", "1"]
    assert rows[2][0] == "Great book, would read again"
