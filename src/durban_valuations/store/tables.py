"""Table definitions: properties, their owners and history, and the scrape runs that saw them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLLS = ("full", "sectional")
RUN_ROLLS = ("full", "sectional", "all")
# 'interrupted' is a run killed or stopped before its end.
RUN_STATUSES = ("running", "complete", "incomplete", "failed", "interrupted")
# Fields of a property whose changes `property_change_rows` records, one row per field.
TRACKED_FIELDS = (
    "market_value", "first_owner", "use_code", "rating_category", "registered_extent",
)  # fmt: skip
# 'new' is a first sighting. 'not_seen' and 'seen_again' mark a complete run that missed
# the property and the later run that saw it again.
CHANGE_KINDS = ("new", *TRACKED_FIELDS, "not_seen", "seen_again")
SEARCH_STATUSES = ("pending", "done", "split", "failed")
# The sequence behind the identity column property_change_rows.id. It kept the name
# PostgreSQL gave it when migration 0002 created the table as property_changes.
# The 'new' changes of `properties` take their ids from it too.
CHANGE_ID_SEQUENCE = "property_changes_id_seq"
# Text search configuration of `properties.search_vector` and of search queries.
# 'simple' lowercases words without stemming or stop words: owner and street names are
# mostly not English words, and the English stop words would drop initials such as
# S and T from owner names.
SEARCH_CONFIG = "simple"
# The searched text with its weights: the address and scheme name (A), the owners the
# API shows (B) and the legal description (C). The owners are the owner rows, plus the
# first owner when the rows do not start with it.
SEARCH_VECTOR = """
setweight(to_tsvector('simple'::regconfig, coalesce(address, '')), 'A')
|| setweight(to_tsvector('simple'::regconfig, coalesce(scheme_name, '')), 'A')
|| setweight(to_tsvector('simple'::regconfig, CASE
       WHEN owner_names IS NULL THEN coalesce(first_owner, '')
       WHEN split_part(owner_names, E'\\n', 1) = first_owner THEN owner_names
       ELSE coalesce(first_owner, '') || E'\\n' || owner_names
   END), 'B')
|| setweight(to_tsvector('simple'::regconfig, coalesce(legal_description, '')), 'C')
"""


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
    suspect: Mapped[bool] = mapped_column(server_default="false")
    suspect_reason: Mapped[str | None] = mapped_column(Text)
    deadline_reached: Mapped[bool] = mapped_column(server_default="false")
    parse_failures: Mapped[int] = mapped_column(Integer, server_default="0")
    details_fetched: Mapped[int] = mapped_column(Integer, server_default="0")
    details_failed: Mapped[int] = mapped_column(Integer, server_default="0")
    blocks: Mapped[int] = mapped_column(Integer, server_default="0")
    requests: Mapped[int] = mapped_column(Integer, server_default="0")
    retries: Mapped[int] = mapped_column(Integer, server_default="0")


class Property(Base):
    """One property of one roll year: the cleaned result row, its printed text and its details.

    The `details_*` columns stay NULL until the property's details page is fetched;
    `details_fetched_at` records when that happened.

    The row is also the property's 'new' change: `new_change_id` is its id in
    the sequence of `property_change_rows.id`, `created_at` its time and
    `first_seen_run_id` its run. The last run that saw the property is not stored here but in
    `run_sightings` (see `store.sightings.last_seen_run_id`), so a run that finds a
    property unchanged does not rewrite its row.
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
        # Pages of 'new' changes in (changed_at, id) order, as in ix_property_changes_changed_at.
        Index("ix_properties_new_change", "created_at", "new_change_id"),
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

    # The names of the property's owner rows, one per line in position order; NULL when
    # it has none. Every statement that writes owner rows updates it, because the
    # generated `search_vector` can read only this row.
    owner_names: Mapped[str | None] = mapped_column(Text)
    search_vector: Mapped[str] = mapped_column(TSVECTOR, Computed(SEARCH_VECTOR, persisted=True))

    # Run ids have no foreign keys: no code of this project deletes a scrape run, and the
    # functions that write a run id check once per call that the run exists.
    first_seen_run_id: Mapped[int] = mapped_column(Integer)
    # Set by a complete, non-suspect run that did not see the property. Cleared when a
    # later run finds it again.
    not_seen_since_run_id: Mapped[int | None] = mapped_column(BigInteger)
    # NULL for a property stored before 'new' changes were recorded, and for one whose
    # 'new' change was moved to `property_change_rows` because its roll or rate number
    # changed.
    new_change_id: Mapped[int | None] = mapped_column(
        BigInteger, server_default=text(f"nextval('{CHANGE_ID_SEQUENCE}')")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Owner(Base):
    """One owner of a property; position 1 is the first owner the roll lists.

    Only details pages write owners. A property without owner rows has its first owner
    as its only owner (none when `first_owner` is NULL); `store.queries` applies this.
    """

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


class PropertyChange(Base):
    """One change of one property seen by a scrape run; values are stored as text.

    For a tracked field, `old_value` and `new_value` are the field before and after, with
    NULL for a missing value. 'not_seen' stores the id of the last run that saw the
    property in `old_value`, and 'seen_again' the id of the run that marked it not seen.
    A 'new' change (both values NULL) is normally the `properties` row itself. It is
    stored here only when the property's roll or rate number changed later, or when
    migration 0003 found that it did not match its property.

    The view `property_changes` lists the rows of this table and the 'new' changes of
    `properties`: every change, as the table of that name held up to migration 0002.
    """

    __tablename__ = "property_change_rows"
    # Constraint and index names keep the table's name from before migration 0003.
    __table_args__ = (
        ForeignKeyConstraint(
            ["roll_year", "pin"],
            ["properties.roll_year", "properties.pin"],
            ondelete="CASCADE",
            name="fk_property_changes_property",
        ),
        CheckConstraint(_in_list("roll", ROLLS), name="ck_property_changes_roll"),
        CheckConstraint(_in_list("kind", CHANGE_KINDS), name="ck_property_changes_kind"),
        Index("ix_property_changes_property", "roll_year", "pin", "id"),
        Index("ix_property_changes_changed_at", "changed_at", "id"),
        Index("ix_property_changes_kind", "kind"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    roll_year: Mapped[int] = mapped_column(Integer)
    pin: Mapped[int] = mapped_column(BigInteger)
    roll: Mapped[str] = mapped_column(Text)
    rate_number: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    kind: Mapped[str] = mapped_column(Text)
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)


class CrawlSearch(Base):
    """One search of a run's crawl and its outcome, so a stopped run can resume.

    `search_key` is the canonical text of the search's parameters, and `parent_id` is the
    search that was split into this one.
    """

    __tablename__ = "crawl_searches"
    __table_args__ = (
        CheckConstraint(_in_list("status", SEARCH_STATUSES), name="ck_crawl_searches_status"),
        UniqueConstraint("run_id", "roll", "dimension", "search_key", name="uq_crawl_searches_key"),
        Index("ix_crawl_searches_run_status", "run_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    run_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("scrape_runs.id", ondelete="CASCADE", name="fk_crawl_searches_run")
    )
    roll: Mapped[str] = mapped_column(Text)
    dimension: Mapped[str] = mapped_column(Text)
    search_key: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crawl_searches.id", name="fk_crawl_searches_parent")
    )
    status: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    rows: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RunSighting(Base):
    """A property that a run saw, with a bit per covering dimension that reached it.

    `upsert_properties` adds a row with no bits for each stored property it is given,
    so the latest run that saw a property is the newest of its first run and its
    sightings.
    """

    __tablename__ = "run_sightings"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    roll_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    pin: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dimensions: Mapped[int] = mapped_column(SmallInteger, server_default="0")


# Expression indexes for the case-insensitive filters of the query layer. They serve
# equality on lower(column), and the street-name index serves prefix matches. Substring
# searches (street, owner) scan the table, because a trigram index would need the
# pg_trgm extension. The suburb index also returns a suburb's listing in rate-number
# order (migration 0007).
Index(
    "ix_properties_suburb_lower_rate_number",
    func.lower(Property.suburb),
    Property.rate_number,
    Property.pin,
)
Index(
    "ix_properties_street_name_prefix",
    func.lower(Property.street_name).label("street_name_lower"),
    postgresql_ops={"street_name_lower": "text_pattern_ops"},
)
Index("ix_properties_search_vector", Property.search_vector, postgresql_using="gin")
Index("ix_properties_deeds_town_lower", func.lower(Property.deeds_town))
Index("ix_properties_rating_category_lower", func.lower(Property.rating_category))

properties = cast(Table, Property.__table__)
owners = cast(Table, Owner.__table__)
scrape_runs = cast(Table, ScrapeRun.__table__)
property_change_rows = cast(Table, PropertyChange.__table__)
crawl_searches = cast(Table, CrawlSearch.__table__)
run_sightings = cast(Table, RunSighting.__table__)
