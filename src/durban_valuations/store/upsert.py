"""Insert or update cleaned result rows, and save the details page of a property.

Every function runs on the caller's connection and does not commit, so a caller can
write a whole batch and its run record in one transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, func, literal_column, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert

from durban_valuations.clean.models import CleanProperty
from durban_valuations.site.models import PropertyDetails
from durban_valuations.store.tables import owners, properties

# Columns that come from a result row; a row counts as changed when any of them differs.
DATA_COLUMNS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(CleanProperty))
_COLUMNS_PER_ROW = len(DATA_COLUMNS) + 3  # roll_year, first_seen_run_id, last_seen_run_id
# PostgreSQL accepts at most 65,535 bind parameters in one statement.
BATCH_SIZE = min(1000, 65_535 // _COLUMNS_PER_ROW)


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    """How many distinct properties a write inserted, changed, or found unchanged."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
        )


def _row_values(roll_year: int, run_id: int, item: CleanProperty) -> dict[str, Any]:
    if len(item.rate_number) != 8:
        raise ValueError(
            f"invalid rate number {item.rate_number!r} of pin {item.pin}: expected 8 characters"
        )
    values = {name: getattr(item, name) for name in DATA_COLUMNS}
    values["roll"] = item.roll.value
    values["roll_year"] = roll_year
    values["first_seen_run_id"] = run_id
    values["last_seen_run_id"] = run_id
    return values


def _upsert_batch(connection: Connection, rows: list[dict[str, Any]]) -> tuple[list[int], int]:
    """Write one batch; return the pins inserted or changed, and how many were inserted."""
    # One compiled statement run with executemany: SQLAlchemy's "insertmanyvalues" mode
    # sends it as multi-row VALUES pages and collects the RETURNING rows of every page.
    statement = insert(properties)
    stored = tuple_(*(properties.c[name] for name in DATA_COLUMNS))
    incoming = tuple_(*(statement.excluded[name] for name in DATA_COLUMNS))
    upsert = statement.on_conflict_do_update(
        index_elements=[properties.c.roll_year, properties.c.pin],
        set_={
            **{name: statement.excluded[name] for name in DATA_COLUMNS},
            "last_seen_run_id": statement.excluded.last_seen_run_id,
            "updated_at": func.now(),
        },
        # Unchanged rows are skipped here, so they keep their updated_at.
        where=stored.is_distinct_from(incoming),
    ).returning(properties.c.pin, literal_column("xmax = 0").label("inserted"))
    written = connection.execute(upsert, rows).all()
    return [row.pin for row in written], sum(1 for row in written if row.inserted)


def _mark_seen(connection: Connection, roll_year: int, run_id: int, pins: list[int]) -> None:
    connection.execute(
        update(properties)
        .where(
            properties.c.roll_year == roll_year,
            properties.c.pin.in_(pins),
            properties.c.last_seen_run_id != run_id,
        )
        .values(last_seen_run_id=run_id)
    )


def _copy_first_owners(connection: Connection, roll_year: int, pins: list[int]) -> None:
    """Make each property's first owner its only owner, unless its details page was saved."""
    without_details = select(properties.c.pin).where(
        properties.c.roll_year == roll_year,
        properties.c.pin.in_(pins),
        properties.c.details_fetched_at.is_(None),
    )
    connection.execute(
        delete(owners).where(owners.c.roll_year == roll_year, owners.c.pin.in_(without_details))
    )
    first_owners = select(
        properties.c.roll_year, properties.c.pin, literal_column("1"), properties.c.first_owner
    ).where(
        properties.c.roll_year == roll_year,
        properties.c.pin.in_(pins),
        properties.c.details_fetched_at.is_(None),
        properties.c.first_owner.is_not(None),
    )
    connection.execute(
        owners.insert().from_select(["roll_year", "pin", "position", "name"], first_owners)
    )


def upsert_properties(
    connection: Connection, roll_year: int, run_id: int, items: Sequence[CleanProperty]
) -> UpsertCounts:
    """Insert new properties and update changed ones, keyed by (roll_year, pin).

    Every property in `items` gets `last_seen_run_id = run_id`; only inserted or changed
    rows get a new `updated_at`. When `items` lists a pin more than once, the last entry
    wins and the pin is counted once. Raises ValueError for a rate number that is not
    8 characters long, before anything is written.
    """
    latest: dict[int, dict[str, Any]] = {}
    for item in items:
        latest[item.pin] = _row_values(roll_year, run_id, item)
    rows = list(latest.values())

    counts = UpsertCounts()
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        written_pins, inserted = _upsert_batch(connection, batch)
        written = set(written_pins)
        unchanged_pins = [row["pin"] for row in batch if row["pin"] not in written]
        if unchanged_pins:
            _mark_seen(connection, roll_year, run_id, unchanged_pins)
        if written_pins:
            _copy_first_owners(connection, roll_year, written_pins)
        counts += UpsertCounts(inserted, len(written_pins) - inserted, len(unchanged_pins))
    return counts


def _blank_to_none(text: str) -> str | None:
    stripped = text.strip()
    return stripped or None


def save_details(
    connection: Connection, roll_year: int, pin: int, details: PropertyDetails
) -> None:
    """Store the details page of a property and replace its owners with the page's list.

    Blank values are stored as NULL. When the page lists no owner, the first owner of the
    result row stays the only owner. Raises LookupError when the property is not stored,
    and ValueError when the page belongs to another roll or rate number.
    """
    key = and_(properties.c.roll_year == roll_year, properties.c.pin == pin)
    stored = connection.execute(
        select(properties.c.roll, properties.c.rate_number).where(key)
    ).first()
    if stored is None:
        raise LookupError(f"property with pin {pin} not found in the {roll_year} roll")
    if (stored.roll, stored.rate_number) != (details.roll.value, details.rate_number.strip()):
        raise ValueError(
            f"details page of {details.roll.value} roll rate number {details.rate_number!r} "
            f"does not match pin {pin} ({stored.roll} roll rate number {stored.rate_number!r})"
        )

    connection.execute(
        update(properties)
        .where(key)
        .values(
            details_government_code=_blank_to_none(details.government_code),
            details_exemptions=_blank_to_none(details.exemptions),
            details_rebates=_blank_to_none(details.rebates),
            details_phasing_in=_blank_to_none(details.phasing_in),
            details_exclusions=_blank_to_none(details.exclusions),
            details_sra_code=_blank_to_none(details.sra_code),
            details_property_type=_blank_to_none(details.property_type),
            details_scheme_number=_blank_to_none(details.scheme_number),
            details_erf=_blank_to_none(details.erf),
            details_deeds_town=_blank_to_none(details.deeds_town),
            details_fetched_at=func.now(),
        )
    )

    names = [name.strip() for name in details.owners if name.strip()]
    if not names:
        return
    connection.execute(delete(owners).where(owners.c.roll_year == roll_year, owners.c.pin == pin))
    connection.execute(
        owners.insert(),
        [
            {"roll_year": roll_year, "pin": pin, "position": position, "name": name}
            for position, name in enumerate(names, start=1)
        ],
    )
