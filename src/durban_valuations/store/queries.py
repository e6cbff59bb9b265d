"""Read queries behind the API: property pages, one rate number, suburbs, health."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    REAL,
    ColumnElement,
    Connection,
    Float,
    Select,
    and_,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from durban_valuations.site.models import Roll
from durban_valuations.store.cursor import (
    RELEVANCE,
    Cursor,
    InvalidSortError,
    SortOrder,
    decode_cursor,
    encode_cursor,
)
from durban_valuations.store.filters import PropertyFilters, filter_conditions
from durban_valuations.store.migrations import head_revision, revision_of
from durban_valuations.store.search import check_search_text, search_rank
from durban_valuations.store.sightings import last_seen_run_id
from durban_valuations.store.tables import owners, properties

SUMMARY_COLUMNS = (
    "roll_year", "roll", "pin", "rate_number", "legal_description", "address",
    "street_number", "street_name", "suburb", "first_owner", "use_code",
    "use_code_description", "use_code_number", "rating_category", "market_value",
    "registered_extent", "erf", "portion", "is_remainder", "deeds_town",
    "section_number", "scheme_name",
)  # fmt: skip
# Columns that the API does not show: the id of the 'new' change and the copies kept
# for text search.
HIDDEN_COLUMNS = ("new_change_id", "owner_names", "search_vector")
# Columns filled from the details page, named without their `details_` prefix.
DETAILS_FIELDS = (
    "government_code", "exemptions", "rebates", "phasing_in", "exclusions", "sra_code",
    "property_type", "scheme_number", "erf", "deeds_town", "fetched_at",
)  # fmt: skip


class DatabaseNotReadyError(RuntimeError):
    """Database that responds but whose schema is behind the packaged migrations."""


@dataclass(frozen=True, slots=True)
class PropertyPage:
    """One page of properties and the cursor of the next page (None on the last page).

    With search text, each item also has `rank`, its relevance (see `store.search`).
    """

    items: list[dict[str, Any]]
    next_cursor: str | None


def _sort_key(order: SortOrder, filters: PropertyFilters) -> ColumnElement[Any]:
    """Return the column, or the search rank, that `order` sorts by."""
    if order.field != RELEVANCE:
        return properties.c[order.field]
    if filters.q is None:
        raise InvalidSortError(
            f"invalid sort {RELEVANCE!r}: it needs search text; add q or sort by another field"
        )
    return search_rank(filters.q)


def _pin_descending(order: SortOrder) -> bool:
    """Return whether the pins that break ties sort descending, as the key does.

    Relevance is the exception: its ties come in ascending pin order.
    """
    return order.descending and order.field != RELEVANCE


def _cursor_value(cursor: Cursor) -> Any:
    """Return the sort key of `cursor` as SQL compares it with the key column."""
    if cursor.order.field != RELEVANCE:
        return cursor.value
    # psycopg reads the real rank as the shortest decimal that converts back to the
    # same real. As a double, that decimal differs from the rank, so it is cast to real.
    return cast(literal(cursor.value, Float), REAL)


def _after_cursor(key: ColumnElement[Any], cursor: Cursor) -> ColumnElement[bool]:
    """Return the condition "comes after `cursor`" for ORDER BY key NULLS LAST, pin."""
    pin = properties.c.pin
    after_pin = pin < cursor.pin if _pin_descending(cursor.order) else pin > cursor.pin
    if cursor.value is None:
        # Rows with a NULL key come last, ordered by pin alone.
        return and_(key.is_(None), after_pin)
    value = _cursor_value(cursor)
    if cursor.order.descending:
        after = or_(key < value, and_(key == value, after_pin))
    else:
        after = or_(key > value, and_(key == value, after_pin))
    return or_(after, key.is_(None))


def listing_order(filters: PropertyFilters, sort: SortOrder | None) -> SortOrder:
    """Return `sort`, or the default: relevance with search text, else rate number."""
    if sort is not None:
        return sort
    if filters.q is not None:
        return SortOrder(RELEVANCE, descending=True)
    return SortOrder("rate_number")


def listing_statement(
    filters: PropertyFilters, sort: SortOrder | None = None, *, with_rank: bool = False
) -> Select[tuple[Any, ...]]:
    """Return the SELECT of the SUMMARY_COLUMNS of every property matching `filters`.

    Rows come in `sort` order (see `listing_order` for the default), with NULL keys last
    in both directions and ties broken by pin, so every listing has one fixed order.
    With `with_rank` and search text, the rows also have `rank`, their relevance.
    Raises InvalidSortError for relevance without `filters.q`.
    """
    order = listing_order(filters, sort)
    key = _sort_key(order, filters)
    pin = properties.c.pin
    columns: list[ColumnElement[Any]] = [properties.c[name] for name in SUMMARY_COLUMNS]
    if with_rank and filters.q is not None:
        columns.append(search_rank(filters.q).label("rank"))
    return (
        select(*columns)
        .where(and_(true(), *filter_conditions(filters)))
        .order_by(
            key.desc().nulls_last() if order.descending else key.asc().nulls_last(),
            pin.desc() if _pin_descending(order) else pin.asc(),
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

    Sorting puts NULL keys last in both directions and breaks ties by pin, in the
    direction of the sort except for relevance, whose ties come in ascending pin order.
    So a cursor walk returns every matching row once. The default sort is relevance when
    `filters.q` is given, else rate number. Raises InvalidCursorError for a bad
    `cursor`, InvalidSortError for relevance without `filters.q`, and
    InvalidSearchError for search text without a word.
    """
    if limit < 1:
        raise ValueError(f"invalid limit {limit}: expected at least 1")
    if filters.q is not None:
        check_search_text(connection, filters.q)
    order = listing_order(filters, sort)
    statement = listing_statement(filters, order, with_rank=True)
    if cursor is not None:
        after = _after_cursor(_sort_key(order, filters), decode_cursor(cursor, order))
        statement = statement.where(after)
    rows = [dict(row._mapping) for row in connection.execute(statement.limit(limit + 1))]

    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        value = last["rank"] if order.field == RELEVANCE else last[order.field]
        next_cursor = encode_cursor(Cursor(order, value, last["pin"]))
    return PropertyPage(items=rows, next_cursor=next_cursor)


def get_properties_by_rate_number(
    connection: Connection, rate_number: str, roll_year: int | None = None
) -> list[dict[str, Any]]:
    """Return every property with `rate_number`, full roll first, with owners and details.

    A rate number can appear once in each roll. Each dict contains every column but
    HIDDEN_COLUMNS, plus `last_seen_run_id`, `owners` (a list of {position, name}) and
    `details`. `details` is a dict of the details columns without their prefix, or None
    before the details page was fetched. One statement reads it all.
    """
    conditions = [properties.c.rate_number == rate_number]
    if roll_year is not None:
        conditions.append(properties.c.roll_year == roll_year)
    visible_columns = [column for column in properties.c if column.name not in HIDDEN_COLUMNS]
    statement = (
        select(
            *visible_columns,
            last_seen_run_id().label("last_seen_run_id"),
            _owner_list().label("owner_list"),
        )
        .where(*conditions)
        .order_by(properties.c.roll_year.desc(), properties.c.roll, properties.c.pin)
    )
    results: list[dict[str, Any]] = []
    for row in connection.execute(statement):
        columns = dict(row._mapping)
        details = {name: columns.pop(f"details_{name}") for name in DETAILS_FIELDS}
        listed = columns.pop("owner_list")
        record: dict[str, Any] = columns
        record["details"] = details if details["fetched_at"] is not None else None
        record["owners"] = _owners_from(listed, row.first_owner)
        results.append(record)
    return results


def _owner_list() -> ColumnElement[Any]:
    """Return SQL for the owners of the enclosing query's property, in position order.

    The value is a JSON array of [position, name] pairs, or NULL without owner rows.
    """
    pair = func.json_build_array(owners.c.position, owners.c.name)
    return (
        select(func.json_agg(aggregate_order_by(pair, owners.c.position)))
        .where(owners.c.roll_year == properties.c.roll_year, owners.c.pin == properties.c.pin)
        .correlate(properties)
        .scalar_subquery()
    )


def _owners_from(listed: list[list[Any]] | None, first_owner: str | None) -> list[dict[str, Any]]:
    """Return the owner rows of a property, or else its first owner as the only owner."""
    if listed:
        return [{"position": position, "name": name} for position, name in listed]
    if first_owner is None:
        return []
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
