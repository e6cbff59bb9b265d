"""Create the scrape_runs, properties and owners tables.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default="0", nullable=False)


def _text(name: str, *, nullable: bool = True) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _timestamp(name: str) -> sa.Column[datetime]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "scrape_runs",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("roll_year", sa.Integer(), nullable=False),
        _text("rolls", nullable=False),
        _text("source_url", nullable=False),
        sa.Column("status", sa.Text(), server_default="running", nullable=False),
        _timestamp("started_at"),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        _count("searches"),
        _count("splits"),
        _count("failed_searches"),
        _count("rows_full"),
        _count("rows_sectional"),
        _count("properties_inserted"),
        _count("properties_updated"),
        _count("properties_unchanged"),
        _text("error"),
        sa.Column("report", postgresql.JSONB(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint("rolls IN ('full', 'sectional', 'all')", name="ck_scrape_runs_rolls"),
        sa.CheckConstraint(
            "status IN ('running', 'complete', 'incomplete', 'failed')",
            name="ck_scrape_runs_status",
        ),
    )

    op.create_table(
        "properties",
        sa.Column("roll_year", sa.Integer(), nullable=False),
        sa.Column("pin", sa.BigInteger(), nullable=False),
        _text("roll", nullable=False),
        _text("ptype", nullable=False),
        _text("ftype", nullable=False),
        _text("details_href", nullable=False),
        _text("rate_number", nullable=False),
        _text("legal_description", nullable=False),
        _text("address", nullable=False),
        _text("street_number"),
        _text("street_name"),
        _text("suburb"),
        _text("first_owner"),
        _text("use_code"),
        _text("use_code_description"),
        sa.Column("use_code_number", sa.Integer(), nullable=True),
        _text("rating_category"),
        sa.Column("market_value", sa.BigInteger(), nullable=True),
        sa.Column("registered_extent", sa.Numeric(), nullable=True),
        _text("erf"),
        _text("portion"),
        sa.Column("is_remainder", sa.Boolean(), nullable=False),
        _text("deeds_town"),
        _text("section_number"),
        _text("scheme_name"),
        _text("raw_rate_number", nullable=False),
        _text("raw_legal_description", nullable=False),
        _text("raw_address", nullable=False),
        _text("raw_first_owner", nullable=False),
        _text("raw_use_code", nullable=False),
        _text("raw_rating_category", nullable=False),
        _text("raw_market_value", nullable=False),
        _text("raw_registered_extent", nullable=False),
        _text("details_government_code"),
        _text("details_exemptions"),
        _text("details_rebates"),
        _text("details_phasing_in"),
        _text("details_exclusions"),
        _text("details_sra_code"),
        _text("details_property_type"),
        _text("details_scheme_number"),
        _text("details_erf"),
        _text("details_deeds_town"),
        sa.Column("details_fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_seen_run_id", sa.Integer(), nullable=False),
        sa.Column("last_seen_run_id", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("roll_year", "pin"),
        sa.CheckConstraint("roll IN ('full', 'sectional')", name="ck_properties_roll"),
        sa.CheckConstraint("char_length(rate_number) = 8", name="ck_properties_rate_number_length"),
        sa.ForeignKeyConstraint(
            ["first_seen_run_id"], ["scrape_runs.id"], name="fk_properties_first_seen_run"
        ),
        sa.ForeignKeyConstraint(
            ["last_seen_run_id"], ["scrape_runs.id"], name="fk_properties_last_seen_run"
        ),
    )
    op.create_index("ix_properties_rate_number", "properties", ["rate_number", "pin"])
    op.create_index("ix_properties_suburb", "properties", ["suburb", "pin"])
    op.create_index("ix_properties_use_code_number", "properties", ["use_code_number"])
    op.create_index("ix_properties_market_value", "properties", ["market_value", "pin"])
    op.create_index("ix_properties_registered_extent", "properties", ["registered_extent", "pin"])
    # Case-insensitive equality filters compare lower(column); no extension is needed.
    for column in ("suburb", "street_name", "deeds_town", "rating_category"):
        op.create_index(
            f"ix_properties_{column}_lower", "properties", [sa.text(f"lower({column})")]
        )

    op.create_table(
        "owners",
        sa.Column("roll_year", sa.Integer(), nullable=False),
        sa.Column("pin", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _text("name", nullable=False),
        sa.PrimaryKeyConstraint("roll_year", "pin", "position"),
        sa.ForeignKeyConstraint(
            ["roll_year", "pin"],
            ["properties.roll_year", "properties.pin"],
            ondelete="CASCADE",
            name="fk_owners_property",
        ),
        sa.CheckConstraint("position >= 1", name="ck_owners_position"),
    )


def downgrade() -> None:
    op.drop_table("owners")
    op.drop_table("properties")
    op.drop_table("scrape_runs")
