"""Scrape-run records."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from durban_valuations.store.runs import (
    finish_run,
    get_run,
    last_complete_run,
    latest_runs,
    list_runs,
    set_run_status,
    start_run,
)


def test_start_and_finish_run(engine: Engine) -> None:
    with engine.begin() as connection:
        run_id = start_run(connection, 2022, "full", "http://127.0.0.1:8001")
        started = get_run(connection, run_id)
        finish_run(
            connection,
            run_id,
            "incomplete",
            searches=10,
            splits=2,
            failed_searches=1,
            rows_full=300,
            rows_sectional=0,
            properties_inserted=250,
            properties_updated=40,
            properties_unchanged=10,
            error="1 search failed",
            report={"rolls": [{"roll": "full", "searches": 10}]},
        )
        finished = get_run(connection, run_id)

    assert started is not None
    assert started.status == "running"
    assert started.finished_at is None
    assert finished is not None
    assert finished.status == "incomplete"
    assert finished.finished_at is not None
    assert (finished.searches, finished.splits, finished.failed_searches) == (10, 2, 1)
    assert (finished.rows_full, finished.rows_sectional) == (300, 0)
    assert finished.properties_inserted == 250
    assert finished.properties_updated == 40
    assert finished.properties_unchanged == 10
    assert finished.error == "1 search failed"
    assert finished.report == {"rolls": [{"roll": "full", "searches": 10}]}


def test_runs_accept_session(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        run_id = start_run(session, 2022, "all", "http://127.0.0.1:8001")
        finish_run(session, run_id, "complete")
        run = get_run(session, run_id)
    assert run is not None
    assert run.status == "complete"


def test_latest_runs_newest_first(engine: Engine) -> None:
    with engine.begin() as connection:
        ids = [start_run(connection, 2022, "all", "http://127.0.0.1:8001") for _ in range(3)]
        assert [run.id for run in latest_runs(connection, 2)] == [ids[2], ids[1]]
        assert get_run(connection, ids[-1] + 100) is None


def test_finish_run_rejects_bad_input(engine: Engine) -> None:
    with engine.begin() as connection:
        run_id = start_run(connection, 2022, "all", "http://127.0.0.1:8001")
        with pytest.raises(ValueError, match="'running'"):
            finish_run(connection, run_id, "running")
        with pytest.raises(LookupError, match="not found"):
            finish_run(connection, run_id + 1, "complete")
        finish_run(connection, run_id, "failed", error="site blocked")
        with pytest.raises(LookupError, match="already finished"):
            finish_run(connection, run_id, "complete")


def test_start_run_rejects_bad_rolls(engine: Engine) -> None:
    with engine.begin() as connection, pytest.raises(ValueError, match="'both'"):
        start_run(connection, 2022, "both", "http://127.0.0.1:8001")


def test_finish_run_new_columns(engine: Engine) -> None:
    with engine.begin() as connection:
        run_id = start_run(connection, 2022, "full", "http://127.0.0.1:8001")
        finish_run(
            connection,
            run_id,
            "complete",
            suspect=True,
            suspect_reason="row count fell by 40%",
            deadline_reached=True,
            parse_failures=2,
            details_fetched=30,
            details_failed=3,
            blocks=1,
            requests=500,
            retries=12,
        )
        run = get_run(connection, run_id)
        defaults_id = start_run(connection, 2022, "full", "http://127.0.0.1:8001")
        finish_run(connection, defaults_id, "complete")
        defaults = get_run(connection, defaults_id)

    assert run is not None
    assert (run.suspect, run.suspect_reason, run.deadline_reached) == (
        True,
        "row count fell by 40%",
        True,
    )
    assert (run.parse_failures, run.details_fetched, run.details_failed) == (2, 30, 3)
    assert (run.blocks, run.requests, run.retries) == (1, 500, 12)
    assert defaults is not None
    assert (defaults.suspect, defaults.suspect_reason, defaults.deadline_reached) == (
        False,
        None,
        False,
    )
    assert (defaults.parse_failures, defaults.requests, defaults.retries) == (0, 0, 0)


def test_set_run_status(engine: Engine) -> None:
    with engine.begin() as connection:
        run_id = start_run(connection, 2022, "all", "http://127.0.0.1:8001")
        set_run_status(connection, run_id, "interrupted")
        interrupted = get_run(connection, run_id)
        set_run_status(connection, run_id, "running")
        resumed = get_run(connection, run_id)
        with pytest.raises(ValueError, match="'stopped'"):
            set_run_status(connection, run_id, "stopped")
        with pytest.raises(LookupError, match="not found"):
            set_run_status(connection, run_id + 1, "failed")

    assert interrupted is not None
    assert interrupted.status == "interrupted"
    assert interrupted.finished_at is not None
    assert resumed is not None
    assert resumed.status == "running"
    assert resumed.finished_at is None


def test_last_complete_run(engine: Engine) -> None:
    with engine.begin() as connection:
        source = "http://127.0.0.1:8001"
        full_run = start_run(connection, 2022, "full", source)
        finish_run(connection, full_run, "complete")
        all_run = start_run(connection, 2022, "all", source)
        finish_run(connection, all_run, "complete")
        suspect_run = start_run(connection, 2022, "full", source)
        finish_run(connection, suspect_run, "complete", suspect=True)
        incomplete_run = start_run(connection, 2022, "full", source)
        finish_run(connection, incomplete_run, "incomplete")
        other_year = start_run(connection, 2021, "full", source)
        finish_run(connection, other_year, "complete")
        start_run(connection, 2022, "full", source)

        latest_full = last_complete_run(connection, 2022, ["full"])
        latest_both = last_complete_run(connection, 2022, ["full", "sectional"])
        latest_all = last_complete_run(connection, 2022, ["all"])
        latest_2021 = last_complete_run(connection, 2021, ["sectional"])
        with pytest.raises(ValueError, match="'f'"):
            last_complete_run(connection, 2022, "full")

    assert latest_full is not None
    assert latest_full.id == all_run
    assert latest_both is not None
    assert latest_both.id == all_run
    assert latest_all is not None
    assert latest_all.id == all_run
    assert latest_2021 is None


def test_list_runs_before_id(engine: Engine) -> None:
    with engine.begin() as connection:
        ids = [start_run(connection, 2022, "all", "http://127.0.0.1:8001") for _ in range(4)]
        assert [run.id for run in list_runs(connection, 2)] == [ids[3], ids[2]]
        assert [run.id for run in list_runs(connection, 10, before_id=ids[2])] == ids[1::-1]
        with pytest.raises(ValueError, match="invalid limit 0"):
            list_runs(connection, 0)
