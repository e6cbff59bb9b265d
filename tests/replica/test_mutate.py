"""Tests of mutate_roll and describe_changes: exact change counts, determinism, served data."""

from __future__ import annotations

import collections

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser

from durban_valuations.replica import (
    Property,
    ReplicaRoll,
    describe_changes,
    generate_roll,
    mutate_roll,
    running_replica,
)
from durban_valuations.replica.ground_truth import property_record

COUNTS = {
    "changed_values": 5,
    "changed_owners": 4,
    "new_properties": 6,
    "removed_properties": 3,
    "changed_use_codes": 7,
    "changed_extents": 8,
}
PARAMETERS = (
    "Roll", "VolumeNo", "RateNumber", "StreetNo", "StreetName", "Suburb", "ERF", "Portion",
    "DeedsTown", "SchemeName", "SectionNumber", "All",
)  # fmt: skip


@pytest.fixture(scope="module")
def roll() -> ReplicaRoll:
    return generate_roll(3_000)


def test_change_counts_exact(roll: ReplicaRoll) -> None:
    changes = describe_changes(roll, mutate_roll(roll, seed=1, **COUNTS))
    kinds = collections.Counter(change.kind for change in changes)
    assert kinds["market_value"] == 5
    assert kinds["first_owner"] == 4
    assert kinds["owners"] == 4
    assert kinds["new"] == 6
    assert kinds["removed"] == 3
    assert kinds["use_code"] == 7
    assert kinds["rating_category"] <= 7
    assert kinds["registered_extent"] == 8
    assert all(change.old != change.new for change in changes)
    changed_pins = [c.pin for c in changes if c.kind not in {"owners", "rating_category"}]
    assert len(changed_pins) == len(set(changed_pins)) == sum(COUNTS.values())


def test_mutation_deterministic_by_seed(roll: ReplicaRoll) -> None:
    first = describe_changes(roll, mutate_roll(roll, seed=1, **COUNTS))
    again = describe_changes(roll, mutate_roll(roll, seed=1, **COUNTS))
    other = describe_changes(roll, mutate_roll(roll, seed=2, **COUNTS))
    assert first == again
    assert first != other


def test_new_properties_unique(roll: ReplicaRoll) -> None:
    mutated = mutate_roll(roll, seed=3, new_properties=40)
    old_pins = {prop.pin for prop in roll.all_properties()}
    new_props = [prop for prop in mutated.all_properties() if prop.pin not in old_pins]
    assert len(new_props) == 40
    pins = [prop.pin for prop in mutated.all_properties()]
    assert len(pins) == len(set(pins))
    for props in (mutated.full, mutated.sectional):
        numbers = [prop.rate_number for prop in props]
        assert len(numbers) == len(set(numbers))
    for unit in (prop for prop in new_props if prop.roll == "sectional"):
        assert unit.legal_description == f"Section {unit.section_number} of {unit.scheme_name}"


def test_original_roll_unchanged(roll: ReplicaRoll) -> None:
    before = [property_record(prop) for prop in roll.all_properties()]
    mutate_roll(roll, seed=4, **COUNTS)
    assert [property_record(prop) for prop in roll.all_properties()] == before


def test_too_many_changes_rejected(roll: ReplicaRoll) -> None:
    with pytest.raises(ValueError, match="changed properties requested"):
        mutate_roll(roll, seed=1, removed_properties=len(roll.all_properties()) + 1)
    with pytest.raises(ValueError, match="must not be negative"):
        mutate_roll(roll, seed=1, changed_values=-1)


def search_rate_numbers(client: httpx.Client, roll_number: str, rate_number: str) -> list[str]:
    params = dict.fromkeys(PARAMETERS, "")
    params.update(Roll=roll_number, All="false", RateNumber=rate_number)
    page = LexborHTMLParser(client.get("/FramePages/SearchResult.aspx", params=params).text)
    return [row.css("td")[0].text().strip() for row in page.css("tr.color1, tr.color0")]


def details_values(client: httpx.Client, pin: int) -> list[str]:
    response = client.get(f"/FramePages/SearchDeatils.aspx?id={pin}&PType=1&FType=1")
    return [cell.text().strip() for cell in LexborHTMLParser(response.text).css("td.tdContaint")]


def test_swapped_roll_served(roll: ReplicaRoll) -> None:
    mutated = mutate_roll(roll, seed=5, **COUNTS)
    changes = describe_changes(roll, mutated)
    removed = next(c.old for c in changes if c.kind == "removed")
    added = next(c.new for c in changes if c.kind == "new")
    revalued = next(c for c in changes if c.kind == "market_value")
    with (
        running_replica(roll=roll) as replica,
        httpx.Client(base_url=replica.url, timeout=10) as client,
    ):
        assert isinstance(removed, Property)
        assert isinstance(added, Property)
        removed_roll = "1" if removed.roll == "full" else "2"
        removed_rate = removed.rate_number
        assert removed_rate in search_rate_numbers(client, removed_roll, removed_rate)
        replica.state.roll = mutated

        assert removed_rate not in search_rate_numbers(client, removed_roll, removed_rate)
        assert set(details_values(client, removed.pin)) == {""}
        added_roll = "1" if added.roll == "full" else "2"
        added_rate = added.rate_number
        assert added_rate in search_rate_numbers(client, added_roll, added_rate)
        assert added_rate in details_values(client, added.pin)
        assert f"{revalued.new:,}" in details_values(client, revalued.pin)
