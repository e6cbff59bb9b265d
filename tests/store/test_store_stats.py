"""The last completed run and statistics of an empty or one-value roll."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, text

from durban_valuations.clean.models import CleanProperty
from durban_valuations.site.models import Roll
from durban_valuations.store.runs import finish_run, set_run_status, start_run
from durban_valuations.store.stats import compute_statistics, last_completed_run
from durban_valuations.store.upsert import upsert_properties

PropertyFactory = Callable[..., CleanProperty]
SOURCE = "http://127.0.0.1:8001"


def _set_finished_at(engine: Engine, run_id: int, timestamp: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE scrape_runs SET finished_at = :at WHERE id = :id"),
            {"at": timestamp, "id": run_id},
        )


def test_last_completed_run_none(engine: Engine) -> None:
    with engine.begin() as connection:
        start_run(connection, 2022, "all", SOURCE)
        failed = start_run(connection, 2022, "all", SOURCE)
        finish_run(connection, failed, "failed")

    with engine.connect() as connection:
        assert last_completed_run(connection, 2022) is None


def test_last_completed_run_latest_finished(engine: Engine) -> None:
    with engine.begin() as connection:
        older_id = start_run(connection, 2022, "full", SOURCE)
        newer_id = start_run(connection, 2022, "sectional", SOURCE)
        finish_run(connection, older_id, "complete")
        finish_run(connection, newer_id, "complete")
    _set_finished_at(engine, older_id, "2024-03-02T00:00:00Z")
    _set_finished_at(engine, newer_id, "2024-03-01T00:00:00Z")

    with engine.connect() as connection:
        run = last_completed_run(connection, 2022)

    # The run with the lower id finished last, so it is the one the statistics follow.
    assert run is not None
    assert run.id == older_id
    assert run.complete_runs == 2


def test_last_completed_run_skips_suspect_and_other_years(engine: Engine) -> None:
    with engine.begin() as connection:
        good = start_run(connection, 2022, "all", SOURCE)
        finish_run(connection, good, "complete")
        suspect = start_run(connection, 2022, "all", SOURCE)
        finish_run(connection, suspect, "complete", suspect=True, suspect_reason="few rows")
        other_year = start_run(connection, 2021, "all", SOURCE)
        finish_run(connection, other_year, "complete")

    with engine.connect() as connection:
        run = last_completed_run(connection, 2022)

    assert run is not None
    assert run.id == good


def test_last_completed_run_changes_when_old_run_completes(engine: Engine) -> None:
    with engine.begin() as connection:
        old = start_run(connection, 2022, "all", SOURCE)
        finish_run(connection, old, "incomplete")
        new = start_run(connection, 2022, "all", SOURCE)
        finish_run(connection, new, "complete")
    _set_finished_at(engine, old, "2024-01-01T00:00:00Z")
    with engine.connect() as connection:
        before = last_completed_run(connection, 2022)

    with engine.begin() as connection:
        set_run_status(connection, old, "complete")
    with engine.connect() as connection:
        after = last_completed_run(connection, 2022)

    # The newest finished run stays the same, but the record differs, so caches reload.
    assert before is not None
    assert after is not None
    assert after.id == before.id == new
    assert after != before


def test_statistics_empty_roll(engine: Engine) -> None:
    with engine.connect() as connection:
        rolls = compute_statistics(connection, 2022)

    assert [item.roll for item in rolls] == [Roll.FULL, Roll.SECTIONAL]
    for item in rolls:
        assert item.statistics.property_count == 0
        assert item.statistics.market_value.count == 0
        assert item.statistics.market_value.median is None
        assert item.by_rating_category == []
        assert item.by_use_code == []


def test_statistics_one_value(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        run_id = start_run(connection, 2022, "all", SOURCE)
        rows = [
            make_property(1, market_value=300_000, registered_extent=None),
            make_property(2, market_value=None),
        ]
        upsert_properties(connection, 2022, run_id, rows)

    with engine.connect() as connection:
        [full] = compute_statistics(connection, 2022, roll=Roll.FULL)

    market = full.statistics.market_value
    assert (market.count, market.missing) == (1, 1)
    assert (market.min, market.q1, market.median, market.q3, market.max) == (300_000,) + (
        300_000.0,
    ) * 3 + (300_000,)
    assert isinstance(market.min, int)
    assert market.mean == 300_000.0
    assert full.statistics.value_per_m2.count == 0
    assert full.statistics.value_per_m2.missing == 2
    assert full.statistics.value_per_m2.median is None
    assert full.statistics.without_extent == 1


def test_statistics_suburb_filter(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        run_id = start_run(connection, 2022, "all", SOURCE)
        rows = [
            make_property(1, suburb="Berea", market_value=10),
            make_property(2, suburb="BEREA WEST", market_value=20),
            make_property(3, suburb="berea", market_value=30, roll=Roll.SECTIONAL),
        ]
        upsert_properties(connection, 2022, run_id, rows)

    with engine.connect() as connection:
        full, sectional = compute_statistics(connection, 2022, suburb="BEREA")

    assert full.statistics.property_count == 1
    assert full.statistics.market_value.max == 10
    assert sectional.statistics.property_count == 1
    assert sectional.statistics.market_value.max == 30
