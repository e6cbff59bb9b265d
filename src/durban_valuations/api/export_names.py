"""Download names of the property exports, such as durban-valuations-2022-full-2026-12-05.csv."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime

from sqlalchemy import Connection

from durban_valuations.store.filters import PropertyFilters
from durban_valuations.store.runs import last_complete_run
from durban_valuations.store.tables import ROLLS

# Filter values are cut to this many characters, and filter descriptions longer than
# MAX_FILTER_TEXT are replaced by "filtered", so names stay well under the 255-byte limit
# of common file systems.
MAX_VALUE_TEXT = 40
MAX_FILTER_TEXT = 120
_NOT_IN_NAME = re.compile(r"[^a-z0-9.]+")
# Fields that the name shows in another way, or not at all.
_UNNAMED_FIELDS = frozenset({"roll_year", "roll"})


def data_date(connection: Connection, filters: PropertyFilters) -> date:
    """Return the UTC date on which the last complete run of the filtered rolls finished.

    Without such a run, or without a roll year, return the current UTC date.
    """
    rolls = [filters.roll.value] if filters.roll is not None else list(ROLLS)
    run = None
    if filters.roll_year is not None:
        run = last_complete_run(connection, filters.roll_year, rolls)
    finished = run.finished_at if run is not None else None
    return (finished or datetime.now(UTC)).astimezone(UTC).date()


def _name_part(text: str) -> str:
    return _NOT_IN_NAME.sub("-", text.lower())[:MAX_VALUE_TEXT].strip("-.")


def describe_filters(filters: PropertyFilters) -> str:
    """Return the filters other than roll year and roll as `name-value` words, or ''.

    Words come in the field order of PropertyFilters, for example
    `suburb-pinetown-min-market-value-500000`. Text that would be too long is `filtered`.
    """
    words = []
    for field in dataclasses.fields(filters):
        value = getattr(filters, field.name)
        if value is None or field.name in _UNNAMED_FIELDS:
            continue
        words.append(f"{field.name.replace('_', '-')}-{_name_part(str(value))}".rstrip("-"))
    text = "-".join(words)
    return "filtered" if len(text) > MAX_FILTER_TEXT else text


def export_filename(filters: PropertyFilters, roll_year: int, on: date, extension: str) -> str:
    """Return the download name of an export: project, roll year, roll, filters, date."""
    roll = filters.roll.value if filters.roll is not None else "all"
    parts = ["durban-valuations", str(roll_year), roll, describe_filters(filters), on.isoformat()]
    return "-".join(part for part in parts if part) + f".{extension}"
