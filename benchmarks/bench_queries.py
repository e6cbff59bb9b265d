"""The six queries of the API-against-Datasette benchmark, with values picked from the data.

Each query has its API paths and the Datasette paths that request the same rows. It also
has the store call that the API route makes, for the PostgreSQL plans. The SQL that
Datasette 0.65 builds for its request is written out here for SQLite's query plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import Connection, Select, Text, cast, func, select, text

from durban_valuations.store.cursor import SortOrder
from durban_valuations.store.exports import csv_statement
from durban_valuations.store.filters import PropertyFilters
from durban_valuations.store.queries import get_properties_by_rate_number, list_properties
from durban_valuations.store.search import matches_search
from durban_valuations.store.stats import compute_statistics, last_completed_run
from durban_valuations.store.tables import properties

# The name Datasette gives the SQLite file valuations.db.
DATASETTE_DATABASE = "valuations"
PAGE_SIZE = 50
RATE_NUMBER_SAMPLE = 200

# One suburb's statistics in SQLite, the same groups as `compute_statistics`: per roll,
# per roll and rating category, per roll and use code. SQLite has no percentile_cont, so
# the quartiles are nearest-rank values from row_number() over the sorted values.
SQLITE_STATISTICS = """
WITH base AS (
  SELECT roll, rating_category, use_code_number, use_code_description, market_value,
    registered_extent,
    CASE WHEN registered_extent > 0 THEN CAST(market_value AS REAL) / registered_extent END
      AS value_per_m2
  FROM properties WHERE suburb = :suburb
),
grouped AS (
  SELECT 1 AS grouping_set, roll, NULL AS rating_category, NULL AS use_code_number,
    NULL AS use_code_description, market_value, registered_extent, value_per_m2 FROM base
  UNION ALL SELECT 2, roll, rating_category, NULL, NULL, market_value, registered_extent,
    value_per_m2 FROM base
  UNION ALL SELECT 3, roll, NULL, use_code_number, use_code_description, market_value,
    registered_extent, value_per_m2 FROM base
),
ranked AS (
  SELECT *,
    row_number() OVER (PARTITION BY grouping_set, roll, rating_category, use_code_number,
      use_code_description, market_value IS NULL ORDER BY market_value) AS value_position,
    count(market_value) OVER (PARTITION BY grouping_set, roll, rating_category,
      use_code_number, use_code_description) AS value_count,
    row_number() OVER (PARTITION BY grouping_set, roll, rating_category, use_code_number,
      use_code_description, value_per_m2 IS NULL ORDER BY value_per_m2) AS per_m2_position,
    count(value_per_m2) OVER (PARTITION BY grouping_set, roll, rating_category,
      use_code_number, use_code_description) AS per_m2_count
  FROM grouped
)
SELECT grouping_set, roll, rating_category, use_code_number, use_code_description,
  count(*) AS property_count,
  sum(registered_extent IS NULL OR registered_extent <= 0) AS without_extent,
  count(market_value) AS market_value_count, min(market_value) AS market_value_min,
  max(market_value) AS market_value_max, avg(market_value) AS market_value_mean,
  min(CASE WHEN market_value IS NOT NULL AND value_position >= 0.25 * value_count
      THEN market_value END) AS market_value_q1,
  min(CASE WHEN market_value IS NOT NULL AND value_position >= 0.5 * value_count
      THEN market_value END) AS market_value_median,
  min(CASE WHEN market_value IS NOT NULL AND value_position >= 0.75 * value_count
      THEN market_value END) AS market_value_q3,
  count(value_per_m2) AS value_per_m2_count, min(value_per_m2) AS value_per_m2_min,
  max(value_per_m2) AS value_per_m2_max, avg(value_per_m2) AS value_per_m2_mean,
  min(CASE WHEN value_per_m2 IS NOT NULL AND per_m2_position >= 0.25 * per_m2_count
      THEN value_per_m2 END) AS value_per_m2_q1,
  min(CASE WHEN value_per_m2 IS NOT NULL AND per_m2_position >= 0.5 * per_m2_count
      THEN value_per_m2 END) AS value_per_m2_median,
  min(CASE WHEN value_per_m2 IS NOT NULL AND per_m2_position >= 0.75 * per_m2_count
      THEN value_per_m2 END) AS value_per_m2_q3
FROM ranked
GROUP BY grouping_set, roll, rating_category, use_code_number, use_code_description
ORDER BY grouping_set, roll, rating_category, use_code_number, use_code_description
"""


@dataclass(frozen=True, slots=True)
class QueryValues:
    """Values taken from the stored rows, so that every query returns rows.

    `suburb` is the suburb with the most properties. The value range
    [`low_value`, `high_value`] contains about `export_rows` properties around the median
    market value. `search_word` is the word of the search vectors whose number of
    matching properties is closest to the requested count.
    """

    rate_numbers: list[str]
    suburb: str
    suburb_rows: int
    low_value: int
    high_value: int
    range_rows: int
    search_word: str
    search_rows: int

    @classmethod
    def pick(
        cls, connection: Connection, roll_year: int, export_rows: int, search_matches: int
    ) -> QueryValues:
        in_year = properties.c.roll_year == roll_year
        rate_numbers = list(
            connection.scalars(
                select(properties.c.rate_number)
                .where(in_year)
                .order_by(func.md5(cast(properties.c.pin, Text)))
                .limit(RATE_NUMBER_SAMPLE)
            )
        )
        suburb, suburb_rows = connection.execute(
            select(properties.c.suburb, func.count())
            .where(in_year, properties.c.suburb.is_not(None))
            .group_by(properties.c.suburb)
            .order_by(func.count().desc(), properties.c.suburb)
            .limit(1)
        ).one()
        low_value, high_value = _value_range(connection, roll_year, export_rows)
        range_rows = connection.execute(
            select(func.count()).where(
                in_year, properties.c.market_value.between(low_value, high_value)
            )
        ).scalar_one()
        search_word, search_rows = _search_word(connection, roll_year, search_matches)
        return cls(
            rate_numbers=rate_numbers,
            suburb=suburb,
            suburb_rows=suburb_rows,
            low_value=low_value,
            high_value=high_value,
            range_rows=range_rows,
            search_word=search_word,
            search_rows=search_rows,
        )

    def describe(self) -> str:
        return (
            f"Query values: {len(self.rate_numbers)} rate numbers taken in turn; suburb "
            f"{self.suburb!r} ({self.suburb_rows:,} properties); market values "
            f"{self.low_value:,} to {self.high_value:,} ({self.range_rows:,} properties); "
            f"search word {self.search_word!r} ({self.search_rows:,} properties)."
        )


def _value_range(connection: Connection, roll_year: int, export_rows: int) -> tuple[int, int]:
    """Return the first and last of `export_rows` consecutive market values around the median."""
    values = (
        select(properties.c.market_value)
        .where(properties.c.roll_year == roll_year, properties.c.market_value.is_not(None))
        .order_by(properties.c.market_value)
    )
    valued = connection.execute(select(func.count()).select_from(values.subquery())).scalar_one()
    count = max(1, min(export_rows, valued // 2))
    start = (valued - count) // 2
    low = connection.execute(values.offset(start).limit(1)).scalar_one()
    high = connection.execute(values.offset(start + count - 1).limit(1)).scalar_one()
    return int(low), int(high)


def _search_word(connection: Connection, roll_year: int, matches: int) -> tuple[str, int]:
    """Return the word of four or more letters whose match count is closest to `matches`.

    ts_stat counts, per word of the search vectors, the properties that contain it.
    """
    statement = text(
        "SELECT word, ndoc FROM ts_stat(:vectors) WHERE word ~ '^[a-z]{4,}$' "
        "ORDER BY abs(ndoc - :matches), word LIMIT 1"
    )
    vectors = f"SELECT search_vector FROM properties WHERE roll_year = {int(roll_year)}"
    word, count = connection.execute(statement, {"vectors": vectors, "matches": matches}).one()
    counted = connection.execute(
        select(func.count()).where(properties.c.roll_year == roll_year, matches_search(word))
    ).scalar_one()
    if counted != count:
        raise RuntimeError(f"search word {word!r}: ts_stat counts {count}, the search {counted}")
    return str(word), int(count)


@dataclass(frozen=True, slots=True)
class BenchQuery:
    """One benchmark query on both servers.

    `indexed` marks the queries that an index serves, whose p99 target is 50 ms.
    `store_call` makes the store calls of the API route for the first API path, and
    `copy_statement` is the SELECT of a route that streams with COPY instead.
    NOTE: `datasette_sql` is written from Datasette 0.65's table view code, not captured
    from the running server, so its plan may differ from the one Datasette gets.
    """

    name: str
    api_paths: list[str]
    datasette_paths: list[str]
    indexed: bool
    matching_rows: int
    store_call: Callable[[Connection], object]
    datasette_sql: str
    datasette_parameters: dict[str, Any] = field(default_factory=dict)
    copy_statement: Select[Any] | None = None
    # Requests that take seconds need a client that lets each request started before
    # the deadline finish and counts it. wrk drops the requests in flight at its
    # deadline, so a server whose every response takes longer than the run scores 0.
    waits_for_last_requests: bool = False


def _table_path(parameters: dict[str, str | int], extension: str = "json") -> str:
    return f"/{DATASETTE_DATABASE}/properties.{extension}?{urlencode(parameters)}"


def build_queries(connection: Connection, values: QueryValues, roll_year: int) -> list[BenchQuery]:
    """Return the six queries with `values`, in the order of the report."""
    first_rate = values.rate_numbers[0]
    suburb_filters = PropertyFilters(roll_year=roll_year, suburb=values.suburb)
    range_filters = PropertyFilters(
        roll_year=roll_year, min_market_value=values.low_value, max_market_value=values.high_value
    )
    search_filters = PropertyFilters(roll_year=roll_year, q=values.search_word)
    by_value = SortOrder("market_value")
    range_query: dict[str, str | int] = {
        "min_market_value": values.low_value,
        "max_market_value": values.high_value,
        "sort": "market_value",
    }
    datasette_range: dict[str, str | int] = {
        "market_value__gte": values.low_value,
        "market_value__lte": values.high_value,
        "_sort": "market_value",
    }
    matching_rate_numbers = connection.execute(
        select(func.count()).where(
            properties.c.roll_year == roll_year, properties.c.rate_number == first_rate
        )
    ).scalar_one()
    return [
        BenchQuery(
            name="rate-number lookup",
            api_paths=[f"/properties/{rate}" for rate in values.rate_numbers],
            datasette_paths=[
                _table_path({"rate_number": rate, "_shape": "array"})
                for rate in values.rate_numbers
            ],
            indexed=True,
            matching_rows=matching_rate_numbers,
            store_call=lambda c: get_properties_by_rate_number(c, first_rate, roll_year),
            datasette_sql="SELECT * FROM properties WHERE rate_number = :p0 ORDER BY pin LIMIT 101",
            datasette_parameters={"p0": first_rate},
        ),
        BenchQuery(
            name="suburb, first page",
            api_paths=[f"/properties?{urlencode({'suburb': values.suburb})}"],
            datasette_paths=[
                _table_path(
                    {
                        "suburb": values.suburb,
                        "_sort": "rate_number",
                        "_size": PAGE_SIZE,
                        "_shape": "array",
                    }
                )
            ],
            indexed=True,
            matching_rows=values.suburb_rows,
            store_call=lambda c: list_properties(c, suburb_filters, limit=PAGE_SIZE),
            datasette_sql="SELECT * FROM properties WHERE suburb = :p0 "
            f"ORDER BY rate_number, pin LIMIT {PAGE_SIZE + 1}",
            datasette_parameters={"p0": values.suburb},
        ),
        BenchQuery(
            name="value range by value",
            api_paths=[f"/properties?{urlencode(range_query)}"],
            datasette_paths=[
                _table_path({**datasette_range, "_size": PAGE_SIZE, "_shape": "array"})
            ],
            indexed=True,
            matching_rows=values.range_rows,
            store_call=lambda c: list_properties(c, range_filters, by_value, limit=PAGE_SIZE),
            datasette_sql="SELECT * FROM properties WHERE market_value >= :p0 "
            f"AND market_value <= :p1 ORDER BY market_value, pin LIMIT {PAGE_SIZE + 1}",
            datasette_parameters={"p0": values.low_value, "p1": values.high_value},
        ),
        BenchQuery(
            name="free-text search",
            api_paths=[f"/properties?{urlencode({'q': values.search_word})}"],
            datasette_paths=[
                _table_path({"_search": values.search_word, "_size": PAGE_SIZE, "_shape": "array"})
            ],
            indexed=True,
            matching_rows=values.search_rows,
            store_call=lambda c: list_properties(c, search_filters, limit=PAGE_SIZE),
            datasette_sql="SELECT * FROM properties WHERE pin IN (SELECT rowid FROM "
            "properties_fts WHERE properties_fts MATCH :search) "
            f"ORDER BY pin LIMIT {PAGE_SIZE + 1}",
            datasette_parameters={"search": f'"{values.search_word}"'},
        ),
        BenchQuery(
            name="suburb statistics",
            api_paths=[f"/suburbs/{quote(values.suburb, safe='')}/stats"],
            datasette_paths=[
                f"/{DATASETTE_DATABASE}.json?"
                + urlencode({"sql": SQLITE_STATISTICS, "suburb": values.suburb, "_shape": "array"})
            ],
            indexed=False,
            matching_rows=values.suburb_rows,
            store_call=lambda c: (
                last_completed_run(c, roll_year),
                compute_statistics(c, roll_year, suburb=values.suburb),
            ),
            datasette_sql=SQLITE_STATISTICS,
            datasette_parameters={"suburb": values.suburb},
        ),
        BenchQuery(
            name=f"CSV export, {values.range_rows:,} rows",
            api_paths=[f"/properties.csv?{urlencode(range_query)}"],
            datasette_paths=[
                _table_path({**datasette_range, "_stream": "on", "_size": "max"}, "csv")
            ],
            indexed=False,
            matching_rows=values.range_rows,
            store_call=lambda c: None,
            copy_statement=csv_statement(range_filters, by_value),
            waits_for_last_requests=True,
            datasette_sql="SELECT * FROM properties WHERE market_value >= :p0 "
            "AND market_value <= :p1 ORDER BY market_value, pin LIMIT 1001",
            datasette_parameters={"p0": values.low_value, "p1": values.high_value},
        ),
    ]
