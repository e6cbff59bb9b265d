from __future__ import annotations

from collections.abc import Callable

import pytest

from durban_valuations.site.errors import LayoutChangedError, ServerError
from durban_valuations.site.models import CriteriaOptions, Option, Roll
from durban_valuations.site.parse_criteria import parse_criteria_page

PageReader = Callable[[str], str]


@pytest.fixture
def full(page: PageReader) -> CriteriaOptions:
    return parse_criteria_page(page("criteria-full.html"), Roll.FULL)


@pytest.fixture
def sectional(page: PageReader) -> CriteriaOptions:
    return parse_criteria_page(page("criteria-sectional.html"), Roll.SECTIONAL)


def test_full_roll(full: CriteriaOptions) -> None:
    assert full.roll is Roll.FULL


def test_full_volumes(full: CriteriaOptions) -> None:
    assert full.volumes == [Option("01", "01"), Option("02", "02"), Option("89", "89")]


def test_full_suburb_values(full: CriteriaOptions) -> None:
    assert [option.value for option in full.suburbs] == [
        "842",
        "2",
        "938",
        "998",
        "1",
        "1025",
        "1044",
        "0",
    ]


def test_full_suburb_entity_decoded(full: CriteriaOptions) -> None:
    assert full.suburbs[0].text == "BALGOWRIE No 14189 & BARTLETT"


def test_full_suburb_apostrophe(full: CriteriaOptions) -> None:
    assert full.suburbs[2].text == "GANDHI'S HILL"


def test_full_suburb_inner_spaces_kept(full: CriteriaOptions) -> None:
    assert full.suburbs[3].text == "L/LUCIA RIDGE OFFICE PARK PH I"


def test_full_duplicate_suburb_names_kept(full: CriteriaOptions) -> None:
    trenance = [option for option in full.suburbs if option.text == "TRENANCE PARK"]
    assert trenance == [Option("1025", "TRENANCE PARK"), Option("1044", "TRENANCE PARK")]


def test_full_undefined_suburb_kept(full: CriteriaOptions) -> None:
    # Value "0" is a real option, only the empty value is the placeholder.
    assert full.suburbs[-1] == Option("0", "UNDEFINED")


def test_full_deeds_towns(full: CriteriaOptions) -> None:
    assert [option.text for option in full.deeds_towns] == [
        "COTTON LANDS NO. 1575",
        "DURBAN",
        "FARM WATERFALL NO. 978",
        "VERULAM EXT 16",
    ]


def test_full_has_no_schemes(full: CriteriaOptions) -> None:
    assert full.schemes == []


def test_sectional_roll(sectional: CriteriaOptions) -> None:
    assert sectional.roll is Roll.SECTIONAL


def test_sectional_scheme_texts(sectional: CriteriaOptions) -> None:
    assert [option.text for option in sectional.schemes] == [
        "SS 1 HAWTHORN ROAD",
        "SS C'EST LA VIE",
        "SS Costa Do sol",
        "SS SMITH & GIBBONS",
        "SS SUN & SAND",
    ]


def test_sectional_scheme_values(sectional: CriteriaOptions) -> None:
    assert {option.value for option in sectional.schemes} == {"1"}


def test_sectional_suburbs(sectional: CriteriaOptions) -> None:
    assert len(sectional.suburbs) == 8


def test_sectional_has_no_deeds_towns(sectional: CriteriaOptions) -> None:
    assert sectional.deeds_towns == []


def test_reworked_names_found(page: PageReader, full: CriteriaOptions) -> None:
    reworked = parse_criteria_page(page("criteria-reworked.html"), Roll.FULL)
    assert reworked == full


def test_missing_suburb_select_raises(page: PageReader) -> None:
    html = page("criteria-full.html").replace('name="drpSuburb" id="drpSuburb"', 'id="other"')
    with pytest.raises(LayoutChangedError, match="drpSuburb"):
        parse_criteria_page(html, Roll.FULL)


def test_missing_scheme_select_raises(page: PageReader) -> None:
    with pytest.raises(LayoutChangedError, match="drpScheme"):
        parse_criteria_page(page("criteria-full.html"), Roll.SECTIONAL)


def test_error_page_raises(page: PageReader) -> None:
    with pytest.raises(ServerError, match="error: 40"):
        parse_criteria_page(page("server-error.html"), Roll.FULL)
