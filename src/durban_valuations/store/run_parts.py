"""Parts of a distributed scrape run: each Celery task crawls one share of a roll's searches.

The part rows hold each task's counters, so the task that finishes last can total them
and close the run without a result backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import (
    CheckConstraint,
    Connection,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    Table,
    Text,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from durban_valuations.store.tables import Base

PART_STATUSES = ("pending", "running", "done", "failed")


class RunPart(Base):
    """One Celery task's share of a roll in a run, with what it did."""

    __tablename__ = "run_parts"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'running', 'done', 'failed')", name="ck_run_parts_status"
        ),
    )

    run_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("scrape_runs.id", ondelete="CASCADE", name="fk_run_parts_run"),
        primary_key=True,
    )
    roll: Mapped[str] = mapped_column(Text, primary_key=True)
    part: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    parts: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    searches: Mapped[int] = mapped_column(Integer, server_default="0")
    parse_failures: Mapped[int] = mapped_column(Integer, server_default="0")
    inserted: Mapped[int] = mapped_column(Integer, server_default="0")
    updated: Mapped[int] = mapped_column(Integer, server_default="0")
    unchanged: Mapped[int] = mapped_column(Integer, server_default="0")
    requests: Mapped[int] = mapped_column(Integer, server_default="0")
    retries: Mapped[int] = mapped_column(Integer, server_default="0")
    blocks: Mapped[int] = mapped_column(Integer, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)


run_parts = cast(Table, RunPart.__table__)


@dataclass(slots=True)
class PartCounts:
    """Counters of one part, or their total over every part of a run."""

    searches: int = 0
    parse_failures: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    requests: int = 0
    retries: int = 0
    blocks: int = 0


_COUNTERS = tuple(PartCounts.__slots__)


def plan_parts(connection: Connection, run_id: int, roll: str, parts: int) -> None:
    """Record `parts` pending parts of `roll`; parts of a resumed run become pending again."""
    connection.execute(
        text(
            "INSERT INTO run_parts (run_id, roll, part, parts) "
            "SELECT :run, :roll, part, :parts FROM generate_series(0, :parts - 1) AS part "
            "ON CONFLICT (run_id, roll, part) DO UPDATE SET status = 'pending', error = NULL, "
            "finished_at = NULL"
        ),
        {"run": run_id, "roll": roll, "parts": parts},
    )
    # A resumed run planned with fewer parts before must not wait for the extra ones.
    connection.execute(
        text("DELETE FROM run_parts WHERE run_id = :run AND roll = :roll AND part >= :parts"),
        {"run": run_id, "roll": roll, "parts": parts},
    )


def start_part(connection: Connection, run_id: int, roll: str, part: int) -> bool:
    """Mark a part running; returns False when the run is no longer running."""
    started = connection.execute(
        text(
            "UPDATE run_parts p SET status = 'running', attempts = attempts + 1, "
            "started_at = now(), finished_at = NULL, error = NULL "
            "FROM scrape_runs r WHERE r.id = p.run_id AND r.status = 'running' "
            "AND p.run_id = :run AND p.roll = :roll AND p.part = :part RETURNING p.part"
        ),
        {"run": run_id, "roll": roll, "part": part},
    ).first()
    return started is not None


def finish_part(
    connection: Connection,
    run_id: int,
    roll: str,
    part: int,
    counts: PartCounts,
    error: str | None = None,
    *,
    will_retry: bool = False,
) -> None:
    """Record a part's counters and mark it done, or failed when `error` is given.

    A failed part that its task runs again goes back to pending instead, so the run
    waits for the retry.
    """
    if error is None:
        status = "done"
    elif will_retry:
        status = "pending"
    else:
        status = "failed"
    table = run_parts
    connection.execute(
        update(table)
        .where(table.c.run_id == run_id, table.c.roll == roll, table.c.part == part)
        .values(
            **{name: getattr(counts, name) for name in _COUNTERS},
            status=status,
            error=error,
            finished_at=func.now(),
        )
    )


def claim_run_end(connection: Connection, run_id: int) -> bool:
    """Return True to exactly one caller once every part of a running run has ended.

    The winner's claim is recorded as `closing` in the run's report, and the run's row is
    locked while it is checked, so two parts that end at the same moment cannot both
    close the run.
    """
    run = connection.execute(
        text(
            "SELECT status, coalesce((report ->> 'closing')::boolean, false) AS closing "
            "FROM scrape_runs WHERE id = :run FOR UPDATE"
        ),
        {"run": run_id},
    ).first()
    if run is None or run.status != "running" or run.closing:
        return False
    open_parts = connection.execute(
        text(
            "SELECT count(*) FROM run_parts WHERE run_id = :run "
            "AND status IN ('pending', 'running')"
        ),
        {"run": run_id},
    ).scalar_one()
    if int(open_parts):
        return False
    connection.execute(
        text(
            "UPDATE scrape_runs SET report = coalesce(report, '{}'::jsonb) "
            "|| '{\"closing\": true}'::jsonb WHERE id = :run"
        ),
        {"run": run_id},
    )
    return True


def part_totals(connection: Connection, run_id: int) -> tuple[PartCounts, list[str]]:
    """Return the counters of a run's parts added up, and the errors of failed parts."""
    table = run_parts
    sums = [func.coalesce(func.sum(table.c[name]), 0).label(name) for name in _COUNTERS]
    row = connection.execute(select(*sums).where(table.c.run_id == run_id)).one()
    errors = connection.execute(
        text(
            "SELECT roll || ' part ' || part || ': ' || error FROM run_parts "
            "WHERE run_id = :run AND status = 'failed' ORDER BY roll, part"
        ),
        {"run": run_id},
    ).scalars()
    return PartCounts(**{name: int(getattr(row, name)) for name in _COUNTERS}), list(errors)
