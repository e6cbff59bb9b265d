"""Tests of ASP.NET query parsing and request validation as the replica applies them."""

from __future__ import annotations

import pytest

from durban_valuations.replica.aspnet import is_dangerous_string, parse_query


def test_parse_query_decodes_plus_and_utf8() -> None:
    query = parse_query("StreetName=SEA+VIEW&Suburb=%C3%A9&Roll=1")
    assert query.get("StreetName") == "SEA VIEW"
    assert query.get("suburb") == "é"
    assert query.get("ROLL") == "1"


def test_parse_query_unencoded_ampersand_splits() -> None:
    query = parse_query("SchemeName=SS SUN & SAND&SectionNumber=")
    assert query.get("SchemeName") == "SS SUN "
    assert query.get(None) == " SAND"
    assert query.get("SectionNumber") == ""
    assert query.keys() == ["SchemeName", None, "SectionNumber"]


def test_parse_query_repeats_join_with_comma() -> None:
    query = parse_query("id=1&id=2&PType=1")
    assert len(query) == 2
    assert query.get_at(0) == "1,2"
    assert query.get("PType") == "1"


def test_parse_query_empty_segments_null_key() -> None:
    query = parse_query("a=1&&b=2&")
    assert query.pairs == [("a", "1"), (None, ""), ("b", "2"), (None, "")]


@pytest.mark.parametrize(
    ("value", "dangerous"),
    [
        ("<script>", True),
        ("<!--", True),
        ("</b", True),
        ("<?xml", True),
        ("&#60;", True),
        ("a < b", False),
        ("<1", False),
        ("SS SUN & SAND", False),
        ("&amp;", False),
        ("<", False),
        ("plain", False),
    ],
)
def test_is_dangerous_string_table(value: str, dangerous: bool) -> None:
    assert is_dangerous_string(value) is dangerous
