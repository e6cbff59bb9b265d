"""Insert or update cleaned result rows, and save the details page of a property.

Every function runs on the caller's connection and does not commit, so a caller can
write a whole batch and its run record in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, and_, delete, exists, func, literal, select, update
from sqlalchemy.dialects.postgresql import aggregate_order_by

from durban_valuations.clean.models import CleanProperty
from durban_valuations.site.models import PropertyDetails
from durban_valuations.store.locks import lock_property_writes
from durban_valuations.store.runs import require_run
from durban_valuations.store.sightings import (
    mark_not_seen,
    properties_needing_details,
    record_sightings,
)
from durban_valuations.store.staging import (
    DATA_COLUMNS,
    copy_row,
    driver_connection,
    stage_properties,
)
from durban_valuations.store.tables import owners, properties
from durban_valuations.store.upsert_sql import (
    ANALYZE_CHANGED,
    ANALYZE_PROPERTIES,
    ANY_STORED,
    CLEAR_CHANGED,
    COPY_NEW,
    CREATE_CHANGED,
    DELETE_REPLACED_OWNERS,
    INSERT_NEW,
    MOVE_NEW_CHANGES,
    RECORD_CHANGES,
    RECORD_SEEN,
    SELECT_CHANGED,
    STALE_STATISTICS,
    UPDATE_CHANGED,
)

__all__ = [
    "DATA_COLUMNS",
    "UpsertCounts",
    "mark_not_seen",
    "properties_needing_details",
    "record_sightings",
    "save_details",
    "upsert_properties",
]


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


def _latest_by_pin(items: Sequence[CleanProperty]) -> list[CleanProperty]:
    latest: dict[int, CleanProperty] = {}
    for item in items:
        if len(item.rate_number) != 8:
            raise ValueError(
                f"invalid rate number {item.rate_number!r} of pin {item.pin}: expected 8 characters"
            )
        latest[item.pin] = item
    return list(latest.values())


def upsert_properties(
    connection: Connection, roll_year: int, run_id: int, items: Sequence[CleanProperty]
) -> UpsertCounts:
    """Insert new properties and update changed ones, keyed by (roll_year, pin), with history.

    Every property in `items` counts as seen by run `run_id` (see
    `store.sightings.last_seen_run_id`) and loses its not-seen mark. Only inserted or
    changed rows are written, and only changed rows get a new `updated_at`.
    `property_change_rows` gets a row per changed tracked field and a 'seen_again' row
    per property that was marked not seen. A new property's row is its 'new' change.

    A new property's first owner is its only owner. When the first owner changes, the
    owners are replaced by it unless a details page was saved. In that case the details
    owners stay and `details_fetched_at` is set to NULL, so the details are fetched again.
    NOTE: a second first-owner change before that fetch replaces the details owners.

    Writers of one roll year take turns (`lock_property_writes`) until the caller's
    transaction ends. Temporary tables are dropped at commit, so `connection` must be
    inside a transaction. When `items` lists a pin more than once, the last entry wins
    and the pin is counted once. Raises ValueError for a rate number that is not 8
    characters long and LookupError for an unknown run, before anything is written.
    """
    rows = _latest_by_pin(items)
    if not rows:
        return UpsertCounts()
    require_run(connection, run_id)
    lock_property_writes(connection, roll_year)
    if connection.execute(STALE_STATISTICS).scalar_one():
        connection.execute(ANALYZE_PROPERTIES)

    parameters = {"roll_year": roll_year, "run_id": run_id}
    # The first load of a roll year needs no comparison, because every row is new.
    if not connection.execute(ANY_STORED, parameters).scalar_one():
        _copy_new(connection, roll_year, run_id, rows)
        return UpsertCounts(inserted=len(rows))

    stage_properties(connection, rows)
    connection.execute(CREATE_CHANGED)
    connection.execute(CLEAR_CHANGED)
    inserted = updated = 0
    if connection.execute(SELECT_CHANGED, parameters).rowcount:
        connection.execute(ANALYZE_CHANGED)
        connection.execute(RECORD_CHANGES, parameters)
        connection.execute(MOVE_NEW_CHANGES, parameters)
        connection.execute(DELETE_REPLACED_OWNERS, parameters)
        updated = int(connection.execute(UPDATE_CHANGED, parameters).scalar_one())
        inserted = connection.execute(INSERT_NEW, parameters).rowcount
    connection.execute(RECORD_SEEN, parameters)
    return UpsertCounts(inserted, updated, len(rows) - inserted - updated)


def _copy_new(
    connection: Connection, roll_year: int, run_id: int, rows: list[CleanProperty]
) -> None:
    driver = driver_connection(connection)
    with driver.cursor() as cursor, cursor.copy(COPY_NEW) as copy:
        for item in sorted(rows, key=_pin):
            copy.write_row((*copy_row(item), roll_year, run_id))


def _pin(item: CleanProperty) -> int:
    return item.pin


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
    if names:
        _replace_owners(connection, roll_year, pin, names)
    else:
        _keep_first_owner(connection, roll_year, pin)
    _copy_owner_names(connection, roll_year, pin)


def _replace_owners(connection: Connection, roll_year: int, pin: int, names: list[str]) -> None:
    connection.execute(delete(owners).where(owners.c.roll_year == roll_year, owners.c.pin == pin))
    connection.execute(
        owners.insert(),
        [
            {"roll_year": roll_year, "pin": pin, "position": position, "name": name}
            for position, name in enumerate(names, start=1)
        ],
    )


def _keep_first_owner(connection: Connection, roll_year: int, pin: int) -> None:
    """Store the first owner as the only owner row of a property that has no owner rows.

    Without the row, a later first-owner change would replace the owner that this saved
    details page kept.
    """
    has_owners = exists().where(owners.c.roll_year == roll_year, owners.c.pin == pin)
    first_owner = select(
        properties.c.roll_year, properties.c.pin, literal(1), properties.c.first_owner
    ).where(
        properties.c.roll_year == roll_year,
        properties.c.pin == pin,
        properties.c.first_owner.is_not(None),
        ~has_owners,
    )
    connection.execute(
        owners.insert().from_select(["roll_year", "pin", "position", "name"], first_owner)
    )


def _copy_owner_names(connection: Connection, roll_year: int, pin: int) -> None:
    """Copy the owner rows of a property into `properties.owner_names` for text search."""
    names = (
        select(func.string_agg(owners.c.name, aggregate_order_by(literal("\n"), owners.c.position)))
        .where(owners.c.roll_year == roll_year, owners.c.pin == pin)
        .scalar_subquery()
    )
    connection.execute(
        update(properties)
        .where(properties.c.roll_year == roll_year, properties.c.pin == pin)
        .values(owner_names=names)
    )
