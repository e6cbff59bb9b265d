"""Read queries behind the API: property pages, one rate number, suburbs, health."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    func,
    or_,
    select,
    text,
    true,
)

from durban_valuations.site.models import Roll
from durban_valuations.store.cursor import Cursor, SortOrder, decode_cursor, encode_cursor
from durban_valuations.store.filters import PropertyFilters, filter_conditions
from durban_valuations.store.migrations import head_revision, revision_of
from durban_valuations.store.sightings import last_seen_run_id
from durban_valuations.store.tables import owners, properties

SUMMARY_COLUMNS = (
    "roll_year", "roll", "pin", "rate_number", "legal_description", "address",
    "street_number", "street_name", "suburb", "first_owner", "use_code",
    "use_code_description", "use_code_number", "rating_category", "market_value",
    "registered_extent", "erf", "portion", "is_remainder", "deeds_town",
    "section_number", "scheme_name",
)  # fmt: skip
# Columns filled from the details page, named without their `details_` prefix.
DETAILS_FIELDS = (
    "government_code", "exemptions", "rebates", "phasing_in", "exclusions", "sra_code",
    "property_type", "scheme_number", "erf", "deeds_town", "fetched_at",
)  # fmt: skip


class DatabaseNotReadyError(RuntimeError):
    """Database that responds but whose schema is behind the packaged migrations."""


@dataclass(frozen=True, slots=True)
class PropertyPage:
    """One page of properties and the cursor of the next page (None on the last page)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


def _after_cursor(cursor: Cursor) -> ColumnElement[bool]:
    """Return the condition "comes after `cursor`" for ORDER BY key NULLS LAST, pin."""
    key = properties.c[cursor.order.field]
    pin = properties.c.pin
    if cursor.value is None:
        # Rows with a NULL key come last, ordered by pin alone.
        after_pin = pin < cursor.pin if cursor.order.descending else pin > cursor.pin
        return and_(key.is_(None), after_pin)
    if cursor.order.descending:
        after = or_(key < cursor.value, and_(key == cursor.value, pin < cursor.pin))
    else:
        after = or_(key > cursor.value, and_(key == cursor.value, pin > cursor.pin))
    return or_(after, key.is_(None))


def listing_statement(
    filters: PropertyFilters, sort: SortOrder | None = None
) -> Select[tuple[Any, ...]]:
    """Return the SELECT of the SUMMARY_COLUMNS of every property matching `filters`.

    Rows come in `sort` order (rate number by default), with NULL keys last in both
    directions and ties broken by pin, so every listing has one fixed order.
    """
    order = sort or SortOrder("rate_number")
    key = properties.c[order.field]
    pin = properties.c.pin
    return (
        select(*(properties.c[name] for name in SUMMARY_COLUMNS))
        .where(and_(true(), *filter_conditions(filters)))
        .order_by(
            key.desc().nulls_last() if order.descending else key.asc().nulls_last(),
            pin.desc() if order.descending else pin.asc(),
        )
    )


def list_properties(
    connection: Connection,
    filters: PropertyFilters,
    sort: SortOrder | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> PropertyPage:
    """Return up to `limit` properties that match `filters`, in `sort` order.

    Sorting puts NULL keys last in both directions and breaks ties by pin, so a cursor
    walk returns every matching row once. Raises InvalidCursorError for a bad `cursor`.
    """
    if limit < 1:
        raise ValueError(f"invalid limit {limit}: expected at least 1")
    order = sort or SortOrder("rate_number")
    statement = listing_statement(filters, order)
    if cursor is not None:
        statement = statement.where(_after_cursor(decode_cursor(cursor, order)))
    rows = [dict(row._mapping) for row in connection.execute(statement.limit(limit + 1))]

    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(Cursor(order, last[order.field], last["pin"]))
    return PropertyPage(items=rows, next_cursor=next_cursor)


def get_properties_by_rate_number(
    connection: Connection, rate_number: str, roll_year: int | None = None
) -> list[dict[str, Any]]:
    """Return every property with `rate_number`, full roll first, with owners and details.

    A rate number can appear once in each roll. Each dict contains every column but
    `new_change_id`, plus `last_seen_run_id`, `owners` (a list of {position, name}) and
    `details`. `details` is a dict of the details columns without their prefix, or None
    before the details page was fetched.
    """
    conditions = [properties.c.rate_number == rate_number]
    if roll_year is not None:
        conditions.append(properties.c.roll_year == roll_year)
    statement = (
        select(properties, last_seen_run_id().label("last_seen_run_id"))
        .where(*conditions)
        .order_by(properties.c.roll_year.desc(), properties.c.roll, properties.c.pin)
    )
    results: list[dict[str, Any]] = []
    for row in connection.execute(statement):
        columns = dict(row._mapping)
        del columns["new_change_id"]
        details = {name: columns.pop(f"details_{name}") for name in DETAILS_FIELDS}
        record: dict[str, Any] = columns
        record["details"] = details if details["fetched_at"] is not None else None
        record["owners"] = _owners_of(connection, row.roll_year, row.pin, row.first_owner)
        results.append(record)
    return results


def _owners_of(
    connection: Connection, roll_year: int, pin: int, first_owner: str | None
) -> list[dict[str, Any]]:
    """Return the owner rows of a property, or else its first owner as the only owner."""
    statement = (
        select(owners.c.position, owners.c.name)
        .where(owners.c.roll_year == roll_year, owners.c.pin == pin)
        .order_by(owners.c.position)
    )
    listed = [dict(row._mapping) for row in connection.execute(statement)]
    if listed or first_owner is None:
        return listed
    return [{"position": 1, "name": first_owner}]


def list_suburbs(
    connection: Connection, roll: Roll | None = None, roll_year: int | None = None
) -> list[tuple[str, int, float | None]]:
    """Return (suburb, property count, median market value) per suburb, by name.

    The median is PostgreSQL's percentile_cont(0.5) over the non-NULL market values, so
    it can fall between two values. It is None when no property of the suburb has a
    market value. Properties without a suburb are left out.
    """
    median = func.percentile_cont(0.5).within_group(properties.c.market_value)
    statement = (
        select(properties.c.suburb, func.count(), median)
        .where(properties.c.suburb.is_not(None))
        .group_by(properties.c.suburb)
        .order_by(properties.c.suburb)
    )
    if roll is not None:
        statement = statement.where(properties.c.roll == roll.value)
    if roll_year is not None:
        statement = statement.where(properties.c.roll_year == roll_year)
    return [
        (name, count, None if value is None else float(value))
        for name, count, value in connection.execute(statement)
    ]


def check_health(connection: Connection) -> None:
    """Check that the database responds and its schema is at the newest migration.

    Connection failures propagate as SQLAlchemy errors. A schema behind the packaged
    migrations raises DatabaseNotReadyError.
    """
    connection.execute(text("SELECT 1"))
    revision = revision_of(connection)
    head = head_revision()
    if revision != head:
        raise DatabaseNotReadyError(
            f"database schema is at revision {revision or 'none'}, expected {head}; "
            "run `durban-valuations db upgrade`"
        )
