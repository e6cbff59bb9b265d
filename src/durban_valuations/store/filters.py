"""Filters over properties, turned into SQL conditions."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, exists, func, or_, select

from durban_valuations.site.models import Roll
from durban_valuations.store.search import matches_search
from durban_valuations.store.tables import owners, properties


@dataclass(frozen=True, slots=True)
class PropertyFilters:
    """Conditions that every listed property meets; None leaves a condition out.

    Text matches are case-insensitive except `rate_number` and `rate_number_contains`.
    `suburb`, `deeds_town` and `rating_category` match the whole value, `street` and
    `owner` match any substring, and `street_prefix` matches the start of the street
    name. `q` is a full-text search over the address, scheme name, owners and legal
    description (see `store.search`). Ranges include both bounds.
    """

    roll_year: int | None = None
    roll: Roll | None = None
    rate_number: str | None = None
    rate_number_contains: str | None = None
    suburb: str | None = None
    street: str | None = None
    street_prefix: str | None = None
    deeds_town: str | None = None
    use_code: int | None = None
    rating_category: str | None = None
    min_market_value: int | None = None
    max_market_value: int | None = None
    min_extent: Decimal | None = None
    max_extent: Decimal | None = None
    owner: str | None = None
    q: str | None = None


def _contains(column: ColumnElement[str | None], text: str) -> ColumnElement[bool]:
    # autoescape makes %, _ and the escape character in `text` match literally.
    return func.lower(column).contains(text.lower(), autoescape=True)


def _starts_with(column: ColumnElement[str | None], text: str) -> ColumnElement[bool]:
    # LIKE 'prefix%' on lower(column) uses ix_properties_street_name_prefix.
    return func.lower(column).startswith(text.lower(), autoescape=True)


def _equals_ignoring_case(column: ColumnElement[str | None], text: str) -> ColumnElement[bool]:
    return func.lower(column) == text.lower()


def _owner_condition(text: str) -> ColumnElement[bool]:
    listed_owner = exists(
        select(owners.c.pin).where(
            owners.c.roll_year == properties.c.roll_year,
            owners.c.pin == properties.c.pin,
            _contains(owners.c.name, text),
        )
    )
    return or_(listed_owner, _contains(properties.c.first_owner, text))


def filter_conditions(filters: PropertyFilters) -> list[ColumnElement[bool]]:
    """Return the SQL conditions of `filters`, to be combined with AND."""
    columns = properties.c
    conditions: list[ColumnElement[bool]] = []

    if filters.roll_year is not None:
        conditions.append(columns.roll_year == filters.roll_year)
    if filters.roll is not None:
        conditions.append(columns.roll == filters.roll.value)
    if filters.rate_number is not None:
        conditions.append(columns.rate_number == filters.rate_number)
    if filters.rate_number_contains is not None:
        conditions.append(
            columns.rate_number.contains(filters.rate_number_contains, autoescape=True)
        )
    if filters.suburb is not None:
        conditions.append(_equals_ignoring_case(columns.suburb, filters.suburb))
    if filters.street is not None:
        conditions.append(_contains(columns.street_name, filters.street))
    if filters.street_prefix is not None:
        conditions.append(_starts_with(columns.street_name, filters.street_prefix))
    if filters.deeds_town is not None:
        conditions.append(_equals_ignoring_case(columns.deeds_town, filters.deeds_town))
    if filters.use_code is not None:
        conditions.append(columns.use_code_number == filters.use_code)
    if filters.rating_category is not None:
        conditions.append(_equals_ignoring_case(columns.rating_category, filters.rating_category))
    if filters.min_market_value is not None:
        conditions.append(columns.market_value >= filters.min_market_value)
    if filters.max_market_value is not None:
        conditions.append(columns.market_value <= filters.max_market_value)
    if filters.min_extent is not None:
        conditions.append(columns.registered_extent >= filters.min_extent)
    if filters.max_extent is not None:
        conditions.append(columns.registered_extent <= filters.max_extent)
    if filters.owner is not None:
        conditions.append(_owner_condition(filters.owner))
    if filters.q is not None:
        conditions.append(matches_search(filters.q))
    return conditions
