"""Market value statistics per roll, rating category and use code, and the run they follow.

Every function runs on the caller's connection and does not commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Float,
    Row,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY

from durban_valuations.site.models import Roll
from durban_valuations.store.filters import PropertyFilters, filter_conditions
from durban_valuations.store.tables import properties, scrape_runs

QUARTILE_FRACTIONS = (0.25, 0.5, 0.75)

# Bits of GROUPING(rating_category, use_code_number, use_code_description): a set bit
# marks a column that the row's grouping set leaves out.
_ROLL_TOTAL = 0b111
_BY_RATING_CATEGORY = 0b011
_BY_USE_CODE = 0b100


@dataclass(frozen=True, slots=True)
class CompletedRun:
    """The last complete run of a roll year, which the statistics follow.

    `complete_runs` counts the roll year's complete, non-suspect runs, so a run marked
    complete after a newer one finished still changes the value of this record.
    """

    id: int
    finished_at: datetime | None
    complete_runs: int


@dataclass(frozen=True, slots=True)
class Distribution:
    """Summary of the non-NULL values of one measure.

    Every field but the counts is None when `count` is 0. `min` and `max` keep the type
    of the measure (int for market values). The quartiles are PostgreSQL's
    percentile_cont, which interpolates linearly between the two nearest values (the
    'inclusive' method of Python's statistics.quantiles).
    """

    count: int
    missing: int
    min: float | None
    q1: float | None
    median: float | None
    q3: float | None
    max: float | None
    mean: float | None


@dataclass(frozen=True, slots=True)
class GroupStatistics:
    """Statistics of one group of properties: a roll, or a category or use code in a roll.

    `market_value` is in whole rands. `value_per_m2` is the market value divided by the
    registered extent in m², for the properties with both a market value and an extent
    above 0. `without_extent` counts the properties whose extent is NULL or not above 0.
    """

    property_count: int
    without_extent: int
    market_value: Distribution
    value_per_m2: Distribution


@dataclass(frozen=True, slots=True)
class CategoryStatistics:
    """Statistics of the properties of one rating category, or of those without one (None)."""

    rating_category: str | None
    statistics: GroupStatistics


@dataclass(frozen=True, slots=True)
class UseCodeStatistics:
    """Statistics of the properties of one use code, as its number and description."""

    use_code_number: int | None
    use_code_description: str | None
    statistics: GroupStatistics


@dataclass(frozen=True, slots=True)
class RollStatistics:
    """Statistics of one roll, in total and broken down by rating category and use code."""

    roll: Roll
    statistics: GroupStatistics
    by_rating_category: list[CategoryStatistics]
    by_use_code: list[UseCodeStatistics]


def last_completed_run(connection: Connection, roll_year: int) -> CompletedRun | None:
    """Return the complete, non-suspect run of `roll_year` that finished last, or None.

    Ties on `finished_at` go to the higher id. The query reads only `scrape_runs`, which
    has one row per run, so it is cheap enough to run on every request.
    """
    statement = (
        select(
            scrape_runs.c.id,
            scrape_runs.c.finished_at,
            func.count().over().label("complete_runs"),
        )
        .where(
            scrape_runs.c.roll_year == roll_year,
            scrape_runs.c.status == "complete",
            scrape_runs.c.suspect.is_(False),
        )
        .order_by(scrape_runs.c.finished_at.desc().nulls_last(), scrape_runs.c.id.desc())
        .limit(1)
    )
    row = connection.execute(statement).first()
    if row is None:
        return None
    return CompletedRun(id=row.id, finished_at=row.finished_at, complete_runs=row.complete_runs)


def _measure_columns(name: str, value: Any) -> list[Any]:
    """Return the aggregate columns of one measure: count, min, max, mean, quartiles."""
    fractions = literal(list(QUARTILE_FRACTIONS), ARRAY(Float))
    return [
        func.count(value).label(f"{name}_count"),
        func.min(value).label(f"{name}_min"),
        func.max(value).label(f"{name}_max"),
        cast(func.avg(value), Float).label(f"{name}_mean"),
        func.percentile_cont(fractions).within_group(value).label(f"{name}_quartiles"),
    ]


def _distribution(row: Row[Any], name: str, property_count: int) -> Distribution:
    count: int = row._mapping[f"{name}_count"]
    quartiles = row._mapping[f"{name}_quartiles"] or (None, None, None)
    return Distribution(
        count=count,
        missing=property_count - count,
        min=row._mapping[f"{name}_min"],
        q1=quartiles[0],
        median=quartiles[1],
        q3=quartiles[2],
        max=row._mapping[f"{name}_max"],
        mean=row._mapping[f"{name}_mean"],
    )


def _group_statistics(row: Row[Any]) -> GroupStatistics:
    property_count: int = row.property_count
    return GroupStatistics(
        property_count=property_count,
        without_extent=row.without_extent,
        market_value=_distribution(row, "market_value", property_count),
        value_per_m2=_distribution(row, "value_per_m2", property_count),
    )


def _empty_roll(roll: Roll) -> RollStatistics:
    empty = Distribution(0, 0, None, None, None, None, None, None)
    totals = GroupStatistics(
        property_count=0, without_extent=0, market_value=empty, value_per_m2=empty
    )
    return RollStatistics(roll=roll, statistics=totals, by_rating_category=[], by_use_code=[])


def compute_statistics(
    connection: Connection, roll_year: int, roll: Roll | None = None, suburb: str | None = None
) -> list[RollStatistics]:
    """Compute the statistics of each roll (only `roll` when given), full roll first.

    `suburb` limits them to one suburb, matched as the `suburb` filter of
    `GET /properties` matches it: the whole name, ignoring case. A roll without
    properties gets counts of 0 and None values. Categories are sorted by name and
    use codes by number, with the group of NULLs last.

    One query computes every group with GROUPING SETS, so the table is scanned once.
    """
    columns = properties.c
    extent = columns.registered_extent
    value_per_m2 = case(
        (extent > 0, cast(columns.market_value, Float) / cast(extent, Float)),
    )
    without_extent = func.count().filter((extent.is_(None)) | (extent <= 0))
    grouping = func.grouping(
        columns.rating_category, columns.use_code_number, columns.use_code_description
    )
    conditions = filter_conditions(PropertyFilters(roll_year=roll_year, roll=roll, suburb=suburb))
    statement = (
        select(
            columns.roll,
            columns.rating_category,
            columns.use_code_number,
            columns.use_code_description,
            grouping.label("grouping"),
            func.count().label("property_count"),
            without_extent.label("without_extent"),
            *_measure_columns("market_value", columns.market_value),
            *_measure_columns("value_per_m2", value_per_m2),
        )
        .where(and_(true(), *conditions))
        .group_by(
            func.grouping_sets(
                tuple_(columns.roll),
                tuple_(columns.roll, columns.rating_category),
                tuple_(columns.roll, columns.use_code_number, columns.use_code_description),
            )
        )
        .order_by(
            columns.roll,
            columns.rating_category.asc().nulls_last(),
            columns.use_code_number.asc().nulls_last(),
            columns.use_code_description.asc().nulls_last(),
        )
    )
    rows = list(connection.execute(statement))
    return [_roll_statistics(roll_value, rows) for roll_value in _rolls(roll)]


def _rolls(roll: Roll | None) -> list[Roll]:
    return list(Roll) if roll is None else [roll]


def _roll_statistics(roll: Roll, rows: list[Row[Any]]) -> RollStatistics:
    own_rows = [row for row in rows if row.roll == roll.value]
    totals = [row for row in own_rows if row.grouping == _ROLL_TOTAL]
    if not totals:
        return _empty_roll(roll)
    categories = [
        CategoryStatistics(rating_category=row.rating_category, statistics=_group_statistics(row))
        for row in own_rows
        if row.grouping == _BY_RATING_CATEGORY
    ]
    use_codes = [
        UseCodeStatistics(
            use_code_number=row.use_code_number,
            use_code_description=row.use_code_description,
            statistics=_group_statistics(row),
        )
        for row in own_rows
        if row.grouping == _BY_USE_CODE
    ]
    return RollStatistics(
        roll=roll,
        statistics=_group_statistics(totals[0]),
        by_rating_category=categories,
        by_use_code=use_codes,
    )
