"""Table definitions: properties, their owners and the scrape runs that saw them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    Numeric,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLLS = ("full", "sectional")
RUN_ROLLS = ("full", "sectional", "all")
RUN_STATUSES = ("running", "complete", "incomplete", "failed")


def _in_list(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    """Declarative base of every table; `Base.metadata` is what the migrations build."""


class ScrapeRun(Base):
    """One scrape of the roll, with its counts and coverage report."""

    __tablename__ = "scrape_runs"
    __table_args__ = (
        CheckConstraint(_in_list("rolls", RUN_ROLLS), name="ck_scrape_runs_rolls"),
        CheckConstraint(_in_list("status", RUN_STATUSES), name="ck_scrape_runs_status"),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(always=False), primary_key=True)
    roll_year: Mapped[int] = mapped_column(Integer)
    rolls: Mapped[str] = mapped_column(Text)
    source_url: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="running")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    searches: Mapped[int] = mapped_column(Integer, server_default="0")
    splits: Mapped[int] = mapped_column(Integer, server_default="0")
    failed_searches: Mapped[int] = mapped_column(Integer, server_default="0")
    rows_full: Mapped[int] = mapped_column(Integer, server_default="0")
    rows_sectional: Mapped[int] = mapped_column(Integer, server_default="0")
    properties_inserted: Mapped[int] = mapped_column(Integer, server_default="0")
    properties_updated: Mapped[int] = mapped_column(Integer, server_default="0")
    properties_unchanged: Mapped[int] = mapped_column(Integer, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class Property(Base):
    """One property of one roll year: the cleaned result row, its printed text and its details.

    The `details_*` columns stay NULL until the property's details page is fetched;
    `details_fetched_at` records when that happened.
    """

    __tablename__ = "properties"
    __table_args__ = (
        CheckConstraint(_in_list("roll", ROLLS), name="ck_properties_roll"),
        CheckConstraint("char_length(rate_number) = 8", name="ck_properties_rate_number_length"),
        Index("ix_properties_rate_number", "rate_number", "pin"),
        Index("ix_properties_suburb", "suburb", "pin"),
        Index("ix_properties_use_code_number", "use_code_number"),
        Index("ix_properties_market_value", "market_value", "pin"),
        Index("ix_properties_registered_extent", "registered_extent", "pin"),
    )

    roll_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    pin: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    roll: Mapped[str] = mapped_column(Text)
    ptype: Mapped[str] = mapped_column(Text)
    ftype: Mapped[str] = mapped_column(Text)
    details_href: Mapped[str] = mapped_column(Text)
    rate_number: Mapped[str] = mapped_column(Text)

    legal_description: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(Text)
    street_number: Mapped[str | None] = mapped_column(Text)
    street_name: Mapped[str | None] = mapped_column(Text)
    suburb: Mapped[str | None] = mapped_column(Text)
    first_owner: Mapped[str | None] = mapped_column(Text)
    use_code: Mapped[str | None] = mapped_column(Text)
    use_code_description: Mapped[str | None] = mapped_column(Text)
    use_code_number: Mapped[int | None] = mapped_column(Integer)
    rating_category: Mapped[str | None] = mapped_column(Text)
    market_value: Mapped[int | None] = mapped_column(BigInteger)
    registered_extent: Mapped[Decimal | None] = mapped_column(Numeric)
    erf: Mapped[str | None] = mapped_column(Text)
    portion: Mapped[str | None] = mapped_column(Text)
    is_remainder: Mapped[bool] = mapped_column()
    deeds_town: Mapped[str | None] = mapped_column(Text)
    section_number: Mapped[str | None] = mapped_column(Text)
    scheme_name: Mapped[str | None] = mapped_column(Text)

    raw_rate_number: Mapped[str] = mapped_column(Text)
    raw_legal_description: Mapped[str] = mapped_column(Text)
    raw_address: Mapped[str] = mapped_column(Text)
    raw_first_owner: Mapped[str] = mapped_column(Text)
    raw_use_code: Mapped[str] = mapped_column(Text)
    raw_rating_category: Mapped[str] = mapped_column(Text)
    raw_market_value: Mapped[str] = mapped_column(Text)
    raw_registered_extent: Mapped[str] = mapped_column(Text)

    details_government_code: Mapped[str | None] = mapped_column(Text)
    details_exemptions: Mapped[str | None] = mapped_column(Text)
    details_rebates: Mapped[str | None] = mapped_column(Text)
    details_phasing_in: Mapped[str | None] = mapped_column(Text)
    details_exclusions: Mapped[str | None] = mapped_column(Text)
    details_sra_code: Mapped[str | None] = mapped_column(Text)
    details_property_type: Mapped[str | None] = mapped_column(Text)
    details_scheme_number: Mapped[str | None] = mapped_column(Text)
    details_erf: Mapped[str | None] = mapped_column(Text)
    details_deeds_town: Mapped[str | None] = mapped_column(Text)
    details_fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    first_seen_run_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("scrape_runs.id", name="fk_properties_first_seen_run")
    )
    last_seen_run_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("scrape_runs.id", name="fk_properties_last_seen_run")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Owner(Base):
    """One owner of a property; position 1 is the first owner the roll lists."""

    __tablename__ = "owners"
    __table_args__ = (
        ForeignKeyConstraint(
            ["roll_year", "pin"],
            ["properties.roll_year", "properties.pin"],
            ondelete="CASCADE",
            name="fk_owners_property",
        ),
        CheckConstraint("position >= 1", name="ck_owners_position"),
    )

    roll_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    pin: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)


# Expression indexes for the case-insensitive filters of the query layer. They serve
# equality on lower(column); substring searches (street, owner, q) scan the table,
# because a trigram index would need the pg_trgm extension.
Index("ix_properties_suburb_lower", func.lower(Property.suburb))
Index("ix_properties_street_name_lower", func.lower(Property.street_name))
Index("ix_properties_deeds_town_lower", func.lower(Property.deeds_town))
Index("ix_properties_rating_category_lower", func.lower(Property.rating_category))

properties = cast(Table, Property.__table__)
owners = cast(Table, Owner.__table__)
scrape_runs = cast(Table, ScrapeRun.__table__)
