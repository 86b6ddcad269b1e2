"""`python manage.py import_openapi FILE|- [...]`: one line per operation, a
summary, and exit code 2 with the reason on stderr for a document it refuses."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apis.models import Api, Operation, Product
from tests.openapi.conftest import EXAMPLES, document

pytestmark = pytest.mark.django_db

PETSTORE = str(EXAMPLES / "3.0" / "yaml" / "petstore.yaml")


def run(*args, stdin: bytes | None = None) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        old = sys.stdin
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    try:
        call_command("import_openapi", *args, stdout=out, stderr=err)
    finally:
        if stdin is not None:
            sys.stdin = old
    return out.getvalue(), err.getvalue()


def test_it_prints_a_line_per_operation_and_a_summary():
    document("3.0/yaml/petstore.yaml")
    Product.objects.create(name="Starter", slug="starter")
    out, err = run(PETSTORE, "--api", "pets", "--suffix", "petstore", "--product", "starter", "--publish")
    lines = out.splitlines()
    assert lines[0] == "added    PUT /pet  (Update an existing pet)"
    assert "added    GET /user/login?username={username}&password={password}  (Logs user into the system)" in lines
    assert lines[-1] == "Swagger Petstore: 20 added, 0 changed, 0 removed, 0 unchanged (API created)."
    assert len(lines) == 21
    api = Api.objects.get(slug="pets")
    assert (api.path, api.published, [p.slug for p in api.products.all()]) == ("petstore", True, ["starter"])
    assert (
        err
        == "warning: The document's security requirements are not imported: callers authenticate to the gateway with a subscription key.\n"
    )
    out, _ = run(PETSTORE, "--api", "pets")
    assert out == "Swagger Petstore: 0 added, 0 changed, 0 removed, 20 unchanged; API details unchanged.\n"


def test_it_reads_standard_input_and_a_dry_run_writes_nothing():
    out, _ = run("-", "--dry-run", "--name", "Pets", stdin=document("3.0/yaml/petstore.yaml"))
    assert out.splitlines()[-1] == (
        "Dry run, nothing written. Pets: 20 added, 0 changed, 0 removed, 0 unchanged (API would be created)."
    )
    assert not Api.objects.exists()


def bad(tmp_path, content: bytes, *args) -> CommandError:
    path = tmp_path / "doc"
    path.write_bytes(content)
    with pytest.raises(CommandError) as e:
        run(str(path), "--service-url", "https://backend.example", *args)
    assert e.value.returncode == 2
    assert not Api.objects.filter(name__startswith="T").exists() and not Operation.objects.exists()
    return e.value


def small(paths: dict) -> bytes:
    return json.dumps({"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": paths}).encode()


OK = {"200": {"description": "OK"}}


def test_it_refuses_what_is_neither_json_nor_yaml(tmp_path):
    assert str(bad(tmp_path, b"{oops")).startswith("Not JSON: ")
    assert str(bad(tmp_path, b"a: b: c\n")).startswith("Not JSON or YAML: ")


def test_it_refuses_what_is_not_openapi(tmp_path):
    error = bad(tmp_path, b"name: a docker compose file\n")
    assert str(error) == "Not an OpenAPI document: it has neither an 'openapi' nor a 'swagger' field."


def test_it_refuses_an_unknown_version(tmp_path):
    assert str(bad(tmp_path, b"openapi: 3.2.0\n")) == "Unknown OpenAPI version '3.2.0': use 2.0, 3.0.x or 3.1.x."


def test_it_refuses_a_duplicate_operation(tmp_path):
    path_param = [{"name": "a", "in": "path", "required": True, "schema": {}}]
    other_param = [{"name": "b", "in": "path", "required": True, "schema": {}}]
    doc = small(
        {
            "/x/{a}": {"parameters": path_param, "get": {"responses": OK}},
            "/x/{b}": {"parameters": other_param, "get": {"responses": OK}},
        }
    )
    assert str(bad(tmp_path, doc)) == "Duplicate operation: GET /x/{b} and GET /x/{a} would answer the same calls."


def test_it_refuses_a_template_the_catalog_rejects(tmp_path):
    error = bad(tmp_path, document("3.0/yaml/parameters-common.yaml"))
    assert "the URL template is not accepted: Duplicate parameter name 'id'" in str(error)


def test_it_refuses_a_30_megabyte_file(tmp_path):
    error = bad(tmp_path, b"openapi: 3.1.0\nx: " + b"y" * (30 * 1024 * 1024))
    # Read only as far as the limit: the message gives the limit, not the size.
    assert str(error) == "The document is 20.0 MB: at most 20 MB."


def test_it_refuses_a_missing_file_and_an_unknown_product(tmp_path):
    with pytest.raises(CommandError, match=r"^Cannot read /nonexistent/x\.yaml: No such file or directory\.$"):
        run("/nonexistent/x.yaml")
    with pytest.raises(CommandError, match="No product has the slug 'gold'"):
        run(PETSTORE, "--product", "gold")


def test_the_command_exits_2_with_the_message_on_stderr(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("openapi: 9\n")
    result = subprocess.run(
        [sys.executable, "manage.py", "import_openapi", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "CommandError: Unknown OpenAPI version '9': use 2.0, 3.0.x or 3.1.x."
    assert result.stdout == ""
