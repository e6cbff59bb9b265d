"""File formats of the property exports: CSV, NDJSON and Parquet, each a stream of chunks."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

# pyarrow ships no type information; pyproject's mypy overrides do not list it yet.
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Connection

from durban_valuations.store import exports
from durban_valuations.store.cursor import SortOrder
from durban_valuations.store.filters import PropertyFilters
from durban_valuations.store.queries import SUMMARY_COLUMNS

# Rows fetched from the server-side cursor at a time, as Python objects, and rows per
# Parquet row group, kept in Arrow's compact columns until the group is written. The
# memory an export needs grows with these numbers, not with the number of rows.
FETCH_ROWS = 2_000
ROW_GROUP_ROWS = 20_000

# NOTE: the site prints extents with at most two decimals (`####,###.##`). A stored
# extent with more decimals does not fit this type, and its Parquet export fails.
EXTENT_TYPE = pa.decimal128(18, 2)

PARQUET_SCHEMA = pa.schema(
    [
        pa.field("roll_year", pa.int32(), nullable=False),
        pa.field("roll", pa.string(), nullable=False),
        pa.field("pin", pa.int64(), nullable=False),
        pa.field("rate_number", pa.string(), nullable=False),
        pa.field("legal_description", pa.string(), nullable=False),
        pa.field("address", pa.string(), nullable=False),
        pa.field("street_number", pa.string()),
        pa.field("street_name", pa.string()),
        pa.field("suburb", pa.string()),
        pa.field("first_owner", pa.string()),
        pa.field("use_code", pa.string()),
        pa.field("use_code_description", pa.string()),
        pa.field("use_code_number", pa.int32()),
        pa.field("rating_category", pa.string()),
        pa.field("market_value", pa.int64(), metadata={"unit": "whole rands"}),
        pa.field("registered_extent", EXTENT_TYPE, metadata={"unit": "square metres"}),
        pa.field("erf", pa.string()),
        pa.field("portion", pa.string()),
        pa.field("is_remainder", pa.bool_(), nullable=False),
        pa.field("deeds_town", pa.string()),
        pa.field("section_number", pa.string()),
        pa.field("scheme_name", pa.string()),
    ]
)
if tuple(PARQUET_SCHEMA.names) != SUMMARY_COLUMNS:
    raise RuntimeError("PARQUET_SCHEMA must list the SUMMARY_COLUMNS of store.queries in order")

ChunkSource = Callable[[Connection, PropertyFilters, SortOrder | None], Iterator[bytes]]


class _ChunkSink(io.RawIOBase):
    """A write-only file that keeps the bytes written to it until `take` returns them."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        """Return the bytes written since the last call, and forget them."""
        chunk = b"".join(self._parts)
        self._parts.clear()
        return chunk


def _record_batch(rows: Sequence[Sequence[Any]]) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in PARQUET_SCHEMA]
    arrays = [
        pa.array(values, type=field.type)
        for values, field in zip(columns, PARQUET_SCHEMA, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=PARQUET_SCHEMA)


def parquet_chunks(
    batches: Iterable[Sequence[Sequence[Any]]], row_group_rows: int = ROW_GROUP_ROWS
) -> Iterator[bytes]:
    """Yield a Parquet file of PARQUET_SCHEMA in chunks, one per row group.

    Row groups hold `row_group_rows` rows, or more when a batch of rows overshoots,
    except the last. The last chunk is the file footer, so a file cut short by an error
    has none and Parquet readers reject it. No rows give a valid file with the schema.
    """
    sink = _ChunkSink()
    writer = pq.ParquetWriter(sink, PARQUET_SCHEMA)
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    try:
        for rows in batches:
            pending.append(_record_batch(rows))
            pending_rows += len(rows)
            if pending_rows >= row_group_rows:
                writer.write_table(pa.Table.from_batches(pending), row_group_size=pending_rows)
                pending.clear()
                pending_rows = 0
                yield sink.take()
        if pending_rows:
            writer.write_table(pa.Table.from_batches(pending), row_group_size=pending_rows)
    finally:
        writer.close()
    yield sink.take()


def _parquet_source(
    connection: Connection, filters: PropertyFilters, sort: SortOrder | None
) -> Iterator[bytes]:
    batches = exports.row_batches(connection, filters, sort, batch_rows=FETCH_ROWS)
    try:
        yield from parquet_chunks(batches)
    finally:
        # Closes the server-side cursor now, also when the download stops early.
        batches.close()


@dataclass(frozen=True, slots=True)
class Format:
    """The file extension, media type and chunk source of one export format."""

    extension: str
    media_type: str
    produce: ChunkSource


class ExportFormat(Enum):
    """The formats of the property exports."""

    CSV = Format("csv", "text/csv", exports.copy_csv)
    NDJSON = Format("ndjson", "application/x-ndjson", exports.copy_json_lines)
    PARQUET = Format("parquet", "application/vnd.apache.parquet", _parquet_source)
