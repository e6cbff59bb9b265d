"""Records of scrape runs: start one, finish it with its counts, read them back.

Every function runs on the caller's connection or session and does not commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import Session

from durban_valuations.store.tables import RUN_ROLLS, RUN_STATUSES, scrape_runs

FINAL_STATUSES = tuple(status for status in RUN_STATUSES if status != "running")


@dataclass(frozen=True, slots=True)
class ScrapeRunRecord:
    """One row of `scrape_runs`."""

    id: int
    roll_year: int
    rolls: str
    source_url: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    searches: int
    splits: int
    failed_searches: int
    rows_full: int
    rows_sectional: int
    properties_inserted: int
    properties_updated: int
    properties_unchanged: int
    error: str | None
    report: dict[str, Any] | None


def start_run(connection: Connection | Session, roll_year: int, rolls: str, source_url: str) -> int:
    """Insert a run with status 'running' and return its id."""
    if rolls not in RUN_ROLLS:
        raise ValueError(f"invalid rolls {rolls!r}: expected one of {', '.join(RUN_ROLLS)}")
    statement = (
        insert(scrape_runs)
        .values(roll_year=roll_year, rolls=rolls, source_url=source_url, status="running")
        .returning(scrape_runs.c.id)
    )
    run_id: int = connection.execute(statement).scalar_one()
    return run_id


def finish_run(
    connection: Connection | Session,
    run_id: int,
    status: str,
    *,
    searches: int = 0,
    splits: int = 0,
    failed_searches: int = 0,
    rows_full: int = 0,
    rows_sectional: int = 0,
    properties_inserted: int = 0,
    properties_updated: int = 0,
    properties_unchanged: int = 0,
    error: str | None = None,
    report: Mapping[str, Any] | None = None,
) -> None:
    """Record the final status, counts, error and coverage report of a running run.

    Raises ValueError for a status other than complete, incomplete or failed, and
    LookupError when no run with `run_id` is still running.
    """
    if status not in FINAL_STATUSES:
        expected = ", ".join(FINAL_STATUSES)
        raise ValueError(f"invalid final status {status!r}: expected one of {expected}")
    statement = (
        update(scrape_runs)
        .where(scrape_runs.c.id == run_id, scrape_runs.c.status == "running")
        .values(
            status=status,
            finished_at=func.now(),
            searches=searches,
            splits=splits,
            failed_searches=failed_searches,
            rows_full=rows_full,
            rows_sectional=rows_sectional,
            properties_inserted=properties_inserted,
            properties_updated=properties_updated,
            properties_unchanged=properties_unchanged,
            error=error,
            report=dict(report) if report is not None else None,
        )
        .returning(scrape_runs.c.id)
    )
    if connection.execute(statement).first() is None:
        existing = get_run(connection, run_id)
        if existing is None:
            raise LookupError(f"scrape run {run_id} not found")
        raise LookupError(f"scrape run {run_id} already finished with status {existing.status!r}")


def get_run(connection: Connection | Session, run_id: int) -> ScrapeRunRecord | None:
    """Return the run with `run_id`, or None when there is none."""
    row = connection.execute(select(scrape_runs).where(scrape_runs.c.id == run_id)).first()
    return None if row is None else ScrapeRunRecord(**row._mapping)


def latest_runs(connection: Connection | Session, limit: int = 10) -> list[ScrapeRunRecord]:
    """Return up to `limit` runs, newest first."""
    statement = select(scrape_runs).order_by(scrape_runs.c.id.desc()).limit(limit)
    return [ScrapeRunRecord(**row._mapping) for row in connection.execute(statement)]
