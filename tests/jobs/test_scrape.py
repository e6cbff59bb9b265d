"""End to end: the replica over real HTTP, a complete scrape, the database against the truth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from durban_valuations.config import Settings
from durban_valuations.jobs.scrape import ScrapeResult, run_scrape
from durban_valuations.replica.config import ReplicaConfig
from durban_valuations.replica.ground_truth import export_ground_truth
from durban_valuations.replica.server import RunningReplica, running_replica
from durban_valuations.site.models import Roll

ROWS = 12_000
SEED = 11
BOTH_ROLLS = [Roll.FULL, Roll.SECTIONAL]


def fast_settings() -> Settings:
    return Settings(_env_file=None, request_rate=2000, request_concurrency=4, request_retries=1)


@pytest.fixture(scope="module")
def site() -> Iterator[RunningReplica]:
    with running_replica(rows=ROWS, seed=SEED) as replica:
        yield replica


def load_truth(replica: RunningReplica, folder: Path) -> dict[int, dict[str, Any]]:
    path = folder / "truth.jsonl"
    export_ground_truth(replica.roll, path)
    with path.open() as lines:
        return {record["pin"]: record for record in map(json.loads, lines)}


def load_scraped(engine: Engine) -> dict[int, dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM properties")).mappings().all()
    return {row["pin"]: dict(row) for row in rows}


def blank_to_none(value: str | None) -> str | None:
    return value if value else None


def expected_clean_fields(truth: dict[str, Any]) -> dict[str, Any]:
    extent = Decimal(truth["registered_extent"])
    use_code = truth["use_code"]
    description, number = (None, None)
    if use_code:
        description, _, code = use_code.rpartition(" (")
        number = int(code.rstrip(")"))
    return {
        "roll": truth["roll"],
        "rate_number": truth["rate_number"],
        "ptype": truth["ptype"],
        "ftype": truth["ftype"],
        "raw_address": truth["address"],
        "raw_legal_description": truth["legal_description"],
        "raw_first_owner": truth["first_owner"],
        "raw_use_code": use_code,
        "raw_rating_category": truth["rating_category"],
        "market_value": truth["market_value"] or None,
        "registered_extent": extent if extent else None,
        "street_number": blank_to_none(truth["street_number"]),
        "street_name": blank_to_none(" ".join(truth["street_name"].split())),
        "suburb": blank_to_none(" ".join(truth["suburb_name"].split())),
        "first_owner": blank_to_none(truth["first_owner"]),
        "use_code_description": description,
        "use_code_number": number,
        "rating_category": blank_to_none(truth["rating_category"]),
        "erf": blank_to_none(truth["erf"]),
        "portion": blank_to_none(truth["portion"]),
        "is_remainder": truth["is_remainder"],
        "deeds_town": blank_to_none(truth["deeds_town"]),
        "section_number": blank_to_none(truth["section_number"]),
        "scheme_name": blank_to_none(truth["scheme_name"]),
    }


def assert_matches_truth(
    scraped: dict[int, dict[str, Any]], truth: dict[int, dict[str, Any]]
) -> None:
    assert sorted(scraped) == sorted(truth)
    mismatches = []
    for pin, record in truth.items():
        row = scraped[pin]
        for field, expected in expected_clean_fields(record).items():
            if row[field] != expected:
                mismatches.append((pin, field, row[field], expected))
    assert mismatches == [], "\n".join(map(repr, mismatches[:30]))


def test_scrape_equals_ground_truth(site: RunningReplica, engine: Engine, tmp_path: Path) -> None:
    result = run_scrape(fast_settings(), engine, rolls=BOTH_ROLLS, source_url=site.url)

    assert result.status == "complete"
    assert result.error is None
    truth = load_truth(site, tmp_path)
    assert_matches_truth(load_scraped(engine), truth)
    assert result.rows(Roll.FULL) == sum(1 for r in truth.values() if r["roll"] == "full")
    assert result.rows(Roll.SECTIONAL) == sum(1 for r in truth.values() if r["roll"] == "sectional")


def test_scrape_reports_coverage(site: RunningReplica, engine: Engine, tmp_path: Path) -> None:
    result = run_scrape(fast_settings(), engine, rolls=[Roll.FULL], source_url=site.url)

    truth = load_truth(site, tmp_path)
    full = [record for record in truth.values() if record["roll"] == "full"]
    report = result.report(Roll.FULL)
    assert report["properties"] == len(full)
    # Volumes and rate-number substrings each reach every property on their own.
    assert report["properties_by_dimension"] == {"volume": len(full), "rate_number": len(full)}
    assert report["properties_only_in"] == {"volume": 0, "rate_number": 0}
    assert report["failed_searches"] == []
    assert report["pending"] == 0


def test_suburb_dimension_misses_unlisted_suburbs(
    site: RunningReplica, engine: Engine, tmp_path: Path
) -> None:
    settings = fast_settings().model_copy(update={"crawl_dimensions": ("suburb", "volume")})
    result = run_scrape(settings, engine, rolls=[Roll.FULL], source_url=site.url)

    truth = load_truth(site, tmp_path)
    full = [record for record in truth.values() if record["roll"] == "full"]
    without_suburb = sum(1 for record in full if record["suburb_id"] is None)
    report = result.report(Roll.FULL)
    assert result.status == "complete"
    assert report["properties"] == len(full)
    assert report["properties_by_dimension"]["volume"] == len(full)
    assert report["properties_only_in"]["volume"] == without_suburb
    assert report["properties_only_in"]["suburb"] == 0
    assert report["splits"] > 0


def test_second_run_keeps_one_row_each(site: RunningReplica, engine: Engine) -> None:
    first = run_scrape(fast_settings(), engine, rolls=[Roll.SECTIONAL], source_url=site.url)
    second = run_scrape(fast_settings(), engine, rolls=[Roll.SECTIONAL], source_url=site.url)

    assert first.inserted == first.rows(Roll.SECTIONAL)
    assert second.inserted == 0
    assert second.updated == 0
    assert second.unchanged == first.inserted
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM properties")).scalar_one()
        runs = connection.execute(
            text("SELECT status, rows_sectional FROM scrape_runs ORDER BY id")
        ).all()
    assert count == first.inserted
    assert [tuple(run) for run in runs] == [("complete", count), ("complete", count)]
    with engine.connect() as connection:
        requests = connection.execute(text("SELECT requests FROM scrape_runs")).scalars().all()
    assert requests == [first.requests, second.requests]
    assert first.requests > first.rows(Roll.SECTIONAL) / 1000


def test_capped_site_still_complete(engine: Engine, tmp_path: Path) -> None:
    # A site that stops at 1,000 rows is only covered if warned searches are split.
    config = ReplicaConfig(max_results=1000)
    with running_replica(rows=ROWS, seed=SEED, config=config) as capped:
        result = run_scrape(fast_settings(), engine, rolls=BOTH_ROLLS, source_url=capped.url)
        truth = load_truth(capped, tmp_path)

    assert result.status == "complete"
    assert sorted(load_scraped(engine)) == sorted(truth)


def test_suburb_run_fetches_details(site: RunningReplica, engine: Engine, tmp_path: Path) -> None:
    truth = load_truth(site, tmp_path)
    suburb_ids = {option.value: option.text for option in site.roll.suburbs}
    target = next(
        record for record in truth.values() if record["roll"] == "full" and record["suburb_id"]
    )
    name = suburb_ids[target["suburb_id"]]
    same_name_ids = {value for value, text_ in suburb_ids.items() if text_ == name}
    expected_pins = {
        pin
        for pin, record in truth.items()
        if record["roll"] == "full" and record["suburb_id"] in same_name_ids
    }

    result = run_scrape(
        fast_settings(),
        engine,
        rolls=[Roll.FULL],
        suburb_names=[name.lower()],
        source_url=site.url,
        fetch_details=True,
    )

    assert result.status == "complete"
    assert result.details_fetched == len(expected_pins)
    with engine.connect() as connection:
        owners = connection.execute(
            text("SELECT pin, name FROM owners ORDER BY pin, position")
        ).all()
        details = connection.execute(
            text("SELECT pin, details_sra_code, details_property_type FROM properties")
        ).all()
    scraped_owners: dict[int, list[str]] = {}
    for pin, owner in owners:
        scraped_owners.setdefault(pin, []).append(owner)
    assert set(scraped_owners) == expected_pins
    for pin in expected_pins:
        assert scraped_owners[pin] == truth[pin]["owners"], pin
    for pin, sra_code, property_type in details:
        assert (sra_code or "") == truth[pin]["sra_code"], pin
        assert property_type == truth[pin]["property_type"], pin


def test_unreachable_site_fails_run(engine: Engine) -> None:
    settings = Settings(_env_file=None, request_retries=0, request_timeout=2)
    result: ScrapeResult = run_scrape(
        settings, engine, rolls=[Roll.FULL], source_url="http://127.0.0.1:9"
    )

    assert result.status == "failed"
    assert result.error is not None
    with engine.connect() as connection:
        status, error = connection.execute(
            text("SELECT status, error FROM scrape_runs WHERE id = :id"), {"id": result.run_id}
        ).one()
        count = connection.execute(text("SELECT count(*) FROM properties")).scalar_one()
    assert status == "failed"
    assert "127.0.0.1:9" in error
    assert count == 0
