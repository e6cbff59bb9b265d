"""Every property of a listing as a stream, in constant memory, for the export routes.

CSV and NDJSON come from PostgreSQL's `COPY (SELECT ...) TO STDOUT`, the fastest way
to get rows out of the server. Row batches, for formats built in Python, come through
a server-side cursor. Each function runs on the caller's connection and does not commit.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, Select, String, cast, func, literal

from durban_valuations.store.cursor import SortOrder
from durban_valuations.store.filters import PropertyFilters
from durban_valuations.store.queries import SUMMARY_COLUMNS, listing_statement
from durban_valuations.store.staging import driver_connection
from durban_valuations.store.tables import properties

# PostgreSQL sends one COPY message per row. Joining them into chunks of this size keeps
# the number of writes to the client, and of thread switches in the API, low.
COPY_CHUNK_BYTES = 256 * 1024

_CSV_OPTIONS = "FORMAT csv, HEADER true, ENCODING 'UTF8'"
# COPY's text format would escape the backslashes of the JSON text. The CSV format with a
# quote and a delimiter that JSON never contains unescaped (U+0001, U+0002) writes each
# one-column row as it is, so every line is the JSON object that PostgreSQL built.
_JSON_LINES_OPTIONS = "FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02', ENCODING 'UTF8'"


def csv_statement(filters: PropertyFilters, sort: SortOrder | None = None) -> Select[Any]:
    """Return the listing SELECT with `is_remainder` as the text true or false.

    COPY would print a boolean as t or f, which spreadsheets and CSV readers do not read
    as a boolean.
    """
    columns = [
        cast(properties.c[name], String).label(name)
        if name == "is_remainder"
        else properties.c[name]
        for name in SUMMARY_COLUMNS
    ]
    return listing_statement(filters, sort).with_only_columns(*columns)


def json_lines_statement(filters: PropertyFilters, sort: SortOrder | None = None) -> Select[Any]:
    """Return the listing SELECT with each row as one JSON object of SUMMARY_COLUMNS."""
    pairs: list[Any] = []
    for name in SUMMARY_COLUMNS:
        pairs += [literal(name, String), properties.c[name]]
    return listing_statement(filters, sort).with_only_columns(func.json_build_object(*pairs))


def _copy_command(
    connection: Connection, statement: Select[Any], options: str
) -> tuple[str, Mapping[str, Any]]:
    # COPY takes no server-side parameters, so psycopg merges these into the text
    # client-side, quoting each value as a literal.
    compiled = statement.compile(dialect=connection.dialect)
    return f"COPY ({compiled}) TO STDOUT WITH ({options})", compiled.params


def copy_out(
    connection: Connection,
    statement: Select[Any],
    options: str,
    chunk_bytes: int = COPY_CHUNK_BYTES,
) -> Iterator[bytes]:
    """Yield the output of `COPY (statement) TO STDOUT WITH (options)` in chunks.

    Each chunk is at least `chunk_bytes` long, except the last, and ends at a row end.
    Closing the generator early cancels the COPY on the server, which leaves the
    connection usable.
    """
    command, parameters = _copy_command(connection, statement, options)
    buffer = bytearray()
    with driver_connection(connection).cursor() as cursor, cursor.copy(command, parameters) as copy:
        for block in copy:
            buffer += block
            if len(buffer) >= chunk_bytes:
                yield bytes(buffer)
                buffer.clear()
    if buffer:
        yield bytes(buffer)


def copy_csv(
    connection: Connection, filters: PropertyFilters, sort: SortOrder | None = None
) -> Iterator[bytes]:
    """Yield the matching properties as UTF-8 CSV with a header row, in chunks.

    An empty field is NULL and a quoted empty field ("") is an empty string.
    """
    return copy_out(connection, csv_statement(filters, sort), _CSV_OPTIONS)


def copy_json_lines(
    connection: Connection, filters: PropertyFilters, sort: SortOrder | None = None
) -> Iterator[bytes]:
    """Yield the matching properties as UTF-8 JSON lines, one object per line, in chunks."""
    return copy_out(connection, json_lines_statement(filters, sort), _JSON_LINES_OPTIONS)


def row_batches(
    connection: Connection,
    filters: PropertyFilters,
    sort: SortOrder | None = None,
    batch_rows: int = 10_000,
) -> Generator[Sequence[Row[Any]], None, None]:
    """Yield the matching properties in batches of up to `batch_rows` rows.

    Rows have the SUMMARY_COLUMNS and come from a server-side cursor, so only one batch
    is held in memory at a time.
    """
    statement = listing_statement(filters, sort)
    options = {"yield_per": batch_rows}
    with connection.execute(statement, execution_options=options) as result:
        yield from result.partitions()
