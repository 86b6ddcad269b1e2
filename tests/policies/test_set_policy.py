"""python manage.py set_policy: every scope, stdin, removal, and refusals with
the line and the reason on stderr (exit code 2)."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from apis.models import Api, Operation, Product
from policies.models import Policy

pytestmark = pytest.mark.django_db

DOC = "<policies><inbound><base /><set-header name='X-A'><value>1</value></set-header></inbound></policies>"


@pytest.fixture
def api():
    api = Api.objects.create(name="Books", slug="books", path="books", service_url="http://127.0.0.1:9")
    Operation.objects.create(api=api, method="GET", url_template="/books/{id}", display_name="Get book")
    return api


def write(tmp_path, text: str) -> str:
    path = tmp_path / "policy.xml"
    path.write_text(text)
    return str(path)


def test_it_sets_each_scope(tmp_path, api):
    product = Product.objects.create(name="Gold", slug="gold")
    call_command("set_policy", "--global", write(tmp_path, DOC))
    call_command("set_policy", "--product", "gold", write(tmp_path, DOC))
    call_command("set_policy", "--api", "books", write(tmp_path, DOC))
    call_command("set_policy", "--api", "books", "--operation", "Get book", write(tmp_path, DOC))
    call_command("set_policy", "--api", "books", "--operation", "get-book", write(tmp_path, DOC.replace("X-A", "X-B")))
    scopes = sorted(Policy.objects.values_list("scope", flat=True))
    assert scopes == ["api", "global", "operation", "product"]
    assert "X-B" in Policy.objects.get(operation__api=api).document
    assert Policy.objects.get(product=product).document == DOC


def test_it_reads_stdin_and_an_empty_document_removes_the_policy(api, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(DOC))
    call_command("set_policy", "--api", "books", "-")
    assert Policy.objects.get(api=api).document == DOC
    monkeypatch.setattr(sys, "stdin", io.StringIO("  \n"))
    call_command("set_policy", "--api", "books", "-")
    assert not Policy.objects.exists()


def test_an_invalid_document_is_refused_with_its_line_and_reason(tmp_path, api):
    bad = "<policies>\n  <inbound>\n    <set-header name='X' exists-action='sometimes' />\n  </inbound>\n</policies>"
    with pytest.raises(CommandError) as e:
        call_command("set_policy", "--api", "books", write(tmp_path, bad))
    assert e.value.returncode == 2
    assert "line 3, column 5" in str(e.value) and "'exists-action'" in str(e.value)
    assert not Policy.objects.exists()


def test_unknown_scopes_are_refused(tmp_path, api):
    for args in (["--product", "nope"], ["--api", "nope"], ["--api", "books", "--operation", "Nope"]):
        with pytest.raises(CommandError) as e:
            call_command("set_policy", *args, write(tmp_path, DOC))
        assert e.value.returncode == 2


def test_the_command_line_exits_2_with_the_reason_on_stderr(tmp_path, settings):
    """As an admin runs it: a real process."""
    result = subprocess.run(
        [sys.executable, "manage.py", "set_policy", "--global", "-"],
        input="<policies>\n<inbound>\n<nope />\n</inbound>\n</policies>",
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=60,
    )
    assert result.returncode == 2
    assert "line 3, column 1" in result.stderr and "<nope>" in result.stderr
