"""Crawl state: every search of a run and its status, so a killed run resumes where it stopped.

A search is `pending` until its outcome is saved: `done` with its row count, `split`
when it showed the site's warning and was replaced by narrower searches, or `failed`
after the client's retries. The rows of a search, its sightings and its new status are
saved in one transaction, so a process killed at any moment leaves each search either
finished with its rows stored or still pending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, text

from durban_valuations.clean.models import CleanProperty
from durban_valuations.store.locks import lock_property_writes
from durban_valuations.store.runs import start_run
from durban_valuations.store.sightings import record_sightings
from durban_valuations.store.upsert import UpsertCounts, upsert_properties

# An unfinished run older than this is abandoned instead of resumed: its searches would
# mix data from different days.
RESUME_MAX_AGE = timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class SearchRecord:
    """A search of a run: its roll, covering dimension and canonical key."""

    roll: str
    dimension: str
    key: str


@dataclass(slots=True)
class Outcomes:
    """Outcomes of finished searches, saved together by `save_outcomes`."""

    done: list[tuple[SearchRecord, int]] = field(default_factory=list)
    split: list[tuple[SearchRecord, int | None, list[SearchRecord]]] = field(default_factory=list)
    failed: list[tuple[SearchRecord, str]] = field(default_factory=list)
    properties: list[CleanProperty] = field(default_factory=list)
    sightings: dict[int, list[int]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.done) + len(self.split) + len(self.failed)


def start_or_resume_run(
    connection: Connection, roll_year: int, rolls: str, source_url: str, scope: str = "all"
) -> tuple[int, bool]:
    """Return the id of the run to work on and whether it is a resumed one.

    The caller must hold the scrape lock, so a run still marked `running` belongs to a
    process that died. The newest run of the roll year is resumed when it is unfinished
    (running or interrupted), younger than RESUME_MAX_AGE, and of the same rolls, source
    and scope (`all`, or the suburbs of a limited run). Every other run still marked
    running is marked `interrupted`.
    """
    newest = connection.execute(
        text(
            "SELECT id, status, rolls, source_url, report ->> 'scope' AS scope, "
            "started_at > now() - :max_age AS recent "
            "FROM scrape_runs WHERE roll_year = :year ORDER BY id DESC LIMIT 1"
        ),
        {"year": roll_year, "max_age": RESUME_MAX_AGE},
    ).first()
    resume_id = None
    if newest is not None and newest.status in ("running", "interrupted"):
        same = (newest.rolls, newest.source_url, newest.scope) == (rolls, source_url, scope)
        if same and newest.recent:
            resume_id = int(newest.id)

    # Runs still marked running belong to dead processes (the caller holds the lock).
    connection.execute(
        text(
            "UPDATE scrape_runs SET status = 'interrupted', "
            "finished_at = coalesce(finished_at, now()) "
            "WHERE roll_year = :year AND status = 'running' AND id IS DISTINCT FROM :keep"
        ),
        {"year": roll_year, "keep": resume_id},
    )
    if resume_id is not None:
        connection.execute(
            text("UPDATE scrape_runs SET status = 'running', finished_at = NULL WHERE id = :id"),
            {"id": resume_id},
        )
        # Failed searches get another chance in the resumed run.
        connection.execute(
            text(
                "UPDATE crawl_searches SET status = 'pending', error = NULL, updated_at = now() "
                "WHERE run_id = :id AND status = 'failed'"
            ),
            {"id": resume_id},
        )
        return resume_id, True

    run_id = start_run(connection, roll_year, rolls, source_url, scope)
    return int(run_id), False


def add_searches(connection: Connection, run_id: int, searches: Sequence[SearchRecord]) -> None:
    """Record `searches` as pending; a search the run already has is left as it is."""
    if not searches:
        return
    connection.execute(
        text(
            "INSERT INTO crawl_searches (run_id, roll, dimension, search_key, status) "
            "VALUES (:run_id, :roll, :dimension, :key, 'pending') "
            "ON CONFLICT (run_id, roll, dimension, search_key) DO NOTHING"
        ),
        [
            {"run_id": run_id, "roll": item.roll, "dimension": item.dimension, "key": item.key}
            for item in searches
        ],
    )


def has_searches(connection: Connection, run_id: int, roll: str) -> bool:
    """Return whether the run has recorded any search of `roll`."""
    found = connection.execute(
        text("SELECT EXISTS (SELECT 1 FROM crawl_searches WHERE run_id = :run AND roll = :roll)"),
        {"run": run_id, "roll": roll},
    ).scalar_one()
    return bool(found)


def pending_searches(connection: Connection, run_id: int, roll: str) -> list[SearchRecord]:
    """Return the searches of `roll` that have no saved outcome, oldest first."""
    rows = connection.execute(
        text(
            "SELECT dimension, search_key FROM crawl_searches "
            "WHERE run_id = :run AND roll = :roll AND status = 'pending' ORDER BY id"
        ),
        {"run": run_id, "roll": roll},
    ).all()
    return [SearchRecord(roll, row.dimension, row.search_key) for row in rows]


def known_searches(connection: Connection, run_id: int, roll: str) -> set[SearchRecord]:
    """Return every search of `roll` the run has recorded, whatever its status."""
    rows = connection.execute(
        text(
            "SELECT dimension, search_key FROM crawl_searches WHERE run_id = :run AND roll = :roll"
        ),
        {"run": run_id, "roll": roll},
    ).all()
    return {SearchRecord(roll, row.dimension, row.search_key) for row in rows}


def largest_result(connection: Connection, run_id: int) -> int:
    """Return the most rows any saved search of the run returned (0 when none)."""
    value = connection.execute(
        text("SELECT coalesce(max(rows), 0) FROM crawl_searches WHERE run_id = :run"),
        {"run": run_id},
    ).scalar_one()
    return int(value)


def save_outcomes(
    connection: Connection, run_id: int, roll_year: int, outcomes: Outcomes
) -> UpsertCounts:
    """Save the rows, sightings and statuses of finished searches in the caller's transaction.

    The property write lock is taken before anything is written, so concurrent callers
    (the parts of a distributed run) write one after the other. Taken later, one caller
    could hold sightings that the other, holding the lock, waits for: a deadlock.
    """
    lock_property_writes(connection, roll_year)
    for _, _, children in outcomes.split:
        add_searches(connection, run_id, children)
    # Sightings first: the upsert then finds the pins it was given already sighted.
    for bit, pins in outcomes.sightings.items():
        record_sightings(connection, run_id, roll_year, pins, bit)
    counts = upsert_properties(connection, roll_year, run_id, outcomes.properties)

    updates: list[dict[str, Any]] = []
    for search, rows in outcomes.done:
        updates.append(_status_row(run_id, search, "done", rows, None))
    for search, split_rows, _ in outcomes.split:
        updates.append(_status_row(run_id, search, "split", split_rows, None))
    for search, error in outcomes.failed:
        updates.append(_status_row(run_id, search, "failed", None, error))
    if updates:
        connection.execute(
            text(
                "UPDATE crawl_searches SET status = :status, rows = :rows, error = :error, "
                "attempts = attempts + 1, updated_at = now() "
                "WHERE run_id = :run_id AND roll = :roll AND dimension = :dimension "
                "AND search_key = :key"
            ),
            updates,
        )
    return counts


def _status_row(
    run_id: int, search: SearchRecord, status: str, rows: int | None, error: str | None
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "roll": search.roll,
        "dimension": search.dimension,
        "key": search.key,
        "status": status,
        "rows": rows,
        "error": error,
    }


def coverage_report(
    connection: Connection, run_id: int, roll: str, dimension_bits: dict[str, int]
) -> dict[str, Any]:
    """Return the coverage of one roll of a run, computed from its saved state.

    Sightings without dimension bits, which `upsert_properties` records, are left out.
    """
    statuses = connection.execute(
        text(
            "SELECT status, count(*) AS searches, coalesce(sum(rows), 0) AS rows "
            "FROM crawl_searches WHERE run_id = :run AND roll = :roll GROUP BY status"
        ),
        {"run": run_id, "roll": roll},
    ).all()
    by_status = {row.status: (int(row.searches), int(row.rows)) for row in statuses}
    failed = connection.execute(
        text(
            "SELECT dimension, search_key, error FROM crawl_searches "
            "WHERE run_id = :run AND roll = :roll AND status = 'failed' ORDER BY id"
        ),
        {"run": run_id, "roll": roll},
    ).all()

    all_bits = sum(dimension_bits.values())
    sightings = connection.execute(
        text(
            "SELECT s.dimensions, count(*) AS pins FROM run_sightings s "
            "JOIN properties p ON p.roll_year = s.roll_year AND p.pin = s.pin "
            "WHERE s.run_id = :run AND p.roll = :roll AND s.dimensions <> 0 "
            "GROUP BY s.dimensions"
        ),
        {"run": run_id, "roll": roll},
    ).all()
    by_mask = {int(row.dimensions): int(row.pins) for row in sightings}
    searched = sum(count for status, (count, _) in by_status.items() if status != "pending")
    return {
        "roll": roll,
        "searches": searched,
        "pending": by_status.get("pending", (0, 0))[0],
        "splits": by_status.get("split", (0, 0))[0],
        "rows_seen": by_status.get("done", (0, 0))[1],
        "properties": sum(by_mask.values()),
        "properties_by_dimension": {
            name: sum(pins for mask, pins in by_mask.items() if mask & bit)
            for name, bit in dimension_bits.items()
        },
        "properties_only_in": {
            name: by_mask.get(bit, 0) if all_bits != bit else sum(by_mask.values())
            for name, bit in dimension_bits.items()
        },
        "failed_searches": [
            {"search": row.search_key, "dimension": row.dimension, "error": row.error}
            for row in failed
        ],
    }
