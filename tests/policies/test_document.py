"""Policy documents: what the parser accepts, what it refuses and where, and
how scopes merge. Pure: no database."""

from __future__ import annotations

import pytest

from policies import document, pipeline
from policies.document import PolicyError


def refused(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as e:
        pipeline.load(text)
    return e.value


def test_api_managements_default_documents_load_as_they_are():
    pipeline.load(document.DEFAULT_DOCUMENT)
    pipeline.load(document.DEFAULT_GLOBAL_DOCUMENT)
    # The portal's "new policy" template, comments and all.
    pipeline.load(
        """<!--
    IMPORTANT:
    - Policy elements can appear only within the <inbound>, <outbound>, <backend> section elements.
    - To apply a policy to the incoming request (before it is forwarded to the backend service), place a corresponding policy element within the <inbound> section element.
-->
<policies>
    <inbound>
        <base />
    </inbound>
    <backend>
        <base />
    </backend>
    <outbound>
        <base />
    </outbound>
    <on-error>
        <base />
    </on-error>
</policies>"""
    )


def test_an_unknown_element_is_named_with_its_line_and_column():
    e = refused("<policies>\n  <inbound>\n    <base />\n    <set-headr name='x' />\n  </inbound>\n</policies>")
    assert (e.line, e.column) == (4, 5)
    assert "<set-headr>" in e.message


def test_an_unknown_attribute_is_named():
    e = refused(
        "<policies><inbound>\n<set-header name='X' exist-action='skip'><value>1</value></set-header></inbound></policies>"
    )
    assert e.line == 2 and "'exist-action'" in e.message and "<set-header>" in e.message


def test_a_missing_required_attribute_is_named():
    e = refused("<policies><inbound><rate-limit-by-key calls='5' renewal-period='60' /></inbound></policies>")
    assert "'counter-key'" in e.message


def test_a_policy_in_a_section_api_management_does_not_allow_is_refused():
    e = refused("<policies><outbound><rewrite-uri template='/x' /></outbound></policies>")
    assert e.message == "<rewrite-uri> is not allowed in <outbound>."


def test_broken_xml_gets_the_parsers_position():
    e = refused("<policies>\n  <inbound>\n    <base />\n  </outbound>\n</policies>")
    assert e.line == 4 and "Mismatched tag" in e.message


def test_entity_declarations_are_refused_before_anything_expands():
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        "<policies><inbound><set-header name='x'><value>&lol2;</value></set-header></inbound></policies>"
    )
    assert "DOCTYPE" in refused(bomb).message
    external = '<!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><policies />'
    assert "DOCTYPE" in refused(external).message


def test_a_bad_expression_is_reported_where_its_element_is():
    e = refused(
        "<policies>\n<inbound>\n<choose>\n"
        '<when condition=\'@(context.Request.Hedaers.GetValueOrDefault("a","") == "1")\'><set-status code=\'200\' /></when>'
        "</choose></inbound></policies>"
    )
    assert e.line == 4 and "context.Request.Hedaers" in e.message


def test_base_inside_choose_is_refused():
    e = refused("<policies><inbound><choose><when condition='@(true)'><base /></when></choose></inbound></policies>")
    assert "<base />" in e.message


def test_multi_statement_expressions_are_outside_the_subset():
    e = refused(
        "<policies><inbound><set-header name='a'><value>@{ return \"x\"; }</value></set-header></inbound></policies>"
    )
    assert "@{" in e.message


def test_unsupported_attributes_say_so():
    e = refused("<policies><inbound><set-backend-service backend-id='b1' /></inbound></policies>")
    assert "does not support" in e.message


def scoped(label: str, text: str | None) -> document.Scoped:
    return document.Scoped(label, document.parse(text) if text else None)


def test_base_runs_the_enclosing_scope_where_it_stands():
    merged = document.merge(
        [
            scoped(
                "global", "<policies><inbound><set-header name='G'><value>1</value></set-header></inbound></policies>"
            ),
            scoped("product p", None),
            scoped(
                "api a",
                "<policies><inbound><set-header name='A1'><value>1</value></set-header><base />"
                "<set-header name='A2'><value>1</value></set-header></inbound></policies>",
            ),
            scoped(
                "operation o",
                "<policies><inbound><base /><set-header name='O'><value>1</value></set-header></inbound></policies>",
            ),
        ]
    )
    assert [e.attrs["name"] for e in merged["inbound"]] == ["A1", "G", "A2", "O"]
    assert [e.scope for e in merged["inbound"]] == ["api a", "global", "api a", "operation o"]


def test_a_section_without_base_drops_the_enclosing_policies():
    merged = document.merge(
        [
            scoped(
                "global", "<policies><inbound><set-header name='G'><value>1</value></set-header></inbound></policies>"
            ),
            scoped(
                "api a", "<policies><inbound><set-header name='A'><value>1</value></set-header></inbound></policies>"
            ),
        ]
    )
    assert [e.attrs["name"] for e in merged["inbound"]] == ["A"]


def test_the_effective_document_prints_with_its_scopes_and_parses_again():
    merged = document.merge(
        [
            scoped("global", document.DEFAULT_GLOBAL_DOCUMENT),
            scoped(
                "api a",
                "<policies><inbound><base /><set-header name='X'><value>a &amp; b</value></set-header></inbound></policies>",
            ),
        ]
    )
    text = document.to_xml(merged)
    assert "<!-- from api a -->" in text and "<!-- from global -->" in text
    assert "<value>a &amp; b</value>" in text
    again = document.parse(text)
    assert [c.tag for c in again.child("backend").children] == ["forward-request"]
