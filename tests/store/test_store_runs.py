"""Scrape-run records."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from durban_valuations.store.runs import finish_run, get_run, latest_runs, start_run


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
