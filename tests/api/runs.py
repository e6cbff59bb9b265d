"""A complete scrape run with a chosen finish time, for the tests of caching."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, text

from durban_valuations.store.runs import finish_run, start_run


def complete_run(engine: Engine, finished_at: datetime) -> int:
    """Record a complete 2022 run that finished at `finished_at`; return its id."""
    with engine.begin() as connection:
        run_id = start_run(connection, 2022, "all", "http://127.0.0.1:8001")
        finish_run(connection, run_id, "complete")
        connection.execute(
            text("UPDATE scrape_runs SET finished_at = :at WHERE id = :id"),
            {"at": finished_at, "id": run_id},
        )
    return run_id
