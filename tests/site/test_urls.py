from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from durban_valuations.site.errors import LayoutChangedError
from durban_valuations.site.models import Roll, SearchQuery
from durban_valuations.site.urls import criteria_url, details_url, search_url

BASE = "http://127.0.0.1:8080"


def test_search_url_parameter_order() -> None:
    url = search_url(BASE, SearchQuery(roll=Roll.FULL, rate_number="534"))
    assert url == (
        f"{BASE}/FramePages/SearchResult.aspx?Roll=1&VolumeNo=&RateNumber=534&StreetNo="
        "&StreetName=&Suburb=&ERF=&Portion=&DeedsTown=&SchemeName=&SectionNumber=&All=false"
    )


def test_search_url_encodes_ampersand() -> None:
    query = SearchQuery(roll=Roll.SECTIONAL, scheme_name="SS SUN & SAND", whole_scheme=True)
    assert "SchemeName=SS%20SUN%20%26%20SAND&" in search_url(BASE, query)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("SS C'EST LA VIE", "SS%20C%27EST%20LA%20VIE"),
        ("SS 10/12 KRISHNA LANE", "SS%2010%2F12%20KRISHNA%20LANE"),
        ("A+B#C", "A%2BB%23C"),
        ("KWAZULU É", "KWAZULU%20%C3%89"),
    ],
)
def test_search_url_encodes_reserved(value: str, encoded: str) -> None:
    url = search_url(BASE, SearchQuery(roll=Roll.FULL, street_name=value))
    assert f"StreetName={encoded}&" in url


def test_search_url_has_12_parameters() -> None:
    query = SearchQuery(roll=Roll.SECTIONAL, scheme_name="SS SUN & SAND")
    assert len(urlsplit(search_url(BASE, query)).query.split("&")) == 12


def test_criteria_url_sectional() -> None:
    assert criteria_url(BASE + "/", Roll.SECTIONAL) == f"{BASE}/FramePages/SearchCrit2.aspx"


def test_details_url_verbatim() -> None:
    href = "../FramePages/SearchDeatils.aspx?id=1190534&PType=1&FType=1"
    assert details_url(BASE, href) == (
        f"{BASE}/FramePages/SearchDeatils.aspx?id=1190534&PType=1&FType=1"
    )


def test_details_url_under_prefix() -> None:
    href = "../FramePages/SearchDeatils.aspx?FType=1&id=5&PType=2"
    assert details_url(BASE + "/site/", href) == (
        f"{BASE}/site/FramePages/SearchDeatils.aspx?FType=1&id=5&PType=2"
    )


def test_details_url_other_host_raises() -> None:
    with pytest.raises(LayoutChangedError, match="another host"):
        details_url(BASE, "http://127.0.0.2/FramePages/SearchDeatils.aspx?id=1")
