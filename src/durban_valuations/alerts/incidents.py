"""Alert incidents in PostgreSQL: open one per kind, count repeats, resolve on recovery.

An incident of a kind opens on the first event of that kind and stays open, counting
further events, until a later complete and trusted run resolves it. The partial unique
index `uq_alert_incidents_open_kind` keeps at most one incident of each kind open.
Every function runs on the caller's connection and does not commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ColumnElement,
    Connection,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Table,
    Text,
    case,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, mapped_column

from durban_valuations.store.tables import Base

RUN_FAILED = "run_failed"
RUN_SUSPECT = "run_suspect"
BLOCKED = "blocked"
INCIDENT_KINDS = (RUN_FAILED, RUN_SUSPECT, BLOCKED)
# Kinds counted once per run: an event of the run that is already the incident's last
# run (the same run reported twice) adds no occurrence.
_ONCE_PER_RUN = (RUN_FAILED, RUN_SUSPECT)

# Key pair of the transaction-level advisory lock that serializes alert handling across
# processes. The first key differs from the scrape lock's namespace (20_220_211).
_LOCK_NAMESPACE = 20_220_212
_LOCK_KEY = 0


def _run_reference(name: str) -> Mapped[int | None]:
    return mapped_column(
        Integer,
        ForeignKey("scrape_runs.id", ondelete="SET NULL", name=f"fk_alert_incidents_{name}"),
    )


class AlertIncident(Base):
    """One alert incident: a kind of problem, from its first event until a run resolved it.

    `occurrences` counts the events while it was open: runs for the run kinds, firewall
    pauses for `blocked`. `summary` is the latest error, suspect reason or block. A NULL
    `mailed_at` means that no alert mail has gone out yet, and `mail_error` then contains
    the latest failure to send it.
    """

    __tablename__ = "alert_incidents"
    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind}'" for kind in INCIDENT_KINDS) + ")",
            name="ck_alert_incidents_kind",
        ),
        Index(
            "uq_alert_incidents_open_kind",
            "kind",
            unique=True,
            postgresql_where=text("resolved_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    opened_by_run_id: Mapped[int | None] = _run_reference("opened_by_run_id")
    last_run_id: Mapped[int | None] = _run_reference("last_run_id")
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    occurrences: Mapped[int] = mapped_column(Integer, server_default="1")
    summary: Mapped[str] = mapped_column(Text)
    mailed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    mail_error: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by_run_id: Mapped[int | None] = _run_reference("resolved_by_run_id")
    recovery_mailed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


alert_incidents = cast(Table, AlertIncident.__table__)


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """One row of `alert_incidents`."""

    id: int
    kind: str
    opened_at: datetime
    opened_by_run_id: int | None
    last_run_id: int | None
    last_seen_at: datetime
    occurrences: int
    summary: str
    mailed_at: datetime | None
    mail_error: str | None
    resolved_at: datetime | None
    resolved_by_run_id: int | None
    recovery_mailed_at: datetime | None


def lock_alerts(connection: Connection) -> None:
    """Wait for the alert lock, held until the transaction ends.

    Only the transaction that has it decides whether to mail, so two processes that
    handle events of one kind at the same time never both send its alert.
    """
    connection.execute(
        text("SELECT pg_advisory_xact_lock(:namespace, :key)"),
        {"namespace": _LOCK_NAMESPACE, "key": _LOCK_KEY},
    )


def record_event(connection: Connection, kind: str, run_id: int, summary: str) -> IncidentRecord:
    """Open an incident of `kind`, or count one more occurrence of the open one.

    Either way the incident's last run becomes `run_id` and its summary `summary`.
    Raises ValueError for an unknown kind.
    """
    if kind not in INCIDENT_KINDS:
        raise ValueError(f"invalid incident kind {kind!r}: expected one of {INCIDENT_KINDS}")
    values = insert(alert_incidents).values(
        kind=kind, opened_by_run_id=run_id, last_run_id=run_id, summary=summary
    )
    increment: ColumnElement[int] = literal(1)
    if kind in _ONCE_PER_RUN:
        same_run = alert_incidents.c.last_run_id == values.excluded.last_run_id
        increment = case((same_run, 0), else_=1)
    statement = values.on_conflict_do_update(
        index_elements=[alert_incidents.c.kind],
        index_where=alert_incidents.c.resolved_at.is_(None),
        set_={
            "occurrences": alert_incidents.c.occurrences + increment,
            "last_run_id": values.excluded.last_run_id,
            "last_seen_at": func.now(),
            "summary": values.excluded.summary,
        },
    ).returning(*alert_incidents.c)
    row = connection.execute(statement).one()
    return IncidentRecord(**row._mapping)


def mark_mailed(connection: Connection, incident_id: int) -> None:
    """Record that the alert mail of the incident went out."""
    connection.execute(
        update(alert_incidents)
        .where(alert_incidents.c.id == incident_id)
        .values(mailed_at=func.now(), mail_error=None)
    )


def mark_mail_failed(connection: Connection, incident_ids: Sequence[int], error: str) -> None:
    """Record why a mail about the incidents could not be sent. They stay unmailed."""
    connection.execute(
        update(alert_incidents)
        .where(alert_incidents.c.id.in_(incident_ids))
        .values(mail_error=error)
    )


def resolve_open(connection: Connection, run_id: int, *, whole_roll: bool) -> list[IncidentRecord]:
    """Resolve the open incidents whose last event came from a run other than `run_id`.

    A blocked incident whose latest pause happened in `run_id` stays open, because the
    site was still blocking during that run. A suspect incident is resolved only by a
    `whole_roll` run, because only a run of the whole roll can show that the count of
    properties is back. Returns the incidents resolved now.
    """
    kinds = INCIDENT_KINDS if whole_roll else (RUN_FAILED, BLOCKED)
    statement = (
        update(alert_incidents)
        .where(
            alert_incidents.c.resolved_at.is_(None),
            alert_incidents.c.kind.in_(kinds),
            alert_incidents.c.last_run_id.is_distinct_from(run_id),
        )
        .values(resolved_at=func.now(), resolved_by_run_id=run_id)
        .returning(*alert_incidents.c)
    )
    return [IncidentRecord(**row._mapping) for row in connection.execute(statement)]


def pending_recoveries(connection: Connection) -> list[IncidentRecord]:
    """Return the resolved incidents whose recovery mail has not gone out, oldest first.

    This includes incidents resolved earlier whose recovery mail failed to send.
    """
    statement = (
        select(alert_incidents)
        .where(
            alert_incidents.c.resolved_at.is_not(None),
            alert_incidents.c.recovery_mailed_at.is_(None),
        )
        .order_by(alert_incidents.c.opened_at, alert_incidents.c.id)
    )
    return [IncidentRecord(**row._mapping) for row in connection.execute(statement)]


def mark_recovery_mailed(connection: Connection, incident_ids: Sequence[int]) -> None:
    """Record that the recovery mail about the incidents went out."""
    connection.execute(
        update(alert_incidents)
        .where(alert_incidents.c.id.in_(incident_ids))
        .values(recovery_mailed_at=func.now(), mail_error=None)
    )


def open_incidents(connection: Connection) -> list[IncidentRecord]:
    """Return the open incidents, oldest first."""
    statement = (
        select(alert_incidents)
        .where(alert_incidents.c.resolved_at.is_(None))
        .order_by(alert_incidents.c.opened_at, alert_incidents.c.id)
    )
    return [IncidentRecord(**row._mapping) for row in connection.execute(statement)]
