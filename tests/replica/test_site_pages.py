"""Tests of the replica's navigation pages, headers, errors and request log over HTTP."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser

from durban_valuations.replica import RunningReplica, generate_roll, running_replica, serve


@pytest.fixture(scope="module")
def replica() -> Iterator[RunningReplica]:
    with running_replica(rows=3_000) as running:
        yield running


@pytest.fixture(scope="module")
def client(replica: RunningReplica) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=replica.url, timeout=30) as session:
        yield session


def search_type_form(client: httpx.Client) -> dict[str, str]:
    page = LexborHTMLParser(client.get("/FramePages/SearchType.aspx").text)
    inputs = page.css("input")
    assert all("name" in node.attributes and "value" in node.attributes for node in inputs)
    return {node.attributes["name"] or "": node.attributes["value"] or "" for node in inputs}


def test_search_type_page_fields(client: httpx.Client) -> None:
    fields = search_type_form(client)
    assert fields["__VIEWSTATE"].startswith("/wEPDwUJNTA3NDQ2Mzk0ZG")
    assert set(fields) == {"__VIEWSTATE", "__VIEWSTATEGENERATOR", "__EVENTVALIDATION", "btnGo"}
    page = LexborHTMLParser(client.get("/FramePages/SearchType.aspx").text)
    options = [(o.attributes["value"], o.text()) for o in page.css("#drpSearchType option")]
    assert options == [("", ""), ("1", "Full Title Property"), ("2", "Sectional Title Property")]
    assert "display:none" in page.css_first("#RequiredFieldValidator1").attributes["style"]


@pytest.mark.parametrize(
    ("roll", "click", "location"),
    [
        ("1", {"btnGo": "Go"}, "/FramePages/Search.aspx"),
        ("2", {"btnGo": "Go"}, "/FramePages/Search2.aspx"),
        ("2", {"__EVENTTARGET": "btnGo", "__EVENTARGUMENT": ""}, "/FramePages/Search2.aspx"),
    ],
)
def test_search_type_postback_redirects(
    client: httpx.Client, roll: str, click: dict[str, str], location: str
) -> None:
    form = search_type_form(client)
    form.pop("btnGo")
    form.update(click, drpSearchType=roll)
    response = client.post("/FramePages/SearchType.aspx", data=form)
    assert response.status_code == 302
    assert response.headers["Location"] == location
    assert "<title>Object moved</title>" in response.text
    assert "set-cookie" not in response.headers


def test_search_type_empty_roll_shows_validator(client: httpx.Client) -> None:
    form = search_type_form(client) | {"drpSearchType": ""}
    response = client.post("/FramePages/SearchType.aspx", data=form)
    assert response.status_code == 200
    span = LexborHTMLParser(response.text).css_first("#RequiredFieldValidator1")
    assert "display:inline" in span.attributes["style"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"__VIEWSTATE": "/wEPDwUJNTA3NDQ2Mzk0ZGQAAAA="}, "Validation of viewstate MAC failed"),
        ({"__VIEWSTATE": "not base64!"}, "Validation of viewstate MAC failed"),
        ({"drpSearchType": "3"}, "Invalid postback or callback argument"),
        (
            {"drpSearchType": "<foo>bar</ foo>"},
            'Request.Form value was detected from the client (drpSearchType="<foo>bar</ foo>")',
        ),
    ],
)
def test_search_type_bad_postback_is_500(
    client: httpx.Client, changes: dict[str, str], message: str
) -> None:
    form = search_type_form(client) | {"drpSearchType": "1"} | changes
    response = client.post("/FramePages/SearchType.aspx", data=form)
    assert response.status_code == 500
    assert message in LexborHTMLParser(response.text).css_first("title").text()


def test_plain_post_rerenders(client: httpx.Client) -> None:
    response = client.post("/FramePages/SearchType.aspx", data={"drpSearchType": "1"})
    assert response.status_code == 200
    assert 'name="btnGo"' in response.text


def test_criteria_pages_list_options(replica: RunningReplica, client: httpx.Client) -> None:
    full = client.get("/FramePages/SearchCrit.aspx").text
    page = LexborHTMLParser(full)
    volumes = [o.attributes["value"] for o in page.css("#drpVolumeNo option")]
    assert volumes == ["", *(f"{n:02d}" for n in range(1, 90))]
    suburbs = page.css("#drpSuburb option")
    assert suburbs[0].text() == "[--Select Suburb--]"
    assert [o.attributes["value"] for o in suburbs[1:]] == [o.value for o in replica.roll.suburbs]
    assert [o.text() for o in suburbs[1:]] == [o.text for o in replica.roll.suburbs]
    assert len(page.css("#drpDeedsTown option")) == len(replica.roll.deeds_towns) + 1
    assert page.css_first("#txtRateNumber").attributes["maxlength"] == "10"
    assert page.css_first("#txtStreetName").attributes["maxlength"] == "30"
    assert '\t<option value="1">SEA VIEW</option>\n' in full
    assert "&amp;" in full
    assert 'SearchResult.aspx?Roll=1&VolumeNo="' in full

    sectional = LexborHTMLParser(client.get("/FramePages/SearchCrit2.aspx").text)
    schemes = sectional.css("#drpScheme option")
    assert schemes[0].text() == "[--Select Scheme Name--]"
    assert len(schemes) == 5_323
    assert {o.attributes["value"] for o in schemes[1:]} == {"1"}
    assert sectional.css_first("#chkScheme").attributes.get("name") is None
    assert sectional.css_first("#txtSectionNumber") is not None


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/PropertySearch.htm",
        "/propertysearch.htm",
        "/FRAMEPAGES/SEARCHCRIT.ASPX",
        "/framepages/blank.htm",
    ],
)
def test_paths_case_insensitive(client: httpx.Client, path: str) -> None:
    assert client.get(path).status_code == 200


def test_framesets(client: httpx.Client) -> None:
    top = LexborHTMLParser(client.get("/").text)
    assert [f.attributes["name"] for f in top.css("frame")] == [
        "topFrame",
        "mainFrame",
        "bottomFrame",
    ]
    search = LexborHTMLParser(client.get("/FramePages/Search2.aspx").text)
    assert search.css_first("frameset").attributes["id"] == "frmSearchType"
    assert [f.attributes["src"] for f in search.css("frame")] == ["SearchCrit2.aspx", "blank.htm"]


def test_iis_headers(client: httpx.Client) -> None:
    response = client.get("/FramePages/SearchType.aspx")
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["server"] == "Microsoft-IIS/10.0"
    assert response.headers["x-powered-by"] == "ASP.NET"
    assert response.headers["x-aspnet-version"] == "4.0.30319"
    assert response.headers["cache-control"] == "private"


@pytest.mark.parametrize(
    ("value", "quoted"),
    [("<script>alert(1)</script>", "<script>alert(1)</sc..."), ("&#60;", "&#60;")],
)
def test_dangerous_query_value_is_500(client: httpx.Client, value: str, quoted: str) -> None:
    response = client.get(
        "/FramePages/SearchResult.aspx", params={"Roll": "1", "StreetName": value}
    )
    assert response.status_code == 500
    title = LexborHTMLParser(response.text).css_first("title").text()
    assert title.startswith("A potentially dangerous Request.QueryString value")
    assert title.endswith(f'(StreetName="{quoted}").')


@pytest.mark.parametrize("path", ["/FramePages/a:b.aspx", "/FramePages/%3Cx%3E.aspx", "/a*b"])
def test_dangerous_path_is_400(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 400
    assert "A potentially dangerous Request.Path value" in response.text


@pytest.mark.parametrize(
    "path", ["/SearchDeatils.aspx", "/FramePages/SearchDetails.aspx", "/x.css"]
)
def test_unknown_file_is_404(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "The resource cannot be found." in response.text


def test_request_log_records_requests(
    replica: RunningReplica, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    before = len(replica.requests)
    with caplog.at_level(logging.INFO, logger="durban_valuations.replica"):
        client.get("/FramePages/SearchResult.aspx?Roll=1&RateNumber=5")
        client.post("/FramePages/SearchType.aspx", data={"drpSearchType": "1", "btnGo": "Go"})
    first, second = replica.requests[before:]
    assert (first.method, first.path, first.query) == (
        "GET",
        "/FramePages/SearchResult.aspx",
        "Roll=1&RateNumber=5",
    )
    assert first.status == 500
    assert second.form_keys == ("drpSearchType", "btnGo")
    assert len([r for r in caplog.records if r.name == "durban_valuations.replica"]) == 2


def test_roll_swap_changes_results(replica: RunningReplica, client: httpx.Client) -> None:
    query = (
        "Roll=1&VolumeNo=&RateNumber=00190534&StreetNo=&StreetName=&Suburb=&ERF=&Portion="
        "&DeedsTown=&SchemeName=&SectionNumber=&All=false"
    )
    original = replica.state.roll
    before = client.get(f"/FramePages/SearchResult.aspx?{query}").text
    replica.state.roll = generate_roll(1_000, seed=5)
    try:
        after = client.get(f"/FramePages/SearchResult.aspx?{query}").text
    finally:
        replica.state.roll = original
    assert "(Total found records: 1)" in before
    assert "(Total found records: 1)" in after
    assert before != after


def test_serve_rejects_other_host() -> None:
    with pytest.raises(ValueError, match="loopback"):
        serve(host="0.0.0.0", port=1)
