"""Tests of SearchResult.aspx and SearchDeatils.aspx over HTTP against a running replica."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser

from durban_valuations.replica import ReplicaConfig, RunningReplica, running_replica
from durban_valuations.replica.html_result import NO_MATCH_TEXT, WARNING_TEXT

PARAMETERS = (
    "Roll", "VolumeNo", "RateNumber", "StreetNo", "StreetName", "Suburb", "ERF", "Portion",
    "DeedsTown", "SchemeName", "SectionNumber", "All",
)  # fmt: skip


def result_params(**values: str) -> dict[str, str]:
    params = dict.fromkeys(PARAMETERS, "")
    params["Roll"] = "1"
    params["All"] = "false"
    params.update(values)
    return params


@pytest.fixture(scope="module")
def replica() -> Iterator[RunningReplica]:
    with running_replica(rows=3_000) as running:
        yield running


@pytest.fixture(scope="module")
def client(replica: RunningReplica) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=replica.url, timeout=30) as session:
        yield session


def get_result(client: httpx.Client, **values: str) -> LexborHTMLParser:
    response = client.get("/FramePages/SearchResult.aspx", params=result_params(**values))
    assert response.status_code == 200
    return LexborHTMLParser(response.text)


def caption_total(page: LexborHTMLParser) -> int:
    caption = page.css_first("td.searchResultCaption").text().strip()
    assert caption.startswith("Search Results (Total found records: ")
    return int(caption.removeprefix("Search Results (Total found records: ").rstrip(")"))


def test_large_search_has_warning_and_all_rows(
    replica: RunningReplica, client: httpx.Client
) -> None:
    expected = [prop for prop in replica.roll.full if "0" in prop.rate_number]
    assert len(expected) >= 1_000
    page = get_result(client, RateNumber="0")
    rows = page.css("tr.color0, tr.color1")
    assert caption_total(page) == len(expected)
    assert len(rows) == len(expected)
    warning = page.css_first("tr.HeaderMessage td")
    assert warning.text().strip() == WARNING_TEXT
    assert [row.css("td")[0].text().strip() for row in rows] == [p.rate_number for p in expected]


def test_result_row_structure(replica: RunningReplica, client: httpx.Client) -> None:
    response = client.get(
        "/FramePages/SearchResult.aspx", params=result_params(RateNumber="00190534")
    )
    assert 'id="resultPanel"' in response.text
    assert '<div align="center">\r\n<html>\r\n  <body>' in response.text
    page = LexborHTMLParser(response.text)
    table = page.css_first("table.searchResultTable")
    assert table.attributes["cellspacing"] == "1"
    assert page.css_first("tr.HeaderMessage") is None
    headers = [th.text() for th in page.css("tr.SearchResultRowHeader th")]
    assert headers[0] == "Rate Number "
    assert len(headers) == 8
    rows = page.css("tr.color1, tr.color0")
    assert len(rows) == 1
    assert rows[0].attributes["class"] == "color1"
    cells = [cell.text().strip() for cell in rows[0].css("td")]
    assert cells == [
        "00190534", "ERF 30781 of PINETOWN", "16 MAHOGANY ROAD, MAHOGANY RIDGE",
        "ZEDEK TRADING 656 PROPRIETARY LIMITED", "Industrial (45)", "Industrial", "60,760,000",
        "22,702",
    ]  # fmt: skip
    pin = next(prop.pin for prop in replica.roll.full if prop.rate_number == "00190534")
    expected_href = f"../FramePages/SearchDeatils.aspx?id={pin}&amp;PType=1&amp;FType=2"
    assert f'href="{expected_href}"' in response.text


def test_rows_alternate_color_classes(client: httpx.Client) -> None:
    page = get_result(client, RateNumber="12")
    classes = [row.attributes["class"] for row in page.css("tr.color0, tr.color1")]
    assert len(classes) > 2
    assert classes == ["color1" if index % 2 == 0 else "color0" for index in range(len(classes))]


def test_no_match_page(client: httpx.Client) -> None:
    page = get_result(client, RateNumber="no-such-number")
    assert caption_total(page) == 0
    assert page.css_first("td.Message").text().strip() == NO_MATCH_TEXT
    assert page.css_first("tr.SearchResultRowHeader") is None
    assert page.css("tr.color0, tr.color1") == []


@pytest.mark.parametrize("roll", ["3", "", "x"])
def test_unknown_roll_no_match(client: httpx.Client, roll: str) -> None:
    assert caption_total(get_result(client, Roll=roll, RateNumber="1")) == 0


def test_all_empty_criteria_no_match(client: httpx.Client) -> None:
    assert caption_total(get_result(client)) == 0


def test_missing_parameter_is_500(client: httpx.Client) -> None:
    params = result_params(RateNumber="1")
    del params["DeedsTown"]
    response = client.get("/FramePages/SearchResult.aspx", params=params)
    assert response.status_code == 500
    assert "Object reference not set to an instance of an object." in response.text


def test_suburb_and_scheme_searches(replica: RunningReplica, client: httpx.Client) -> None:
    unit = replica.roll.sectional[0]
    scheme = [p for p in replica.roll.sectional if p.scheme_name == unit.scheme_name]
    page = get_result(
        client, Roll="2", SchemeName=unit.scheme_name, All="true", SectionNumber="999"
    )
    assert caption_total(page) == len(scheme)
    page = get_result(
        client, Roll="2", SchemeName=unit.scheme_name, SectionNumber=unit.section_number
    )
    assert caption_total(page) == 1
    prop = next(p for p in replica.roll.full if p.suburb_id is not None)
    expected = [p for p in replica.roll.full if p.suburb_id == prop.suburb_id]
    assert caption_total(get_result(client, Suburb=prop.suburb_id or "")) == len(expected)
    street = prop.street_name.lower()[1:5]
    page = get_result(client, Suburb=prop.suburb_id or "", StreetName=street)
    assert caption_total(page) == sum(street in p.street_name.lower() for p in expected)


def test_result_cap_config() -> None:
    with (
        running_replica(rows=3_000, config=ReplicaConfig(max_results=10)) as replica,
        httpx.Client(base_url=replica.url) as client,
    ):
        page = get_result(client, RateNumber="0")
        assert caption_total(page) == 10
        assert len(page.css("tr.color0, tr.color1")) == 10


def test_details_page_by_position(replica: RunningReplica, client: httpx.Client) -> None:
    prop = next(p for p in replica.roll.sectional if len(p.owners) > 1)
    response = client.get(f"/FramePages/SearchDeatils.aspx?x={prop.pin}&y=9&z=9")
    assert response.status_code == 200
    page = LexborHTMLParser(response.text)
    values = [cell.text().strip() for cell in page.css("td.tdContaint")]
    assert prop.rate_number in values
    assert prop.scheme_name in values
    owners = [cell.text().strip() for cell in page.css("#divOwnsers td.tdContaint")]
    assert owners == list(prop.owners)
    assert "SearchResult1$btnSection49" in response.text


def test_details_unknown_pin_skeleton(client: httpx.Client) -> None:
    response = client.get("/FramePages/SearchDeatils.aspx?id=1&PType=1&FType=1")
    assert response.status_code == 200
    page = LexborHTMLParser(response.text)
    assert page.css_first("td.windowHeader1").text() == "Property Profile"
    assert all(cell.text().strip() == "" for cell in page.css("td.tdContaint"))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("id=1&PType=1", "Index was out of range"),
        ("", "Index was out of range"),
        ("id=abc&PType=1&FType=1", "Input string was not in a correct format."),
        ("PType=1&FType=1&id=x", "Input string was not in a correct format."),
        ("id=1&id=2&PType=1&FType=1", "Input string was not in a correct format."),
    ],
)
def test_details_bad_query_is_500(client: httpx.Client, query: str, message: str) -> None:
    response = client.get(f"/FramePages/SearchDeatils.aspx?{query}")
    assert response.status_code == 500
    assert "Server Error in '/' Application." in response.text
    assert message in response.text
