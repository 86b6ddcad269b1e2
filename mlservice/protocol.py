"""The AzureML Studio (classic) web-service protocol: errors, request parsing,
response shapes. Pure (no Django), so the views stay thin and the rules are
tested directly. See ../shared/AZUREML.md for the contract.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from mlservice import hashing

API_VERSIONS = ("2.0",)

ERROR_STATUS = {
    "BadArgument": 400,
    "BadUserArgument": 400,
    "InvalidOperation": 400,
    "Unauthorized": 401,
    "NotFound": 404,
    "RequestTimeout": 408,
    "MemoryQuotaViolation": 413,
    "InternalError": 500,
    "ServiceUnavailable": 503,
}
ERROR_MESSAGE = {
    "BadArgument": "Invalid argument provided.",
    "BadUserArgument": "Invalid argument provided.",
    "InvalidOperation": "The requested operation is not valid.",
    "Unauthorized": "Invalid credentials provided.",
    "NotFound": "Resource not found.",
    "RequestTimeout": "Request timed out.",
    "MemoryQuotaViolation": "The request exceeded the memory quota of the web service.",
    "InternalError": "The web service encountered an internal error.",
    "ServiceUnavailable": "Service is temporarily unavailable.",
}

BITS_PARAMETER = "Hashing bitsize"
NGRAMS_PARAMETER = "N-grams"


class ServiceError(Exception):
    """An error answer: {"error": {"code", "message", "details": [{"code", "target", "message"}]}}."""

    def __init__(self, code: str, detail_code: str | None = None, message: str = "", target: str | None = None):
        super().__init__(message or code)
        self.code, self.detail_code, self.detail_message, self.target = code, detail_code, message, target

    @property
    def status(self) -> int:
        return ERROR_STATUS[self.code]

    def body(self) -> dict:
        error: dict = {"code": self.code, "message": ERROR_MESSAGE[self.code]}
        if self.detail_code:
            detail: dict = {"code": self.detail_code}
            if self.target:
                detail["target"] = self.target
            detail["message"] = self.detail_message
            error["details"] = [detail]
        return {"error": error}


def bad(detail_code: str, message: str, target: str | None = None) -> ServiceError:
    return ServiceError("BadArgument", detail_code, message, target)


def bad_user(detail_code: str, message: str, target: str | None = None) -> ServiceError:
    return ServiceError("BadUserArgument", detail_code, message, target)


def check_api_version(value: str | None) -> None:
    if not value:
        raise bad("BadVersionCall", "The api-version query parameter is missing. Use api-version=2.0.", "api-version")
    if value not in API_VERSIONS:
        raise bad(
            "BadVersionCall",
            f"The api-version '{value}' is not supported. Supported versions: {', '.join(API_VERSIONS)}.",
            "api-version",
        )


def parse_flag(name: str, value: str | None) -> bool:
    if value is None or value == "":
        return False
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise bad("InvalidQueryParameter", f"The query parameter '{name}' must be true or false, not '{value}'.", name)


def parse_json_body(body: bytes) -> dict:
    if not body or not body.strip():
        raise bad("RequestBodyInvalid", "The request body is empty; a JSON object was expected.")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise bad("RequestBodyInvalid", f"The request body is not valid JSON: {e}.") from None
    if not isinstance(data, dict):
        raise bad("RequestBodyInvalid", "The request body must be a JSON object.")
    return data


@dataclass
class Parameters:
    bits: int
    ngrams: int


def parse_global_parameters(raw, *, bits: int, ngrams: int) -> Parameters:
    """The service's parameters, with the ones GlobalParameters sets for this call."""
    if raw is None:
        return Parameters(bits, ngrams)
    if not isinstance(raw, dict):
        raise bad("RequestBodyInvalid", "GlobalParameters must be a JSON object.", "GlobalParameters")
    known = {BITS_PARAMETER: "bits", NGRAMS_PARAMETER: "ngrams"}
    values = {"bits": bits, "ngrams": ngrams}
    for name, value in raw.items():
        if name not in known:
            raise bad(
                "RequestBodyInvalid",
                f"Unknown global parameter '{name}'. This web service accepts: {', '.join(known)}.",
                "GlobalParameters",
            )
        try:
            if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
                raise ValueError
            number = int(value)
        except (TypeError, ValueError):
            number = None
        low, high = (
            (hashing.MIN_BITS, hashing.MAX_BITS)
            if name == BITS_PARAMETER
            else (
                hashing.MIN_NGRAMS,
                hashing.MAX_NGRAMS,
            )
        )
        if number is None or not low <= number <= high:
            raise bad(
                "RequestBodyInvalid",
                f"The global parameter '{name}' must be a whole number from {low} to {high}, not {value!r}.",
                "GlobalParameters",
            )
        values[known[name]] = number
    return Parameters(**values)


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)


def cell(value, row: int, column: str) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | float):
        return str(value)
    raise bad_user(
        "InputParseError",
        f"Parsing of input vector failed: row {row}, column '{column}' holds a {type(value).__name__}; "
        "every cell must be a string, a number or null.",
        "input1",
    )


def single_input(inputs) -> object:
    if not isinstance(inputs, dict):
        raise bad("MissingRequestInput", "The request has no Inputs object; it must contain input1.", "Inputs")
    if "input1" not in inputs:
        others = [name for name in inputs if name != "input1"]
        if others:
            raise bad(
                "InvalidInputNames",
                f"Input names provided in the request are not valid: {', '.join(others)}. Expected: input1.",
                "Inputs",
            )
        raise bad("MissingRequestInput", "The request is missing the input 'input1'.", "input1")
    extra = [name for name in inputs if name != "input1"]
    if extra:
        raise bad(
            "InvalidInputNames",
            f"Input names provided in the request are not valid: {', '.join(extra)}. Expected: input1.",
            "Inputs",
        )
    return inputs["input1"]


def parse_rrs_input(data: dict, *, swagger: bool, target_column: str) -> Table:
    value = single_input(data.get("Inputs"))
    if swagger:
        table = _parse_swagger_rows(value, target_column)
    else:
        table = _parse_column_table(value)
    if target_column not in table.columns:
        raise bad_user(
            "InputMismatchError",
            f"Input data does not match the input port schema: the column '{target_column}' is missing "
            f"(columns given: {', '.join(table.columns) or 'none'}).",
            "input1",
        )
    return table


def _parse_column_table(value) -> Table:
    if not isinstance(value, dict):
        raise bad_user("InputParseError", "input1 must be an object with ColumnNames and Values.", "input1")
    columns, values = value.get("ColumnNames"), value.get("Values")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise bad_user("InputParseError", "input1.ColumnNames must be a list of column names.", "input1")
    if len(set(columns)) != len(columns):
        raise bad_user("InputParseError", "input1.ColumnNames has the same column twice.", "input1")
    if not isinstance(values, list):
        raise bad_user("InputParseError", "input1.Values must be a list of rows.", "input1")
    rows = []
    for n, row in enumerate(values):
        if not isinstance(row, list) or len(row) != len(columns):
            raise bad_user(
                "InputParseError",
                f"Parsing of input vector failed: row {n} has {len(row) if isinstance(row, list) else 'no'} "
                f"values, ColumnNames has {len(columns)}.",
                "input1",
            )
        rows.append([cell(v, n, c) for v, c in zip(row, columns, strict=True)])
    return Table(columns, rows)


def _parse_swagger_rows(value, target_column: str) -> Table:
    """format=swagger rows: objects of strings (or null, a missing value), as the swagger document says.

    Every row has the target column; another column missing from some rows is
    a missing value there, as a null is.
    """
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise bad_user("InputParseError", "With format=swagger, input1 must be a list of objects.", "input1")
    columns = list(dict.fromkeys(name for record in value for name in record))
    rows = []
    for n, record in enumerate(value):
        if target_column not in record and target_column in columns:
            raise bad_user(
                "InputMismatchError",
                f"Input data does not match the input port schema: row {n} has no '{target_column}' column.",
                "input1",
            )
        for column, cell_value in record.items():
            if cell_value is not None and not isinstance(cell_value, str):
                raise bad_user(
                    "InputParseError",
                    f"Parsing of input vector failed: row {n}, column '{column}' holds a "
                    f"{type(cell_value).__name__}; with format=swagger every value is a string or null.",
                    "input1",
                )
        rows.append([record.get(c) or "" for c in columns])
    return Table(columns, rows)


def score(table: Table, hasher: hashing.FeatureHasher, target_column: str) -> Table:
    position = table.columns.index(target_column)
    columns = table.columns + hashing.feature_names(target_column, hasher.bits)
    rows = [row + hasher.count_strings(row[position]) for row in table.rows]
    return Table(columns, rows)


def rrs_response(table: Table, *, details: bool, swagger: bool, input_columns: int) -> dict:
    if swagger:
        return {"Results": {"output1": [dict(zip(table.columns, row, strict=True)) for row in table.rows]}}
    value: dict = {"ColumnNames": table.columns}
    if details:
        value["ColumnTypes"] = ["String"] * input_columns + ["Int32"] * (len(table.columns) - input_columns)
    value["Values"] = table.rows
    return {"Results": {"output1": {"type": "table", "value": value}}}


# ---- BES ------------------------------------------------------------------


def _blob_reference(value, target: str) -> dict:
    if not isinstance(value, dict):
        raise bad(
            "RequestBodyInvalid", f"{target} must be an object with ConnectionString and RelativeLocation.", target
        )
    relative = value.get("RelativeLocation")
    if not isinstance(relative, str) or "/" not in relative.strip("/"):
        raise bad(
            "RequestBodyInvalid",
            f"{target}.RelativeLocation must name a blob as /container/blob.csv.",
            target,
        )
    connection = value.get("ConnectionString")
    base, sas = value.get("BaseLocation"), value.get("SasBlobToken")
    if isinstance(connection, str) and connection.strip():
        return {"ConnectionString": connection, "RelativeLocation": relative}
    if isinstance(base, str) and base.strip() and isinstance(sas, str) and sas.strip():
        return {"BaseLocation": base, "RelativeLocation": relative, "SasBlobToken": sas}
    raise bad(
        "RequestBodyInvalid",
        f"{target} needs a ConnectionString, or a BaseLocation and a SasBlobToken, besides its RelativeLocation.",
        target,
    )


def parse_bes_submit(data: dict) -> tuple[dict, dict | None]:
    """(input reference, output references or None for the default location)."""
    has_input, has_inputs = "Input" in data, "Inputs" in data
    if has_input and has_inputs:
        raise bad(
            "DuplicateInputInBatchCall",
            "The request has both Input and Inputs; give the input blob once, in one of them.",
            "Inputs",
        )
    if not has_input and not has_inputs:
        raise bad("BatchJobInputsNotSpecified", "The request must specify the input blob in Input or Inputs.", "Inputs")
    if has_input:
        source = _blob_reference(data["Input"], "Input")
    else:
        source = _blob_reference(single_input(data["Inputs"]), "input1")
    outputs = data.get("Outputs")
    if outputs is None:
        return source, None
    if not isinstance(outputs, dict) or set(outputs) - {"output1"}:
        raise bad(
            "RequestBodyInvalid",
            "Outputs must be an object whose only output is output1.",
            "Outputs",
        )
    if "output1" not in outputs:
        return source, None
    return source, {"output1": _blob_reference(outputs["output1"], "output1")}


def swagger_document(
    *, title: str, description: str, base_path: str, host: str, scheme: str, target_column: str, bits: int
) -> dict:
    features = hashing.feature_names(target_column, min(bits, 4))
    # Exactly what the service accepts and answers (a Schemathesis test holds
    # them to it): cells are strings, or null for a missing value; the hashed
    # counts come back as decimal strings, as AzureML sends them.
    text = {"type": "string", "x-nullable": True}
    input_schema = {
        "type": "object",
        "properties": {target_column: text},
        "required": [target_column],
        "additionalProperties": text,
    }
    count = {"type": "string", "pattern": "^[0-9]+$", "description": "A count, as a decimal string."}
    output_properties = {target_column: {"type": "string"}}
    output_properties.update({name: count for name in features})
    return {
        "swagger": "2.0",
        "info": {"title": title, "description": description, "version": "2.0"},
        "host": host,
        "basePath": base_path,
        "schemes": [scheme],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "securityDefinitions": {"Bearer": {"type": "apiKey", "name": "Authorization", "in": "header"}},
        "security": [{"Bearer": []}],
        "paths": {
            "/execute?api-version=2.0&format=swagger": {
                "post": {
                    "summary": "Execute the web service and get a response synchronously",
                    "operationId": "execute",
                    "parameters": [
                        {
                            "name": "WebServiceInput",
                            "in": "body",
                            "required": True,
                            "schema": {"$ref": "#/definitions/ExecutionRequest"},
                        }
                    ],
                    "responses": {
                        "200": {"description": "Success", "schema": {"$ref": "#/definitions/ExecutionResponse"}},
                        "413": {
                            "description": "MemoryQuotaViolation: the body, or rows x 2^bitsize output cells, "
                            "over the service's limits; send fewer rows or use a smaller bitsize",
                            "schema": {"$ref": "#/definitions/ErrorResponse"},
                        },
                        "default": {"description": "Error", "schema": {"$ref": "#/definitions/ErrorResponse"}},
                    },
                }
            }
        },
        "definitions": {
            "ExecutionRequest": {
                "type": "object",
                "required": ["Inputs"],
                "properties": {
                    "Inputs": {
                        "type": "object",
                        "required": ["input1"],
                        "additionalProperties": False,
                        "properties": {
                            "input1": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/input1Item"}}
                        },
                    },
                    "GlobalParameters": {
                        "type": "object",
                        "x-nullable": True,
                        "additionalProperties": False,
                        "properties": {
                            BITS_PARAMETER: {
                                "type": "integer",
                                "minimum": hashing.MIN_BITS,
                                "maximum": hashing.MAX_BITS,
                            },
                            NGRAMS_PARAMETER: {
                                "type": "integer",
                                "minimum": hashing.MIN_NGRAMS,
                                "maximum": hashing.MAX_NGRAMS,
                            },
                        },
                    },
                },
            },
            "input1Item": input_schema,
            "ExecutionResponse": {
                "type": "object",
                "properties": {
                    "Results": {
                        "type": "object",
                        "properties": {"output1": {"type": "array", "items": {"$ref": "#/definitions/output1Item"}}},
                    }
                },
            },
            "output1Item": {
                "type": "object",
                "description": f"The input columns, then {2**bits} columns {target_column}_HashingFeature.0 .. "
                f"{target_column}_HashingFeature.{2**bits - 1} (the first ones are listed).",
                "properties": output_properties,
                "additionalProperties": {"type": "string"},
            },
            "ErrorResponse": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "details": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "code": {"type": "string"},
                                        "target": {"type": "string"},
                                        "message": {"type": "string"},
                                    },
                                },
                            },
                        },
                    }
                },
            },
        },
    }
