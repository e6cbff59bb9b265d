"""Records of scrape runs: start one, finish it with its counts, set its status, read them.

Every function runs on the caller's connection or session and does not commit.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import Session

from durban_valuations.store.cursor import InvalidCursorError
from durban_valuations.store.tables import ROLLS, RUN_ROLLS, RUN_STATUSES, scrape_runs
from durban_valuations.store.value_limits import fits_integer

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
    suspect: bool
    suspect_reason: str | None
    deadline_reached: bool
    parse_failures: int
    details_fetched: int
    details_failed: int
    blocks: int
    requests: int
    retries: int


def covered_rolls(run_rolls: str) -> set[str]:
    """Return the rolls that a run's `rolls` value ('full', 'sectional' or 'all') covers."""
    return set(ROLLS) if run_rolls == "all" else {run_rolls}


def start_run(
    connection: Connection | Session,
    roll_year: int,
    rolls: str,
    source_url: str,
    scope: str = "all",
) -> int:
    """Insert a run with status 'running' and return its id.

    `scope` ("all", or the suburbs of a limited run) goes into the report, because an
    unfinished run is resumed only by a scrape of the same scope.
    """
    if rolls not in RUN_ROLLS:
        raise ValueError(f"invalid rolls {rolls!r}: expected one of {', '.join(RUN_ROLLS)}")
    statement = (
        insert(scrape_runs)
        .values(
            roll_year=roll_year,
            rolls=rolls,
            source_url=source_url,
            status="running",
            report={"scope": scope},
        )
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
    suspect: bool = False,
    suspect_reason: str | None = None,
    deadline_reached: bool = False,
    parse_failures: int = 0,
    details_fetched: int = 0,
    details_failed: int = 0,
    blocks: int = 0,
    requests: int = 0,
    retries: int = 0,
) -> None:
    """Record the final status, counts, error and coverage report of a running run.

    `suspect` flags a run whose data should not be trusted (`suspect_reason` gives the reason),
    so it never counts as the last complete run and never marks properties not seen.

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
            suspect=suspect,
            suspect_reason=suspect_reason,
            deadline_reached=deadline_reached,
            parse_failures=parse_failures,
            details_fetched=details_fetched,
            details_failed=details_failed,
            blocks=blocks,
            requests=requests,
            retries=retries,
        )
        .returning(scrape_runs.c.id)
    )
    if connection.execute(statement).first() is None:
        existing = get_run(connection, run_id)
        if existing is None:
            raise LookupError(f"scrape run {run_id} not found")
        raise LookupError(f"scrape run {run_id} already finished with status {existing.status!r}")


def set_run_status(connection: Connection | Session, run_id: int, status: str) -> None:
    """Set the status of a run, whatever its current status.

    Any status but 'running' sets `finished_at` to now if it was not set; 'running' (a
    resumed run) clears it. Raises ValueError for an unknown status and LookupError when
    no run has `run_id`.
    """
    if status not in RUN_STATUSES:
        raise ValueError(f"invalid status {status!r}: expected one of {', '.join(RUN_STATUSES)}")
    finished_at = (
        None if status == "running" else func.coalesce(scrape_runs.c.finished_at, func.now())
    )
    statement = (
        update(scrape_runs)
        .where(scrape_runs.c.id == run_id)
        .values(status=status, finished_at=finished_at)
        .returning(scrape_runs.c.id)
    )
    if connection.execute(statement).first() is None:
        raise LookupError(f"scrape run {run_id} not found")


def require_run(connection: Connection | Session, run_id: int) -> None:
    """Raise LookupError unless a scrape run has `run_id`.

    Tables that store run ids have no foreign keys to `scrape_runs`, so the functions
    that write run ids call this once per call instead.
    """
    statement = select(scrape_runs.c.id).where(scrape_runs.c.id == run_id)
    if connection.execute(statement).first() is None:
        raise LookupError(f"scrape run {run_id} not found; start a run with start_run first")


def get_run(connection: Connection | Session, run_id: int) -> ScrapeRunRecord | None:
    """Return the run with `run_id`, or None when there is none."""
    row = connection.execute(select(scrape_runs).where(scrape_runs.c.id == run_id)).first()
    return None if row is None else ScrapeRunRecord(**row._mapping)


def latest_runs(connection: Connection | Session, limit: int = 10) -> list[ScrapeRunRecord]:
    """Return up to `limit` runs, newest first."""
    statement = select(scrape_runs).order_by(scrape_runs.c.id.desc()).limit(limit)
    return [ScrapeRunRecord(**row._mapping) for row in connection.execute(statement)]


def list_runs(
    connection: Connection | Session, limit: int = 20, before_id: int | None = None
) -> list[ScrapeRunRecord]:
    """Return up to `limit` runs with an id below `before_id` (all when None), newest first."""
    if limit < 1:
        raise ValueError(f"invalid limit {limit}: expected at least 1")
    statement = select(scrape_runs).order_by(scrape_runs.c.id.desc()).limit(limit)
    if before_id is not None:
        statement = statement.where(scrape_runs.c.id < before_id)
    return [ScrapeRunRecord(**row._mapping) for row in connection.execute(statement)]


def last_complete_run(
    connection: Connection | Session, roll_year: int, rolls: Collection[str]
) -> ScrapeRunRecord | None:
    """Return the newest complete, non-suspect run of `roll_year` that covered all `rolls`.

    `rolls` names rolls ('full', 'sectional'); 'all' stands for both. A run of 'all'
    covers either roll. Raises ValueError for any other name.
    """
    wanted: set[str] = set()
    for roll in rolls:
        if roll not in RUN_ROLLS:
            raise ValueError(f"invalid roll {roll!r}: expected one of {', '.join(RUN_ROLLS)}")
        wanted |= covered_rolls(roll)
    accepted = [value for value in RUN_ROLLS if wanted <= covered_rolls(value)]
    statement = (
        select(scrape_runs)
        .where(
            scrape_runs.c.roll_year == roll_year,
            scrape_runs.c.status == "complete",
            scrape_runs.c.suspect.is_(False),
            scrape_runs.c.rolls.in_(accepted),
        )
        .order_by(scrape_runs.c.id.desc())
        .limit(1)
    )
    row = connection.execute(statement).first()
    return None if row is None else ScrapeRunRecord(**row._mapping)


def encode_run_cursor(run_id: int) -> str:
    """Encode the id of the last run of a page as an opaque base64url token."""
    return base64.urlsafe_b64encode(json.dumps(["run", run_id]).encode()).decode().rstrip("=")


def decode_run_cursor(token: str) -> int:
    """Decode a token of `encode_run_cursor`; raise InvalidCursorError for any other."""
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError) as error:
        raise InvalidCursorError(
            "invalid cursor: expected the next_cursor value of a previous page"
        ) from error
    valid = (
        isinstance(payload, list)
        and len(payload) == 2
        and payload[0] == "run"
        and isinstance(payload[1], int)
        and not isinstance(payload[1], bool)
        and fits_integer(payload[1])
    )
    if not valid:
        raise InvalidCursorError(
            "invalid cursor: expected the next_cursor value of a previous page"
        )
    run_id: int = payload[1]
    return run_id
