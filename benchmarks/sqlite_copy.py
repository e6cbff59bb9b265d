"""Copy the stored properties of one roll year into a SQLite file for Datasette.

The SQLite table has the columns of the API's property summaries (`SUMMARY_COLUMNS`),
with `pin` as its INTEGER PRIMARY KEY (the rowid). Its indexes mirror the PostgreSQL
indexes that serve the benchmark's queries, and an FTS5 table over the same four
fields as `properties.search_vector` serves Datasette's `_search`.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from durban_valuations.store.queries import SUMMARY_COLUMNS
from durban_valuations.store.tables import properties

INTEGER_COLUMNS = frozenset({"roll_year", "use_code_number", "market_value", "is_remainder"})
REAL_COLUMNS = frozenset({"registered_extent"})
BATCH_ROWS = 10_000

# Each index has the PostgreSQL index that serves the same query beside it. SQLite adds
# the rowid (pin) to every index, as the PostgreSQL indexes list pin last.
INDEXES = {
    # ix_properties_rate_number (rate_number, pin): the rate-number lookup.
    "ix_properties_rate_number": "rate_number",
    # ix_properties_suburb (suburb, pin) and ix_properties_suburb_lower (lower(suburb)):
    # a suburb's first page and its statistics. Datasette matches the exact text, the
    # API ignores case, so each side has the index for its own condition.
    "ix_properties_suburb": "suburb",
    # ix_properties_market_value (market_value, pin): the value range and its export.
    "ix_properties_market_value": "market_value",
}
# The fields of properties.search_vector. The benchmark stores no owner rows, so the
# owners part of the vector is the first owner, as here.
SEARCH_FIELDS = ("address", "scheme_name", "first_owner", "legal_description")


def _column_type(name: str) -> str:
    if name == "pin":
        return "INTEGER PRIMARY KEY"
    if name in INTEGER_COLUMNS:
        return "INTEGER"
    if name in REAL_COLUMNS:
        return "REAL"
    return "TEXT"


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bool):
        return int(value)
    return value


def copy_to_sqlite(engine: Engine, path: Path, roll_year: int) -> int:
    """Write the properties of `roll_year` to a new SQLite file at `path`; return the count.

    Creates the table, its indexes and the FTS5 table `properties_fts`, then runs
    ANALYZE so SQLite's planner has statistics, as PostgreSQL has after ANALYZE.
    """
    columns = ", ".join(f'"{name}" {_column_type(name)}' for name in SUMMARY_COLUMNS)
    placeholders = ", ".join("?" for _ in SUMMARY_COLUMNS)
    statement = (
        select(*(properties.c[name] for name in SUMMARY_COLUMNS))
        .where(properties.c.roll_year == roll_year)
        .order_by(properties.c.pin)
    )
    count = 0
    database = sqlite3.connect(path)
    try:
        database.execute(f"CREATE TABLE properties ({columns})")
        with engine.connect() as connection:
            result = connection.execute(statement, execution_options={"yield_per": BATCH_ROWS})
            for batch in result.partitions():
                database.executemany(
                    f"INSERT INTO properties VALUES ({placeholders})",
                    [tuple(_sqlite_value(value) for value in row) for row in batch],
                )
                count += len(batch)
        for name, column in INDEXES.items():
            database.execute(f'CREATE INDEX {name} ON properties ("{column}")')
        fields = ", ".join(SEARCH_FIELDS)
        # An external-content FTS5 table: Datasette finds it by content="properties".
        database.execute(
            f"CREATE VIRTUAL TABLE properties_fts USING fts5("
            f'{fields}, content="properties", content_rowid="pin")'
        )
        database.execute("INSERT INTO properties_fts (properties_fts) VALUES ('rebuild')")
        database.commit()
        database.execute("ANALYZE")
        database.commit()
    finally:
        database.close()
    return count


def explain_query_plan(path: Path, sql: str, parameters: dict[str, Any]) -> str:
    """Return SQLite's EXPLAIN QUERY PLAN of `sql`, one step per line."""
    database = sqlite3.connect(path)
    try:
        rows = database.execute(f"EXPLAIN QUERY PLAN {sql}", parameters).fetchall()
    finally:
        database.close()
    return "\n".join(f"{'  ' * _depth(rows, row[1])}{row[3]}" for row in rows)


def _depth(rows: list[tuple[Any, ...]], parent: int) -> int:
    """Return how deep a step is, from the id of its parent step (0 for the top)."""
    depth = 0
    parents = {row[0]: row[1] for row in rows}
    while parent != 0:
        depth += 1
        parent = parents.get(parent, 0)
    return depth
