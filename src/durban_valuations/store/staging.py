"""A temporary staging table of result rows, filled with COPY, for set-based upserts."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Iterable
from typing import Any

import psycopg
from sqlalchemy import Connection, text

from durban_valuations.clean.models import CleanProperty

STAGING_TABLE = "property_staging"
# Columns that come from a result row; a row counts as changed when any of them differs.
DATA_COLUMNS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(CleanProperty))
if DATA_COLUMNS[0] != "roll":
    raise RuntimeError("CleanProperty must keep roll as its first field; copy_row expects it")


def driver_connection(connection: Connection) -> psycopg.Connection[Any]:
    """Return the psycopg 3 connection under `connection`, in its current transaction."""
    driver = connection.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError(
            f"COPY needs a psycopg 3 connection, got {type(driver).__name__}; "
            "use a postgresql+psycopg:// database URL"
        )
    return driver


# `roll` comes first, so a row is its value followed by the other fields in order.
_OTHER_FIELDS = operator.attrgetter(*DATA_COLUMNS[1:])


def copy_row(item: CleanProperty) -> tuple[Any, ...]:
    """Return the values of `item` in DATA_COLUMNS order, as COPY takes them."""
    # psycopg would dump the Roll enum by its name (FULL), not its value (full).
    return (item.roll.value, *_OTHER_FIELDS(item))


def stage_properties(connection: Connection, items: Iterable[CleanProperty]) -> None:
    """Replace the contents of the staging table with `items`, loaded with one COPY.

    The table is temporary and dropped at commit, so the caller's connection must be
    inside a transaction (SQLAlchemy's default), not in autocommit mode. Its columns
    have the types of the matching `properties` columns and no constraints. It is not
    analyzed: statements that read it must not need its statistics to be planned well.
    """
    columns = ", ".join(DATA_COLUMNS)
    # Both names are constants of this module, so the f-string cannot inject SQL.
    create = (
        f"CREATE TEMP TABLE IF NOT EXISTS {STAGING_TABLE} ON COMMIT DROP AS "  # noqa: S608
        f"SELECT {columns} FROM properties WITH NO DATA"
    )
    connection.execute(text(create))
    connection.execute(text(f"TRUNCATE {STAGING_TABLE}"))
    driver = driver_connection(connection)
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {STAGING_TABLE} ({columns}) FROM STDIN") as copy,
    ):
        for item in items:
            copy.write_row(copy_row(item))
