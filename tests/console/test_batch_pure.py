"""The batch job panel's pure parts: BES operations, the CSV check, the answers, the result link."""

from __future__ import annotations

import pytest

from console import batch

DEMO = [
    (1, "POST", "/workspaces/{workspace}/services/{service}/execute?api-version={apiversion}&details={details}"),
    (2, "POST", "/workspaces/{workspace}/services/{service}/jobs?api-version={apiversion}"),
    (3, "POST", "/workspaces/{workspace}/services/{service}/jobs/{jobid}/start?api-version={apiversion}"),
    (4, "GET", "/workspaces/{workspace}/services/{service}/jobs/{jobid}?api-version={apiversion}"),
    (5, "DELETE", "/workspaces/{workspace}/services/{service}/jobs/{jobid}?api-version={apiversion}"),
]


def test_it_finds_the_four_bes_operations_and_the_job_id_parameter():
    found = batch.find_bes(DEMO)
    assert (found.submit, found.start, found.status, found.delete, found.job_param) == (2, 3, 4, 5, "jobid")
    assert 3 in found and 1 not in found


def test_an_api_without_all_four_has_no_panel():
    assert batch.find_bes(DEMO[:4]) is None
    assert batch.find_bes([(1, "GET", "/users/{id}")]) is None


def test_a_valid_csv_counts_its_rows():
    assert batch.check_csv(b'Col2\nThis is a good day\n"Not worth it, sadly"\n\n', cap=1000) == 2
    assert batch.check_csv("\ufeffCol2\nUn très bon livre\n".encode(), cap=1000) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b"Col2\n", "no rows to score"),
        (b"Col2\nNot worth the money, sadly\n", "Line 2 has 2 fields; the header row has 1."),
        ("Col2\nété\n".encode("latin-1"), "not UTF-8"),
        (b'Col2\n"open quote\n', "Not valid CSV"),
        (b"Col2\n" + b"x\n" * 600, "the panel uploads at most 1,000 bytes"),
    ],
)
def test_a_file_a_job_could_not_read_is_refused_with_the_reason(data, message):
    with pytest.raises(batch.CsvProblem, match=message):
        batch.check_csv(data, cap=1000)


def test_the_job_id_loses_its_quotes_and_nothing_else_passes_for_one():
    assert batch.job_id_from(b'"0123456789abcdef0123456789abcdef"') == "0123456789abcdef0123456789abcdef"
    for body in (b"", b"{}", b'"<script>"', b"42", b'"a b"'):
        with pytest.raises(ValueError):
            batch.job_id_from(body)


def test_a_status_reads_names_and_numbers():
    assert batch.status_from(b'{"StatusCode": 4, "Results": null, "Details": null}').state == "Finished"
    status = batch.status_from(b'{"StatusCode": "Failed", "Details": "No Col2 column.", "RowsProcessed": 0}')
    assert (status.state, status.details, status.results, status.rows) == ("Failed", "No Col2 column.", None, 0)
    with pytest.raises(ValueError):
        batch.status_from(b'{"StatusCode": "Exploded"}')


def test_the_result_link_is_base_plus_relative_plus_sas_and_only_http():
    results = {
        "output1": {
            "BaseLocation": "http://127.0.0.1:10000/devstoreaccount1/",
            "RelativeLocation": "portal-batch/7/abc/results.csv",
            "SasBlobToken": "?sv=2024&sp=r&sig=x",
        },
        "output2": {"BaseLocation": "javascript:alert(1)//", "RelativeLocation": "x", "SasBlobToken": ""},
    }
    assert batch.result_links(results) == [
        ("output1", "http://127.0.0.1:10000/devstoreaccount1/portal-batch/7/abc/results.csv?sv=2024&sp=r&sig=x")
    ]


def test_error_answers_read_as_their_message():
    assert batch.error_text(b'{"statusCode": 429, "message": "Rate limit is exceeded."}') == "Rate limit is exceeded."
    azureml = b'{"error": {"code": "Unauthorized", "message": "Invalid credentials provided.", "details": []}}'
    assert batch.error_text(azureml) == "Invalid credentials provided."


def test_the_submit_body_names_the_input_and_the_output_in_the_same_storage():
    import json

    body = json.loads(batch.submit_body("AccountName=a;AccountKey=k", "/c/in.csv", "/c/out.csv"))
    assert body["Inputs"]["input1"] == {
        "ConnectionString": "AccountName=a;AccountKey=k",
        "RelativeLocation": "/c/in.csv",
    }
    assert body["Outputs"]["output1"]["RelativeLocation"] == "/c/out.csv"
