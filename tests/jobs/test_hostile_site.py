"""A hostile site (errors, timeouts, blocks, truncation, caps, other matching rules) still
yields the complete roll, and never makes a property look removed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from durban_valuations.config import Settings
from durban_valuations.jobs.scrape import run_scrape
from durban_valuations.replica.config import ReplicaConfig
from durban_valuations.replica.fault_config import BurstConfig, FaultConfig, FirewallConfig
from durban_valuations.replica.ground_truth import export_ground_truth
from durban_valuations.replica.server import RunningReplica, running_replica
from durban_valuations.site.models import Roll

ROWS = 4000
SEED = 8
BOTH_ROLLS = [Roll.FULL, Roll.SECTIONAL]
EXPECTED_FAULTS = (
    "criteria_error",
    "result_error",
    "burst",
    "slow_search",
    "firewall",
    "truncated",
    "dropped",
)


def patient_settings() -> Settings:
    """Settings for a faulty site: short timeouts, many quick retries, short pauses."""
    return Settings(
        _env_file=None,
        request_rate=500,
        request_concurrency=4,
        request_timeout=1.0,
        request_retries=8,
        retry_backoff_seconds=0.02,
        retry_backoff_max_seconds=0.3,
        block_pause_after=3,
        block_pause_seconds=0.6,
    )


def truth(site: RunningReplica, folder: Path) -> dict[int, dict[str, object]]:
    path = folder / "truth.jsonl"
    export_ground_truth(site.roll, path)
    records = (json.loads(line) for line in path.read_text().splitlines())
    return {int(record["pin"]): record for record in records}


def scraped(engine: Engine) -> dict[int, tuple[object, ...]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT pin, rate_number, raw_address, market_value FROM properties")
        ).all()
    return {int(row.pin): tuple(row) for row in rows}


def assert_complete(engine: Engine, site: RunningReplica, folder: Path) -> None:
    expected = truth(site, folder)
    found = scraped(engine)
    assert sorted(found) == sorted(expected)
    for pin, row in found.items():
        assert row[1] == expected[pin]["rate_number"]
        assert row[2] == expected[pin]["address"]
        assert row[3] == (expected[pin]["market_value"] or None)


def assert_complete_roll(engine: Engine, site: RunningReplica, folder: Path, roll: str) -> None:
    expected = {pin for pin, record in truth(site, folder).items() if record["roll"] == roll}
    assert set(scraped(engine)) == expected


def test_faulty_site_scrape_complete(engine: Engine, tmp_path: Path) -> None:
    faults = FaultConfig(
        seed=4,
        criteria_error_rate=0.3,
        result_error_rate=0.1,
        slow_search_min_matches=300,
        slow_search_seconds=2.0,
        truncate_rate=0.02,
        drop_rate=0.02,
        burst=BurstConfig(length=10, start=150),
        # The rate limit blocks only a fast enough scraper, so on a loaded machine the
        # random blocks are what make sure the firewall strikes.
        firewall=FirewallConfig(
            max_requests=150, window_seconds=1.0, block_seconds=0.4, block_rate=0.01
        ),
    )
    with running_replica(rows=ROWS, seed=SEED, config=ReplicaConfig(faults=faults)) as site:
        result = run_scrape(patient_settings(), engine, rolls=BOTH_ROLLS, source_url=site.url)
        injected = dict(site.state.faults)
        failed = [item["failed_searches"] for item in result.reports]
        assert result.status == "complete", failed
        assert_complete(engine, site, tmp_path)

    for kind in EXPECTED_FAULTS:
        assert injected.get(kind, 0) > 0, (kind, injected)
    with engine.connect() as connection:
        pending = connection.execute(
            text("SELECT count(*) FROM crawl_searches WHERE status <> 'done' AND status <> 'split'")
        ).scalar_one()
    assert pending == 0


@pytest.mark.parametrize(
    "config",
    [
        ReplicaConfig(max_results=1000),
        ReplicaConfig(max_results=2500),
        ReplicaConfig(street_name_match="exact", number_match="prefix"),
        ReplicaConfig(street_name_match="prefix", erf_match="contains"),
        ReplicaConfig(section_number_match="contains", max_results=1000),
    ],
    ids=["cap-1000", "cap-2500", "exact-street", "prefix-street", "contains-section"],
)
def test_site_variant_scrape_complete(
    engine: Engine, tmp_path: Path, config: ReplicaConfig
) -> None:
    fast = Settings(_env_file=None, request_rate=2000, request_concurrency=4)
    with running_replica(rows=ROWS, seed=SEED, config=config) as site:
        result = run_scrape(fast, engine, rolls=BOTH_ROLLS, source_url=site.url)
        assert_complete(engine, site, tmp_path)

    assert result.status == "complete"


def test_failing_site_marks_nothing_not_seen(engine: Engine) -> None:
    fast = Settings(_env_file=None, request_rate=2000, request_concurrency=4, request_retries=0)
    with running_replica(rows=ROWS, seed=SEED) as site:
        first = run_scrape(fast, engine, rolls=BOTH_ROLLS, source_url=site.url)
    broken = FaultConfig(seed=1, result_error_rate=0.5)
    with running_replica(rows=ROWS, seed=SEED, config=ReplicaConfig(faults=broken)) as site:
        failing = run_scrape(fast, engine, rolls=BOTH_ROLLS, source_url=site.url)
    down = run_scrape(fast, engine, rolls=BOTH_ROLLS, source_url="http://127.0.0.1:9")

    assert first.status == "complete"
    assert failing.status == "incomplete"
    assert down.status == "failed"
    with engine.connect() as connection:
        marked = connection.execute(
            text("SELECT count(*) FROM properties WHERE not_seen_since_run_id IS NOT NULL")
        ).scalar_one()
    assert marked == 0


def test_page_size_limit_narrows_searches(engine: Engine, tmp_path: Path) -> None:
    small_pages = Settings(
        _env_file=None, request_rate=2000, request_concurrency=4, max_page_bytes=150_000
    )
    with running_replica(rows=ROWS, seed=SEED) as site:
        result = run_scrape(small_pages, engine, rolls=[Roll.FULL], source_url=site.url)
        assert_complete_roll(engine, site, tmp_path, "full")

    assert result.status == "complete"
    assert result.report(Roll.FULL)["splits"] > 0
