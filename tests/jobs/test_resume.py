"""A crawl killed at any point resumes to the same result; two scrapes never overlap."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from durban_valuations.config import Settings
from durban_valuations.jobs.scrape import run_scrape
from durban_valuations.replica.ground_truth import export_ground_truth
from durban_valuations.replica.server import RunningReplica, running_replica
from durban_valuations.site.models import Roll
from durban_valuations.store.locks import ScrapeInProgressError, scrape_lock

ROWS = 6000
SEED = 21
COMPARED = (
    "roll, pin, rate_number, raw_address, raw_legal_description, raw_first_owner, "
    "market_value, registered_extent, street_name, suburb, erf, deeds_town, section_number"
)


def settings() -> Settings:
    return Settings(_env_file=None, request_rate=2000, request_concurrency=4, request_retries=1)


def snapshot(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT {COMPARED} FROM properties ORDER BY pin")).all()
    return [tuple(row) for row in rows]


def truth_pins(site: RunningReplica, folder: Path) -> list[int]:
    path = folder / "truth.jsonl"
    export_ground_truth(site.roll, path)
    return sorted(json.loads(line)["pin"] for line in path.read_text().splitlines())


def searches_done(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT count(*) FROM crawl_searches WHERE status <> 'pending'")
            ).scalar_one()
        )


def kill_scrape_after(database_url: str, site_url: str, engine: Engine, searches: int) -> None:
    """Start `durban-valuations scrape` in a child process and SIGKILL it mid-crawl."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REQUEST_RATE": "2000",
        "REQUEST_CONCURRENCY": "4",
    }
    command = [sys.executable, "-m", "durban_valuations.cli", "scrape", "--source", site_url]
    child = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while searches_done(engine) < searches:
            assert child.poll() is None, "the scrape ended before it could be killed"
            assert time.monotonic() < deadline, "the scrape made no progress"
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()


@pytest.fixture(scope="module")
def site() -> Any:
    with running_replica(rows=ROWS, seed=SEED) as replica:
        yield replica


def test_killed_crawl_resumes_identically(
    site: RunningReplica, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    # A whole run makes 378 searches (89 volumes and 100 rate-number substrings per roll).
    for searches in (20, 150, 300):
        kill_scrape_after(database_url, site.url, engine, searches)

    result = run_scrape(settings(), engine, rolls=[Roll.FULL, Roll.SECTIONAL], source_url=site.url)

    assert result.status == "complete"
    assert result.resumed
    with engine.connect() as connection:
        runs = connection.execute(text("SELECT id, status FROM scrape_runs")).all()
    assert [tuple(run) for run in runs] == [(result.run_id, "complete")]
    resumed_rows = snapshot(engine)
    assert [row[1] for row in resumed_rows] == truth_pins(site, tmp_path)

    with engine.begin() as connection:
        connection.execute(text("TRUNCATE properties, scrape_runs CASCADE"))
    fresh = run_scrape(settings(), engine, rolls=[Roll.FULL, Roll.SECTIONAL], source_url=site.url)
    assert fresh.status == "complete"
    assert not fresh.resumed
    assert snapshot(engine) == resumed_rows


def test_second_scrape_rejected_while_locked(site: RunningReplica, engine: Engine) -> None:
    with scrape_lock(engine, 2022), pytest.raises(ScrapeInProgressError, match="2022"):
        run_scrape(settings(), engine, rolls=[Roll.FULL], source_url=site.url)


def test_deadline_interrupts_then_resumes(site: RunningReplica, engine: Engine) -> None:
    first = run_scrape(
        settings(), engine, rolls=[Roll.FULL], source_url=site.url, deadline_seconds=0.5
    )
    second = run_scrape(settings(), engine, rolls=[Roll.FULL], source_url=site.url)

    assert first.status == "interrupted"
    assert first.deadline_reached
    assert second.resumed
    assert second.run_id == first.run_id
    assert second.status == "complete"
    assert second.rows(Roll.FULL) == len(site.roll.full)
