from __future__ import annotations

from collections.abc import Callable

import pytest

from durban_valuations.site.errors import LayoutChangedError
from durban_valuations.site.models import PropertyDetails, Roll
from durban_valuations.site.parse_details import parse_details_page

PageReader = Callable[[str], str]


@pytest.fixture
def full(page: PageReader) -> PropertyDetails:
    return parse_details_page(page("details-full.html"))


@pytest.fixture
def sectional(page: PageReader) -> PropertyDetails:
    return parse_details_page(page("details-sectional.html"))


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("roll", Roll.FULL),
        ("rate_number", "68095534"),
        ("property_description", "REM of ERF 4418 of RESERVOIR HILLS"),
        ("address", "79 MEMBREY ROAD                    , PALMIET"),
        ("registered_extent", "6,008"),
        ("market_value", "980,000"),
        ("use_code", "Single Residential"),
        ("rating_category", "Residential"),
        ("government_code", ""),
        ("exemptions", "N"),
        ("rebates", "Pensioner & Disability"),
        ("phasing_in", "N"),
        ("exclusions", "N"),
        ("sra_code", "0"),
        ("erf", "4418"),
        ("deeds_town", "RESERVOIR HILLS"),
        ("property_type", "Full Title"),
        ("section_number", ""),
        ("scheme_name", ""),
        ("scheme_number", ""),
    ],
)
def test_full_details_field(full: PropertyDetails, field: str, expected: object) -> None:
    assert getattr(full, field) == expected


def test_full_details_owners(full: PropertyDetails) -> None:
    assert full.owners == [
        "SHABALALA THEMBA",
        "SHABALALA NOMSA PRECIOUS",
        "MOODLEY & SONS TRUST",
    ]


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("roll", Roll.SECTIONAL),
        ("rate_number", "88001012"),
        ("property_description", "Section 12 of SS SUN & SAND"),
        ("address", "25 MARINE PARADE, NORTH BEACH"),
        ("registered_extent", "84.5"),
        ("market_value", "1,250,000"),
        ("use_code", "Single Residential"),
        ("rating_category", "Residential"),
        ("government_code", ""),
        ("exemptions", "N"),
        ("rebates", ""),
        ("phasing_in", "N"),
        ("exclusions", "N"),
        ("sra_code", ""),
        ("section_number", "12"),
        ("scheme_name", "SS SUN & SAND"),
        ("scheme_number", "412/1987"),
        ("erf", ""),
        ("deeds_town", ""),
        ("property_type", ""),
    ],
)
def test_sectional_details_field(sectional: PropertyDetails, field: str, expected: object) -> None:
    assert getattr(sectional, field) == expected


def test_sectional_details_owners(sectional: PropertyDetails) -> None:
    assert sectional.owners == ["NAIDOO ANITA", "NAIDOO PRAVEEN"]


def test_result_page_is_not_a_profile(page: PageReader) -> None:
    with pytest.raises(LayoutChangedError, match="no property profile"):
        parse_details_page(page("result-real-rows.html"))


def test_missing_caption_raises(page: PageReader) -> None:
    html = page("details-full.html").replace(">Exclusions<", ">Exclusion<")
    with pytest.raises(LayoutChangedError, match="Exclusions"):
        parse_details_page(html)


def test_missing_owners_section_raises(page: PageReader) -> None:
    html = page("details-full.html").replace('id="divOwnsers"', 'id="divOwners2"')
    with pytest.raises(LayoutChangedError, match="owners"):
        parse_details_page(html)
