"""Add alert_incidents: one row per alert incident, at most one open per kind.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _run_reference(name: str) -> sa.Column[int]:
    return sa.Column(
        name,
        sa.Integer(),
        sa.ForeignKey("scrape_runs.id", ondelete="SET NULL", name=f"fk_alert_incidents_{name}"),
        nullable=True,
    )


def _timestamp(name: str, *, nullable: bool = True) -> sa.Column[datetime]:
    if nullable:
        return sa.Column(name, sa.DateTime(timezone=True), nullable=True)
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "alert_incidents",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        _timestamp("opened_at", nullable=False),
        _run_reference("opened_by_run_id"),
        _run_reference("last_run_id"),
        _timestamp("last_seen_at", nullable=False),
        sa.Column("occurrences", sa.Integer(), server_default="1", nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        _timestamp("mailed_at"),
        sa.Column("mail_error", sa.Text(), nullable=True),
        _timestamp("resolved_at"),
        _run_reference("resolved_by_run_id"),
        _timestamp("recovery_mailed_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint(
            "kind IN ('run_failed', 'run_suspect', 'blocked')", name="ck_alert_incidents_kind"
        ),
    )
    # At most one open incident per kind, so two processes cannot open (and mail) the
    # same incident twice.
    op.create_index(
        "uq_alert_incidents_open_kind",
        "alert_incidents",
        ["kind"],
        unique=True,
        postgresql_where=sa.text("resolved_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("alert_incidents")
