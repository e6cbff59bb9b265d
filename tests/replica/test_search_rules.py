"""Tests of the configurable search rules: the result cap and the matching rule of each field."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser

from durban_valuations.replica import ReplicaConfig, ReplicaRoll, generate_roll, running_replica
from durban_valuations.replica.config import TextMatch
from durban_valuations.replica.index import build_index
from durban_valuations.replica.roll import Property
from durban_valuations.replica.search import SearchCriteria, search

PARAMETERS = (
    "Roll", "VolumeNo", "RateNumber", "StreetNo", "StreetName", "Suburb", "ERF", "Portion",
    "DeedsTown", "SchemeName", "SectionNumber", "All",
)  # fmt: skip
CRITERIA_FIELDS = {
    "StreetName": "street_name",
    "StreetNo": "street_number",
    "ERF": "erf",
    "Portion": "portion",
    "SectionNumber": "section_number",
}


@pytest.fixture(scope="module")
def roll() -> ReplicaRoll:
    return generate_roll(3_000)


def result_params(**values: str) -> dict[str, str]:
    params = dict.fromkeys(PARAMETERS, "")
    params.update(Roll="1", All="false")
    params.update(values)
    return params


def fetch_result(roll: ReplicaRoll, config: ReplicaConfig, **values: str) -> LexborHTMLParser:
    with running_replica(roll=roll, config=config) as replica:
        response = httpx.get(
            replica.url + "/FramePages/SearchResult.aspx", params=result_params(**values)
        )
    assert response.status_code == 200
    return LexborHTMLParser(response.text)


def caption_total(page: LexborHTMLParser) -> int:
    text = page.css_first("td.searchResultCaption").text()
    return int(text.split(":")[1].strip(" )\r\n"))


def rate_numbers(page: LexborHTMLParser) -> list[str]:
    return [row.css("td")[0].text().strip() for row in page.css("tr.color1, tr.color0")]


def matches(mode: TextMatch, needle: str, value: str) -> bool:
    needle, value = needle.casefold(), value.casefold()
    if mode == "exact":
        return value == needle
    if mode == "prefix":
        return value.startswith(needle)
    return needle in value


def test_cap_returns_first_rows_with_warning(roll: ReplicaRoll) -> None:
    expected = [prop.rate_number for prop in roll.full if "0" in prop.rate_number]
    assert len(expected) >= 1_000
    page = fetch_result(roll, ReplicaConfig(max_results=10), RateNumber="0")
    assert rate_numbers(page) == expected[:10]
    assert caption_total(page) == 10
    assert page.css_first("tr.HeaderMessage") is not None


def test_cap_warning_by_rows_returned(roll: ReplicaRoll) -> None:
    config = ReplicaConfig(max_results=10, warning_row_count="rows_returned")
    page = fetch_result(roll, config, RateNumber="0")
    assert caption_total(page) == 10
    assert page.css_first("tr.HeaderMessage") is None


def test_cap_above_matches_changes_nothing(roll: ReplicaRoll) -> None:
    prop = roll.full[0]
    page = fetch_result(roll, ReplicaConfig(max_results=10), RateNumber=prop.rate_number)
    assert rate_numbers(page) == [prop.rate_number]
    assert page.css_first("tr.HeaderMessage") is None


def pick_needle(props: list[Property], field: str, length: int) -> str:
    """Return the start of the first value long enough, so the rules give different results."""
    value = next(getattr(prop, field) for prop in props if len(getattr(prop, field)) > length)
    return str(value[:length])


@pytest.mark.parametrize("mode", ["contains", "prefix", "exact"])
@pytest.mark.parametrize(
    ("parameter", "setting", "roll_number"),
    [
        ("StreetName", "street_name_match", "1"),
        ("StreetNo", "street_number_match", "1"),
        ("ERF", "erf_match", "1"),
        ("Portion", "portion_match", "1"),
        ("SectionNumber", "section_number_match", "2"),
    ],
)
def test_matching_rule_per_field(
    roll: ReplicaRoll, parameter: str, setting: str, roll_number: str, mode: TextMatch
) -> None:
    field = CRITERIA_FIELDS[parameter]
    props = roll.full if roll_number == "1" else roll.sectional
    needle = pick_needle(props, field, 1 if parameter != "StreetName" else 3).lower()
    expected = [p.rate_number for p in props if matches(mode, needle, getattr(p, field))]
    settings: dict[str, Any] = {setting: mode}
    if parameter == "StreetName":
        settings = {"street_name_match": mode}
    page = fetch_result(roll, ReplicaConfig(**settings), Roll=roll_number, **{parameter: needle})
    assert caption_total(page) == len(expected)
    assert rate_numbers(page) == expected


def test_number_match_default_for_fields(roll: ReplicaRoll) -> None:
    config = ReplicaConfig(number_match="prefix", erf_match="exact")
    erf_needle = pick_needle(roll.full, "erf", 1)
    street_needle = pick_needle(roll.full, "street_number", 1)
    assert config.match_rule("erf") == "exact"
    assert config.match_rule("street_number") == "prefix"
    erf_page = fetch_result(roll, config, ERF=erf_needle)
    street_page = fetch_result(roll, config, StreetNo=street_needle)
    assert caption_total(erf_page) == sum(p.erf == erf_needle for p in roll.full)
    assert caption_total(street_page) == sum(
        p.street_number.startswith(street_needle) for p in roll.full
    )


def criteria(**values: Any) -> SearchCriteria:
    fields: dict[str, Any] = dict.fromkeys(
        (
            "volume_no", "rate_number", "street_no", "street_name", "suburb", "erf", "portion",
            "deeds_town", "scheme_name", "section_number",
        ),
        "",
    )  # fmt: skip
    fields.update(roll="1", whole_scheme=False)
    fields.update(values)
    return SearchCriteria(**fields)


@pytest.mark.parametrize("mode", ["contains", "prefix", "exact"])
def test_index_agrees_with_scan(roll: ReplicaRoll, mode: TextMatch) -> None:
    index = build_index(roll)
    config = ReplicaConfig(street_name_match=mode, number_match=mode)
    suburb = next(p.suburb_id for p in roll.full if p.suburb_id is not None)
    cases: list[tuple[dict[str, Any], list[Property]]] = [
        ({"street_name": "an"}, [p for p in roll.full if matches(mode, "an", p.street_name)]),
        ({"erf": "12"}, [p for p in roll.full if matches(mode, "12", p.erf)]),
        (
            {"suburb": suburb, "street_no": "1"},
            [p for p in roll.full if p.suburb_id == suburb and matches(mode, "1", p.street_number)],
        ),
        ({"rate_number": "99"}, [p for p in roll.full if "99" in p.rate_number]),
    ]
    for values, expected in cases:
        assert search(index, criteria(**values), config) == expected, values


def test_full_scale_search_fast() -> None:
    big = generate_roll(100_000)
    index = build_index(big)
    config = ReplicaConfig()
    search(index, criteria(rate_number="534"), config)  # builds the joined column once
    started = time.perf_counter()
    found = search(index, criteria(rate_number="534"), config)
    seconds = time.perf_counter() - started
    assert found == [p for p in big.full if "534" in p.rate_number]
    assert seconds < 0.5
