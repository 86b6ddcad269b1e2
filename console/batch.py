"""The batch job panel's pure parts: which operations of an API are BES, the
blob names of a run, the CSV check, the Submit body, reading the answers.

No Django here: the views (console/batch_views.py) send through the gateway
and keep the run; this module decides.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# BES's URL shapes (AZUREML.md): .../jobs, .../jobs/{id}/start, .../jobs/{id}.
_JOBS = re.compile(r"/jobs\Z")
_JOB = re.compile(r"/jobs/\{([^}]+)\}\Z")
_START = re.compile(r"/jobs/\{([^}]+)\}/start\Z")

TERMINAL = ("Finished", "Failed", "Cancelled")
# BES clients accept the state names or their numbers 0..4.
STATE_NAMES = ["NotStarted", "Running", "Failed", "Cancelled", "Finished"]


@dataclass(frozen=True)
class BesOperations:
    """The operation keys (anything hashable: the views use primary keys) and the job id's parameter name."""

    submit: object
    start: object
    status: object
    delete: object
    job_param: str

    def __contains__(self, key) -> bool:
        return key in (self.submit, self.start, self.status, self.delete)


def find_bes(operations: list[tuple[object, str, str]]) -> BesOperations | None:
    """[(key, method, URL template)] -> the API's four BES operations, or None when it has not all of them."""
    found: dict[str, object] = {}
    job_param = ""
    for key, method, template in operations:
        path = template.split("?", 1)[0].rstrip("/")
        method = method.upper()
        if method == "POST" and _JOBS.search(path):
            found.setdefault("submit", key)
        elif method == "POST" and (m := _START.search(path)):
            found.setdefault("start", key)
            job_param = job_param or m.group(1)
        elif method in ("GET", "DELETE") and (m := _JOB.search(path)):
            found.setdefault("status" if method == "GET" else "delete", key)
            job_param = job_param or m.group(1)
    if len(found) < 4 or not job_param:
        return None
    return BesOperations(found["submit"], found["start"], found["status"], found["delete"], job_param)


class CsvProblem(ValueError):
    """The file is no CSV a batch job can read; the message says why, for the field."""


def check_csv(data: bytes, *, cap: int) -> int:
    """The number of data rows of a UTF-8 CSV with a header row; CsvProblem otherwise."""
    if not data.strip():
        raise CsvProblem("The file is empty: a batch job needs a header row and at least one row.")
    if len(data) > cap:
        raise CsvProblem(f"The file is {len(data):,} bytes; the panel uploads at most {cap:,} bytes.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvProblem("The file is not UTF-8 text: save it as UTF-8 CSV.") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
        rows = 0
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise CsvProblem(
                    f"Line {reader.line_num} has {len(row)} fields; the header row has {len(header)}. "
                    "A text with a comma must be in double quotes."
                )
            rows += 1
    except csv.Error as e:
        raise CsvProblem(f"Not valid CSV near line {reader.line_num}: {e}.") from None
    if not rows:
        raise CsvProblem("The file has a header row but no rows to score.")
    return rows


def submit_body(connection_string: str, input_location: str, output_location: str) -> str:
    """BES Submit's body: the input blob and where the results go, in the same storage."""
    return json.dumps(
        {
            "Inputs": {"input1": {"ConnectionString": connection_string, "RelativeLocation": input_location}},
            "Outputs": {"output1": {"ConnectionString": connection_string, "RelativeLocation": output_location}},
            "GlobalParameters": {},
        },
        indent=2,
    )


def job_id_from(body: bytes) -> str:
    """Submit's answer is the job id as a JSON string ("abc…"): the id, without its quotes."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        value = None
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value):
        raise ValueError("BES Submit did not answer with a job id.")
    return value


@dataclass
class Status:
    state: str
    details: str
    results: dict | None
    rows: int | None = None


def status_from(body: bytes) -> Status:
    """A BES status answer; the state as its name whether it came as a name or as 0..4."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("BES Status did not answer JSON.") from None
    if not isinstance(data, dict):
        raise ValueError("BES Status did not answer a JSON object.")
    state = data.get("StatusCode")
    if isinstance(state, int) and 0 <= state < len(STATE_NAMES):
        state = STATE_NAMES[state]
    if state not in STATE_NAMES:
        raise ValueError(f"BES Status answered an unknown state: {str(state)[:40]}.")
    results = data.get("Results") if isinstance(data.get("Results"), dict) else None
    rows = data.get("RowsProcessed")
    return Status(
        state=state,
        details=str(data.get("Details") or ""),
        results=results,
        rows=rows if isinstance(rows, int) and not isinstance(rows, bool) else None,
    )


def result_links(results: dict | None) -> list[tuple[str, str]]:
    """[(output name, URL)] from BaseLocation + RelativeLocation + SasBlobToken; http(s) URLs only."""
    links = []
    for name, output in sorted((results or {}).items()):
        if not isinstance(output, dict):
            continue
        base, relative, sas = (str(output.get(k) or "") for k in ("BaseLocation", "RelativeLocation", "SasBlobToken"))
        if not base or not relative:
            continue
        url = base.rstrip("/") + "/" + relative.lstrip("/") + sas
        if urlsplit(url).scheme in ("http", "https"):
            links.append((name, url))
    return links


def error_text(body: bytes) -> str:
    """The message of an error answer: the gateway's {"message"} or AzureML's {"error": {...}}."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body[:300].decode("utf-8", "replace")
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        error = data["error"]
        details = [d.get("message", "") for d in error.get("details") or [] if isinstance(d, dict)]
        return " ".join(str(m) for m in [error.get("message", ""), *details] if m)[:500]
    if isinstance(data, dict) and "message" in data:
        return str(data["message"])[:500]
    return json.dumps(data)[:300]
