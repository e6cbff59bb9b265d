"""Tests of the replica's data generation and ground-truth export."""

from __future__ import annotations

import collections
import json
import re
from decimal import Decimal
from pathlib import Path

from durban_valuations.replica import GROUND_TRUTH_KEYS, export_ground_truth, generate_roll
from durban_valuations.replica.realrows import load_real_rows

SMALL_ROWS = 3_000


def test_export_is_deterministic_for_seed(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    export_ground_truth(generate_roll(SMALL_ROWS, seed=7), first)
    export_ground_truth(generate_roll(SMALL_ROWS, seed=7), second)
    export_ground_truth(generate_roll(SMALL_ROWS, seed=8), other)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()


def test_export_has_every_key_sorted(tmp_path: Path) -> None:
    roll = generate_roll(SMALL_ROWS)
    path = tmp_path / "truth.jsonl"
    count = export_ground_truth(roll, path)
    records = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert count == SMALL_ROWS
    assert len(records) == SMALL_ROWS
    assert all(tuple(record) == GROUND_TRUTH_KEYS for record in records)
    order = [(record["roll"], record["pin"]) for record in records]
    assert order == sorted(order)
    assert all(isinstance(record["market_value"], int) for record in records)
    assert all(isinstance(record["registered_extent"], str) for record in records)
    assert all(record["owners"][0] == record["first_owner"] for record in records)


def test_real_rows_kept_exactly() -> None:
    roll = generate_roll(SMALL_ROWS)
    real_by_rate = {prop.rate_number: prop for prop in roll.full if prop.is_real}
    real_rows = load_real_rows()
    assert len(real_by_rate) == len(real_rows) == 1_000
    for row in real_rows:
        prop = real_by_rate[row.rate_number]
        assert prop.legal_description == row.legal_description
        assert prop.address == row.address
        assert prop.first_owner == row.first_owner
        assert prop.use_code == row.use_code
        assert prop.market_value == row.market_value
    zedek = real_by_rate["00190534"]
    assert zedek.first_owner == "ZEDEK TRADING 656 PROPRIETARY LIMITED"
    assert zedek.use_code == "Industrial (45)"
    assert zedek.market_value == 60_760_000
    assert zedek.registered_extent == Decimal(22702)
    assert zedek.deeds_town == "PINETOWN"
    assert not any(prop.is_real for prop in roll.sectional)


def test_identifiers_unique_and_shaped() -> None:
    roll = generate_roll(SMALL_ROWS)
    pins = [prop.pin for prop in roll.all_properties()]
    assert len(set(pins)) == len(pins)
    assert all(100_000 <= pin < 100_000_000 for pin in pins)
    for props in (roll.full, roll.sectional):
        rate_numbers = [prop.rate_number for prop in props]
        assert len(set(rate_numbers)) == len(rate_numbers)
        assert all(re.fullmatch(r"\d{8}", number) for number in rate_numbers)
    assert all(
        prop.volume_no in {f"{n:02d}" for n in range(1, 90)} for prop in roll.all_properties()
    )


def test_sectional_units_share_scheme_place() -> None:
    roll = generate_roll(SMALL_ROWS)
    scheme_names = {option.text for option in roll.schemes}
    places_by_scheme: dict[str, set[tuple[str, str | None, str]]] = collections.defaultdict(set)
    for prop in roll.sectional:
        assert prop.scheme_name in scheme_names
        assert prop.legal_description == f"Section {prop.section_number} of {prop.scheme_name}"
        assert Decimal(0) <= prop.registered_extent <= Decimal(400)
        places_by_scheme[prop.scheme_name].add((prop.volume_no, prop.suburb_id, prop.address))
    assert all(len(places) == 1 for places in places_by_scheme.values())


def test_default_size_has_large_suburbs() -> None:
    roll = generate_roll()
    for props, minimum in ((roll.full, 10), (roll.sectional, 3)):
        per_suburb = collections.Counter(prop.suburb_id for prop in props if prop.suburb_id)
        assert sum(count >= 1_000 for count in per_suburb.values()) >= minimum
        assert sorted(per_suburb.values())[len(per_suburb) // 2] < 100
    per_volume = collections.Counter(prop.volume_no for prop in roll.full)
    assert sum(count >= 1_000 for count in per_volume.values()) >= 3
    generated = [prop for prop in roll.all_properties() if not prop.is_real]
    unlisted_share = sum(prop.suburb_id is None for prop in generated) / len(generated)
    assert 0.02 < unlisted_share < 0.04
    full_numbers = {prop.rate_number for prop in roll.full}
    shared = sum(prop.rate_number in full_numbers for prop in roll.sectional)
    assert 0.005 < shared / len(roll.sectional) < 0.015
