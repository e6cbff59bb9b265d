"""Add property history, not-seen marks, run counters, crawl state and run sightings.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHANGE_KINDS = (
    "'new', 'market_value', 'first_owner', 'use_code', 'rating_category', "
    "'registered_extent', 'not_seen', 'seen_again'"
)


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default="0", nullable=False)


def _flag(name: str) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean(), server_default="false", nullable=False)


def _timestamp(name: str) -> sa.Column[datetime]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _upgrade_scrape_runs() -> None:
    op.add_column("scrape_runs", _flag("suspect"))
    op.add_column("scrape_runs", sa.Column("suspect_reason", sa.Text(), nullable=True))
    op.add_column("scrape_runs", _flag("deadline_reached"))
    counts = (
        "parse_failures",
        "details_fetched",
        "details_failed",
        "blocks",
        "requests",
        "retries",
    )
    for name in counts:
        op.add_column("scrape_runs", _count(name))
    op.drop_constraint("ck_scrape_runs_status", "scrape_runs", type_="check")
    op.create_check_constraint(
        "ck_scrape_runs_status",
        "scrape_runs",
        "status IN ('running', 'complete', 'incomplete', 'failed', 'interrupted')",
    )


def _upgrade_properties() -> None:
    op.add_column("properties", sa.Column("not_seen_since_run_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        "fk_properties_not_seen_since_run",
        "properties",
        "scrape_runs",
        ["not_seen_since_run_id"],
        ["id"],
    )
    op.create_index("ix_properties_not_seen_since_run_id", "properties", ["not_seen_since_run_id"])


def _create_property_changes() -> None:
    op.create_table(
        "property_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("roll_year", sa.Integer(), nullable=False),
        sa.Column("pin", sa.BigInteger(), nullable=False),
        sa.Column("roll", sa.Text(), nullable=False),
        sa.Column("rate_number", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        _timestamp("changed_at"),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(
            ["roll_year", "pin"],
            ["properties.roll_year", "properties.pin"],
            ondelete="CASCADE",
            name="fk_property_changes_property",
        ),
        sa.ForeignKeyConstraint(["run_id"], ["scrape_runs.id"], name="fk_property_changes_run"),
        sa.CheckConstraint("roll IN ('full', 'sectional')", name="ck_property_changes_roll"),
        sa.CheckConstraint(f"kind IN ({_CHANGE_KINDS})", name="ck_property_changes_kind"),
    )
    op.create_index("ix_property_changes_property", "property_changes", ["roll_year", "pin", "id"])
    op.create_index("ix_property_changes_changed_at", "property_changes", ["changed_at", "id"])
    op.create_index("ix_property_changes_kind", "property_changes", ["kind"])


def _create_crawl_searches() -> None:
    op.create_table(
        "crawl_searches",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("roll", sa.Text(), nullable=False),
        sa.Column("dimension", sa.Text(), nullable=False),
        sa.Column("search_key", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        _count("attempts"),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["scrape_runs.id"], ondelete="CASCADE", name="fk_crawl_searches_run"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["crawl_searches.id"], name="fk_crawl_searches_parent"
        ),
        sa.UniqueConstraint(
            "run_id", "roll", "dimension", "search_key", name="uq_crawl_searches_key"
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'done', 'split', 'failed')", name="ck_crawl_searches_status"
        ),
    )
    op.create_index("ix_crawl_searches_run_status", "crawl_searches", ["run_id", "status"])


def _create_run_sightings() -> None:
    op.create_table(
        "run_sightings",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("roll_year", sa.Integer(), nullable=False),
        sa.Column("pin", sa.BigInteger(), nullable=False),
        sa.Column("dimensions", sa.SmallInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("run_id", "roll_year", "pin"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["scrape_runs.id"], ondelete="CASCADE", name="fk_run_sightings_run"
        ),
    )


def upgrade() -> None:
    _upgrade_scrape_runs()
    _upgrade_properties()
    _create_property_changes()
    _create_crawl_searches()
    _create_run_sightings()


def downgrade() -> None:
    op.drop_table("run_sightings")
    op.drop_table("crawl_searches")
    op.drop_table("property_changes")
    op.drop_index("ix_properties_not_seen_since_run_id", table_name="properties")
    op.drop_constraint("fk_properties_not_seen_since_run", "properties", type_="foreignkey")
    op.drop_column("properties", "not_seen_since_run_id")
    # Runs recorded as interrupted have no status in 0001; count them as failed.
    op.execute("UPDATE scrape_runs SET status = 'failed' WHERE status = 'interrupted'")
    op.drop_constraint("ck_scrape_runs_status", "scrape_runs", type_="check")
    op.create_check_constraint(
        "ck_scrape_runs_status",
        "scrape_runs",
        "status IN ('running', 'complete', 'incomplete', 'failed')",
    )
    for name in (
        "retries", "requests", "blocks", "details_failed", "details_fetched",
        "parse_failures", "deadline_reached", "suspect_reason", "suspect",
    ):  # fmt: skip
        op.drop_column("scrape_runs", name)
