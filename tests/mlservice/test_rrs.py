"""RRS: POST .../execute, in the three shapes AzureML answers, and its errors."""

from __future__ import annotations

import json

import pytest

GUIDE_BODY = {
    "Inputs": {"input1": {"ColumnNames": ["Col2"], "Values": [["This is a good day"]]}},
    "GlobalParameters": {},
}
GUIDE_COUNTS = ["1", "1", "2", "2", "0", "2", "0", "1"]


def execute(client, service, body, query="api-version=2.0&details=true", key=None, raw=None, **headers):
    key = service.primary_key if key is None else key
    return client.post(
        f"/ml{service.base_path}/execute?{query}",
        data=raw if raw is not None else json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}", **headers},
    )


def assert_error(response, status, code, detail_code=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    if detail_code:
        assert error["details"][0]["code"] == detail_code
        assert error["details"][0]["message"]
    return error


def test_it_answers_the_guides_request_with_the_guides_counts(client, service):
    response = execute(client, service, GUIDE_BODY)
    assert response.status_code == 200
    value = response.json()["Results"]["output1"]["value"]
    assert response.json()["Results"]["output1"]["type"] == "table"
    assert value["ColumnNames"] == ["Col2"] + [f"Col2_HashingFeature.{i}" for i in range(8)]
    assert value["ColumnTypes"] == ["String"] + ["Int32"] * 8
    assert value["Values"] == [["This is a good day"] + GUIDE_COUNTS]


def test_it_leaves_out_column_types_without_details(client, service):
    response = execute(client, service, GUIDE_BODY, query="api-version=2.0")
    value = response.json()["Results"]["output1"]["value"]
    assert "ColumnTypes" not in value
    assert value["Values"][0][1:] == GUIDE_COUNTS


def test_it_speaks_the_swagger_format(client, service):
    body = {"Inputs": {"input1": [{"Col2": "This is a good day"}, {"Col2": ""}]}, "GlobalParameters": {}}
    response = execute(client, service, body, query="api-version=2.0&format=swagger")
    assert response.status_code == 200
    rows = response.json()["Results"]["output1"]
    assert rows[0]["Col2"] == "This is a good day"
    assert [rows[0][f"Col2_HashingFeature.{i}"] for i in range(8)] == GUIDE_COUNTS
    assert [rows[1][f"Col2_HashingFeature.{i}"] for i in range(8)] == ["0"] * 8


def test_it_scores_several_rows_and_keeps_other_columns(client, service):
    body = {
        "Inputs": {"input1": {"ColumnNames": ["Id", "Col2"], "Values": [[1, "This is a good day"], ["2", None]]}},
        "GlobalParameters": {},
    }
    values = execute(client, service, body).json()["Results"]["output1"]["value"]["Values"]
    assert values[0] == ["1", "This is a good day"] + GUIDE_COUNTS
    assert values[1] == ["2", ""] + ["0"] * 8


def test_it_accepts_the_secondary_key(client, service):
    assert execute(client, service, GUIDE_BODY, key=service.secondary_key).status_code == 200


def test_global_parameters_change_bitsize_and_n_grams_for_one_call(client, service):
    body = {**GUIDE_BODY, "GlobalParameters": {"Hashing bitsize": "4", "N-grams": 1}}
    value = execute(client, service, body).json()["Results"]["output1"]["value"]
    assert len(value["ColumnNames"]) == 1 + 16
    assert sum(int(v) for v in value["Values"][0][1:]) == 5  # five unigrams, no bigrams
    again = execute(client, service, GUIDE_BODY).json()["Results"]["output1"]["value"]
    assert again["Values"][0][1:] == GUIDE_COUNTS


@pytest.mark.parametrize(
    "parameters",
    [{"Hashing bitsize": 0}, {"Hashing bitsize": "32"}, {"N-grams": 11}, {"N-grams": "two"}, {"Colour": 1}],
)
def test_it_rejects_bad_global_parameters(client, service, parameters):
    error = assert_error(
        execute(client, service, {**GUIDE_BODY, "GlobalParameters": parameters}),
        400,
        "BadArgument",
        "RequestBodyInvalid",
    )
    assert error["details"][0]["target"] == "GlobalParameters"


def test_it_refuses_a_missing_key(client, service):
    response = client.post(
        f"/ml{service.base_path}/execute?api-version=2.0", GUIDE_BODY, content_type="application/json"
    )
    error = assert_error(response, 401, "Unauthorized", "ScoreRequestUnauthorized")
    assert error["message"] == "Invalid credentials provided."


def test_it_refuses_a_wrong_key(client, service):
    assert_error(
        execute(client, service, GUIDE_BODY, key="not-the-key"), 401, "Unauthorized", "ScoreRequestUnauthorized"
    )


def test_it_refuses_another_services_key(client, service):
    from mlservice.models import WebService

    other = WebService.objects.create(name="other", workspace_id=service.workspace_id)
    assert_error(execute(client, service, GUIDE_BODY, key=other.primary_key), 401, "Unauthorized")


def test_it_says_which_part_of_the_address_is_unknown(client, service):
    from mlservice.models import WebService

    headers = {"Authorization": f"Bearer {service.primary_key}"}
    url = "/ml/workspaces/{}/services/{}/execute?api-version=2.0"
    response = client.post(
        url.format("0" * 32, service.service_id), GUIDE_BODY, content_type="application/json", headers=headers
    )
    assert_error(response, 404, "NotFound", "WorkspaceNotFound")
    response = client.post(
        url.format(service.workspace_id, "0" * 32), GUIDE_BODY, content_type="application/json", headers=headers
    )
    assert_error(response, 404, "NotFound", "WebServiceNotFound")
    other = WebService.objects.create(name="elsewhere")
    response = client.post(
        url.format(service.workspace_id, other.service_id), GUIDE_BODY, content_type="application/json", headers=headers
    )
    assert_error(response, 404, "NotFound", "WebServiceIdNotFoundInWorkspace")


@pytest.mark.parametrize("query", ["details=true", "api-version=", "api-version=1.0&details=true", "api-version=2.1"])
def test_it_wants_api_version_2_0(client, service, query):
    error = assert_error(execute(client, service, GUIDE_BODY, query=query), 400, "BadArgument", "BadVersionCall")
    assert "2.0" in error["details"][0]["message"]


@pytest.mark.parametrize("query", ["api-version=2.0&details=maybe", "api-version=2.0&format=xml"])
def test_it_rejects_unknown_query_values(client, service, query):
    assert_error(execute(client, service, GUIDE_BODY, query=query), 400, "BadArgument", "InvalidQueryParameter")


@pytest.mark.parametrize("raw", ["", "{not json", "[1, 2]", '"text"', "\xff\xfe"])
def test_it_rejects_a_body_that_is_not_a_json_object(client, service, raw):
    assert_error(execute(client, service, None, raw=raw), 400, "BadArgument", "RequestBodyInvalid")


def test_it_wants_input1(client, service):
    assert_error(execute(client, service, {"GlobalParameters": {}}), 400, "BadArgument", "MissingRequestInput")
    assert_error(execute(client, service, {"Inputs": {}}), 400, "BadArgument", "MissingRequestInput")
    error = assert_error(
        execute(client, service, {"Inputs": {"input2": {"ColumnNames": ["Col2"], "Values": [["x"]]}}}),
        400,
        "BadArgument",
        "InvalidInputNames",
    )
    assert "input2" in error["details"][0]["message"]


def test_it_names_the_missing_column(client, service):
    body = {"Inputs": {"input1": {"ColumnNames": ["Text"], "Values": [["This is a good day"]]}}}
    error = assert_error(execute(client, service, body), 400, "BadUserArgument", "InputMismatchError")
    assert "Col2" in error["details"][0]["message"]


@pytest.mark.parametrize(
    "input1",
    [
        {"ColumnNames": ["Col2"], "Values": [["a", "b"]]},
        {"ColumnNames": ["Col2"], "Values": [[["nested"]]]},
        {"ColumnNames": ["Col2"], "Values": "rows"},
        {"ColumnNames": "Col2", "Values": [["a"]]},
        ["not", "a", "table"],
    ],
)
def test_it_rejects_malformed_tables(client, service, input1):
    assert_error(execute(client, service, {"Inputs": {"input1": input1}}), 400, "BadUserArgument", "InputParseError")


def test_it_refuses_a_body_over_the_limit(client, service, settings):
    settings.MLSERVICE_MAX_BODY_BYTES = 1000
    body = {"Inputs": {"input1": {"ColumnNames": ["Col2"], "Values": [["word " * 300]]}}}
    assert_error(execute(client, service, body), 413, "MemoryQuotaViolation")


def test_it_refuses_an_answer_too_large_to_build(client, service):
    body = {**GUIDE_BODY, "GlobalParameters": {"Hashing bitsize": 31}}
    assert_error(execute(client, service, body), 413, "MemoryQuotaViolation")


def test_it_needs_no_csrf_token(service):
    from django.test import Client

    response = execute(Client(enforce_csrf_checks=True), service, GUIDE_BODY)
    assert response.status_code == 200


def test_it_publishes_a_swagger_document(client, service):
    response = client.get(
        f"/ml{service.base_path}/swagger.json?api-version=2.0",
        headers={"Authorization": f"Bearer {service.primary_key}"},
    )
    assert response.status_code == 200
    document = response.json()
    assert document["swagger"] == "2.0"
    assert document["basePath"] == f"/ml{service.base_path}"
    assert "Col2" in document["definitions"]["input1Item"]["properties"]


def test_a_wrong_method_is_an_azureml_error_not_a_django_page(client, service):
    response = client.get(
        f"/ml{service.base_path}/execute?api-version=2.0", headers={"Authorization": f"Bearer {service.primary_key}"}
    )
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "BadArgument"


def test_an_unknown_endpoint_answers_in_azureml_shape(client, service):
    response = client.post(f"/ml{service.base_path}/score?api-version=2.0", {}, content_type="application/json")
    assert_error(response, 404, "NotFound", "EndpointNotFound")


def test_an_address_with_a_nul_byte_is_not_found_rather_than_an_internal_error(client, service):
    headers = {"Authorization": f"Bearer {service.primary_key}"}
    url = "/ml/workspaces/{}/services/{}/execute?api-version=2.0"
    response = client.post(
        url.format("%00", service.service_id), GUIDE_BODY, content_type="application/json", headers=headers
    )
    assert_error(response, 404, "NotFound", "WorkspaceNotFound")
    response = client.post(
        url.format(service.workspace_id, "a%00"), GUIDE_BODY, content_type="application/json", headers=headers
    )
    assert_error(response, 404, "NotFound", "WebServiceNotFound")
