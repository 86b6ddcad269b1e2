"""Code snippets in eleven languages: the ones we can run are run against the
live gateway; the others are checked by their own compiler when one is
installed, and all of them against golden files.

UPDATE_GOLDEN=1 rewrites tests/console/golden/ (read the diff before committing it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
from django.urls import reverse

from apis import urltemplate
from console import build, snippets
from gateway.models import Call, Subscription

GOLDEN = Path(__file__).parent / "golden"
EXTENSIONS = {"javascript": "mjs", "node": "js", "java": "java", "python": "py"}


def tricky() -> build.BuiltRequest:
    """Quotes, $, #{…}, backslashes, curly quotes and a newline: everything a literal must keep."""
    return build.build(
        method="POST",
        template=urltemplate.parse("/items/{id}?v={v}"),
        base_url="https://gw.example/api",
        required={"id"},
        header_params={},
        data=build.ConsoleInput(
            params={"id": "it's", "v": "1 2"},
            headers=[
                ("Authorization", "Bearer tok'en-123456"),
                ("Content-Type", "application/json"),
                ("X-Odd", '$(rm) #{x} \\u0041 \u2018q\u2019 "dq"'),
            ],
            body='{"a": "b\'c"}\n',
        ),
    )


@pytest.mark.parametrize("language", [language.slug for language in snippets.LANGUAGES])
def test_each_language_writes_the_request_as_its_golden_file(language):
    code = snippets.code(tricky(), language, reveal=True)
    golden = GOLDEN / f"{language}.txt"
    if os.getenv("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(code)
    assert code == golden.read_text()


def test_secrets_are_masked_unless_revealed_in_every_language():
    for language in snippets.LANGUAGES:
        masked = snippets.code(tricky(), language.slug)
        assert "en-12" not in masked and "••••••••3456" in masked, language.slug
        assert "en-123456" in snippets.code(tricky(), language.slug, reveal=True), language.slug


def test_the_highlighted_code_is_escaped_html_with_the_same_text():
    code = snippets.code(tricky(), "javascript", reveal=True)
    html = snippets.highlighted(code, "javascript")
    assert "<span" in html and "<script" not in html
    assert unescape(re.sub(r"<[^>]+>", "", html)) == code


def test_curl_quotes_everything_for_the_shell():
    curl = snippets.code(tricky(), "curl", reveal=True)
    assert "'https://gw.example/api/items/it%27s?v=1%202'" in curl
    assert "-H 'X-Odd: $(rm) #{x}" in curl and '--data-binary \'{"a": "b\'"\'"\'c"}' in curl


def test_an_unknown_language_falls_back_to_curl():
    assert snippets.code(tricky(), "cobol").startswith("curl -X POST")


def check(tmp_path, language: str, command: list[str]) -> None:
    source = tmp_path / ("Main.java" if language == "java" else f"snippet.{EXTENSIONS[language]}")
    source.write_text(snippets.code(tricky(), language, reveal=True))
    done = subprocess.run([*command, str(source)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_the_python_snippet_compiles():
    compile(snippets.code(tricky(), "python", reveal=True), "snippet.py", "exec")


@pytest.mark.skipif(not shutil.which("node"), reason="node is not installed")
@pytest.mark.parametrize("language", ["javascript", "node"])
def test_the_javascript_snippets_pass_node_check(tmp_path, language):
    check(tmp_path, language, ["node", "--check"])


@pytest.mark.skipif(not shutil.which("javac"), reason="javac is not installed")
def test_the_java_snippet_compiles(tmp_path):
    check(tmp_path, "java", ["javac", "-d", str(tmp_path)])


@pytest.mark.parametrize(
    "language, checker",
    [("php", ["php", "-l"]), ("ruby", ["ruby", "-c"])],
)
def test_the_php_and_ruby_snippets_pass_their_linters_where_installed(tmp_path, language, checker):
    if not shutil.which(checker[0]):
        pytest.skip(f"{checker[0]} is not installed: the golden file stands in")
    EXTENSIONS.setdefault(language, {"php": "php", "ruby": "rb"}[language])
    check(tmp_path, language, checker)


# The snippets, as the console shows them (revealed), run for real against the live gateway.
RUNNERS = {
    "python": lambda path: [sys.executable, str(path)],
    "curl": lambda path: ["sh", str(path)],
    "node": lambda path: ["node", str(path)],
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", list(RUNNERS))
def test_the_snippet_shown_in_the_console_gets_200_from_the_live_gateway(
    language, live_server, settings, client, alice, tmp_path
):
    if language == "curl" and not shutil.which("curl") or language == "node" and not shutil.which("node"):
        pytest.skip(f"{language} is not installed")
    from apis import demo
    from mlservice import demo as ml_demo

    settings.GATEWAY_URL = f"{live_server.url}/gateway"
    settings.MLSERVICE_URL = f"{live_server.url}/ml"
    settings.GATEWAY_RECORD_ASYNC = False
    api = demo.load()
    service = ml_demo.load(api)
    subscription = Subscription.objects.create(
        user=alice, product=api.products.get(slug="starter"), name="Snippets", state=Subscription.ACTIVE
    )
    op = api.operations.get(display_name="RRS Execute")
    client.force_login(alice)
    form = {
        "p_workspace": service.workspace_id,
        "p_service": service.service_id,
        "p_apiversion": "2.0",
        "p_details": "true",
        "h_name": ["Content-Type", "Authorization"],
        "h_value": ["application/json", f"Bearer {service.primary_key}"],
        "subscription": f"{subscription.pk}:primary",
        "body": op.representations.first().example,
        "reveal": "on",
        "snippet": language,
    }
    html = client.post(reverse("console-preview", args=[op.pk]), form, HTTP_HX_REQUEST="true").content.decode()
    code = unescape(re.sub(r"<[^>]+>", "", re.search(r'<pre id="c\d+-code"[^>]*>(.*?)</pre>', html, re.S).group(1)))
    script = tmp_path / f"snippet.{EXTENSIONS.get(language, 'sh')}"
    script.write_text(code)
    done = subprocess.run(RUNNERS[language](script), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    if language == "curl":
        assert '"Results"' in done.stdout  # curl prints only the body
    else:
        assert done.stdout.split()[0] == "200", done.stdout[:500]
    assert Call.objects.filter(subscription=subscription, status=200).count() == 1
