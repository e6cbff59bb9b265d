import itertools
import random

import pytest

from durban_valuations.crawl.planner import (
    Dimension,
    UnsplittableSearchError,
    initial_searches,
    query_from_key,
    search_key,
    split_search,
)
from durban_valuations.site.models import CriteriaOptions, Option, Roll, SearchQuery

VOLUMES = [f"{number:02d}" for number in range(1, 90)]


def make_options() -> CriteriaOptions:
    return CriteriaOptions(
        roll=Roll.FULL,
        volumes=[Option(volume, volume) for volume in VOLUMES],
        suburbs=[Option("1", "SEA VIEW"), Option("7", "BELVEDERE"), Option("9", "BELVEDERE")],
    )


def test_initial_searches_by_suburb() -> None:
    searches = initial_searches(make_options(), Dimension.SUBURB)
    assert [search.suburb for search in searches] == ["1", "7", "9"]


def test_initial_searches_limited_to_values() -> None:
    searches = initial_searches(make_options(), Dimension.SUBURB, ["9"])
    assert [search.suburb for search in searches] == ["9"]


def test_initial_searches_by_volume() -> None:
    searches = initial_searches(make_options(), Dimension.VOLUME)
    assert [search.volume_no for search in searches] == VOLUMES


def test_initial_searches_by_rate_number() -> None:
    searches = initial_searches(make_options(), Dimension.RATE_NUMBER)
    substrings = [search.rate_number for search in searches]
    assert substrings == [f"{number:02d}" for number in range(100)]
    assert all(search.volume_no == search.suburb == "" for search in searches)


@pytest.mark.parametrize(
    ("query", "expected_children", "changed_field"),
    [
        (SearchQuery(Roll.FULL, suburb="1"), 89, "volume_no"),
        (SearchQuery(Roll.FULL, suburb="1", volume_no="04"), 100, "rate_number"),
        (SearchQuery(Roll.FULL, volume_no="04"), 100, "rate_number"),
        (SearchQuery(Roll.FULL, volume_no="04", rate_number="12"), 20, "rate_number"),
        (SearchQuery(Roll.FULL, volume_no="04", rate_number="11"), 19, "rate_number"),
    ],
)
def test_split_decision_table(
    query: SearchQuery, expected_children: int, changed_field: str
) -> None:
    children = split_search(query, VOLUMES)
    assert len(children) == expected_children
    assert len(set(children)) == expected_children
    for child in children:
        assert getattr(child, changed_field) != getattr(query, changed_field)


def test_split_exact_rate_number_raises() -> None:
    with pytest.raises(UnsplittableSearchError, match="12345678"):
        split_search(SearchQuery(Roll.FULL, volume_no="01", rate_number="12345678"), VOLUMES)


def matches(query: SearchQuery, rate_number: str) -> bool:
    return query.rate_number in rate_number


@pytest.mark.parametrize("substring", ["1", "12", "534", "0000000", "99"])
def test_rate_number_split_covers_every_match(substring: str) -> None:
    # Every 8-digit number that contains the parent substring must match some child.
    parent = SearchQuery(Roll.FULL, volume_no="01", rate_number=substring)
    children = split_search(parent, VOLUMES)
    generator = random.Random(substring)
    samples = ["".join(generator.choices("0123456789", k=8)) for _ in range(20000)]
    edge_cases = [substring.ljust(8, "0"), substring.rjust(8, "0"), substring.rjust(8, "9")]
    for number in itertools.chain(samples, edge_cases):
        if matches(parent, number):
            assert any(matches(child, number) for child in children), number


def test_two_digit_split_covers_every_number() -> None:
    children = split_search(SearchQuery(Roll.FULL, volume_no="01"), VOLUMES)
    for number in ("00000000", "12345678", "99999999", "00190534"):
        assert any(matches(child, number) for child in children)


@pytest.mark.parametrize(
    "query",
    [
        SearchQuery(Roll.FULL, suburb="12"),
        SearchQuery(Roll.FULL, volume_no="04", rate_number="0012"),
        SearchQuery(Roll.SECTIONAL, scheme_name="SS SUN & SAND", whole_scheme=True),
        SearchQuery(Roll.SECTIONAL, scheme_name="SS A=B", section_number="7"),
    ],
)
def test_search_key_round_trip(query: SearchQuery) -> None:
    key = search_key(query)

    assert query_from_key(query.roll, key) == query


def test_search_key_order_fixed() -> None:
    query = SearchQuery(Roll.FULL, suburb="3", volume_no="04", rate_number="12")

    assert search_key(query) == "VolumeNo=04&RateNumber=12&Suburb=3"


def test_foreign_search_key_rejected() -> None:
    with pytest.raises(ValueError, match="Colour"):
        query_from_key(Roll.FULL, "Colour=red")
