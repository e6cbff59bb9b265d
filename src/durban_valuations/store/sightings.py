"""Properties a run reached: sightings per covering dimension, the last run that saw a
property, not-seen marks, and the properties whose details page is still to fetch.

A run saw a property when it stored the property first (`first_seen_run_id`) or has a
`run_sightings` row of it. Every function runs on the caller's connection and does not
commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, Connection, exists, func, select, text

from durban_valuations.store.locks import lock_property_writes
from durban_valuations.store.runs import covered_rolls, get_run, require_run
from durban_valuations.store.tables import ROLLS, properties, run_sightings, scrape_runs

# run_sightings.dimensions is a smallint, so bit 14 is the highest one that stays positive.
MAX_DIMENSION_BIT = 1 << 14

RECORD_SIGHTINGS = """
INSERT INTO run_sightings (run_id, roll_year, pin, dimensions)
SELECT :run_id, :roll_year, pin, :bit FROM unnest(CAST(:pins AS bigint[])) AS pin
ON CONFLICT (run_id, roll_year, pin)
DO UPDATE SET dimensions = run_sightings.dimensions | excluded.dimensions
"""

# :later_runs are the ids of run :run_id and of every newer run. Each is an equality
# probe of the run_sightings primary key, so no run's sightings are scanned per property.
# The 'not_seen' change stores the id of the last run that saw the property as old_value.
# A marked property has no sighting from :run_id on, so that run is older than :run_id.
MARK_NOT_SEEN = """
WITH marked AS (
    UPDATE properties p SET not_seen_since_run_id = :run_id
    WHERE p.roll_year = :roll_year AND p.roll = ANY(:rolls)
      AND p.not_seen_since_run_id IS NULL AND p.first_seen_run_id < :run_id
      AND NOT EXISTS (
          SELECT FROM run_sightings s
          WHERE s.run_id = ANY(CAST(:later_runs AS integer[]))
            AND s.roll_year = p.roll_year AND s.pin = p.pin
      )
    RETURNING p.roll_year, p.pin, p.roll, p.rate_number, p.first_seen_run_id
), changes AS (
    INSERT INTO property_change_rows (roll_year, pin, roll, rate_number, run_id, kind, old_value)
    SELECT m.roll_year, m.pin, m.roll, m.rate_number, :run_id, 'not_seen',
           greatest(m.first_seen_run_id, (
               SELECT r.id FROM scrape_runs r
               WHERE r.id > m.first_seen_run_id AND r.id < :run_id
                 AND EXISTS (
                     SELECT FROM run_sightings s
                     WHERE s.run_id = r.id AND s.roll_year = m.roll_year AND s.pin = m.pin
                 )
               ORDER BY r.id DESC LIMIT 1
           ))::text
    FROM marked m ORDER BY m.pin
)
SELECT count(*) FROM marked
"""


def last_seen_run_id() -> ColumnElement[int]:
    """Return SQL for the last run that saw the `properties` row of the enclosing query.

    That is the newest of the property's first run and the runs with a sighting of it.
    Runs are walked newest first with one primary-key probe of `run_sightings` each,
    because no index of that table starts with the pin. A property that a recent run saw
    takes few probes, one that no run saw for a long time one probe per newer run.
    """
    sighted = (
        exists()
        .where(
            run_sightings.c.run_id == scrape_runs.c.id,
            run_sightings.c.roll_year == properties.c.roll_year,
            run_sightings.c.pin == properties.c.pin,
        )
        .correlate(scrape_runs, properties)
    )
    newest_sighting = (
        select(scrape_runs.c.id)
        .where(scrape_runs.c.id > properties.c.first_seen_run_id, sighted)
        .order_by(scrape_runs.c.id.desc())
        .limit(1)
        .correlate(properties)
        .scalar_subquery()
    )
    return func.greatest(properties.c.first_seen_run_id, newest_sighting)


def _check_rolls(rolls: Iterable[str]) -> list[str]:
    checked = list(rolls)
    for roll in checked:
        if roll not in ROLLS:
            raise ValueError(f"invalid roll {roll!r}: expected one of {', '.join(ROLLS)}")
    return checked


def record_sightings(
    connection: Connection, run_id: int, roll_year: int, pins: Iterable[int], dimension_bit: int
) -> int:
    """Record that the searches of one covering dimension reached `pins` in a run.

    A pin seen before in the run keeps its earlier bits, so `dimensions` ends as the
    bitwise OR of every dimension that reached it. Repeated pins count once. Takes the
    property write lock of `roll_year` until the transaction ends. Returns the number
    of distinct pins. Raises ValueError unless `dimension_bit` is a single bit
    from 1 to MAX_DIMENSION_BIT, and LookupError for an unknown run.
    """
    single_bit = dimension_bit & (dimension_bit - 1) == 0
    if not (1 <= dimension_bit <= MAX_DIMENSION_BIT and single_bit):
        raise ValueError(
            f"invalid dimension bit {dimension_bit}: expected a power of two "
            f"from 1 to {MAX_DIMENSION_BIT}"
        )
    # ON CONFLICT DO UPDATE rejects a statement that reaches the same row twice.
    distinct_pins = sorted(set(pins))
    if not distinct_pins:
        return 0
    require_run(connection, run_id)
    lock_property_writes(connection, roll_year)
    connection.execute(
        text(RECORD_SIGHTINGS),
        {"run_id": run_id, "roll_year": roll_year, "pins": distinct_pins, "bit": dimension_bit},
    )
    return len(distinct_pins)


def mark_not_seen(connection: Connection, roll_year: int, run_id: int, rolls: list[str]) -> int:
    """Mark the properties of `rolls` that run `run_id` did not see; return how many.

    A property is marked when the last run that saw it (`last_seen_run_id`) is older
    than `run_id` and it is not marked already: `not_seen_since_run_id` becomes `run_id`
    and a 'not_seen' change is recorded. Nothing is deleted. Only a run that finished
    with status complete, is not suspect, belongs to `roll_year` and covered every roll
    in `rolls` may mark, because a partial crawl would mark properties it never searched
    for. Raises LookupError for an unknown run and ValueError for any other violated
    condition.
    """
    checked = _check_rolls(rolls)
    run = get_run(connection, run_id)
    if run is None:
        raise LookupError(f"scrape run {run_id} not found")
    if run.status != "complete" or run.suspect:
        state = "suspect" if run.status == "complete" else f"status {run.status!r}"
        raise ValueError(
            f"scrape run {run_id} has {state}; only a complete run that is not suspect "
            "can mark properties as not seen"
        )
    if run.roll_year != roll_year:
        raise ValueError(f"scrape run {run_id} scraped the {run.roll_year} roll, not {roll_year}")
    missing = sorted(set(checked) - covered_rolls(run.rolls))
    if missing:
        raise ValueError(
            f"scrape run {run_id} covered rolls={run.rolls!r}, not {', '.join(missing)}"
        )
    if not checked:
        return 0
    later_runs = select(scrape_runs.c.id).where(scrape_runs.c.id >= run_id)
    parameters = {
        "roll_year": roll_year,
        "run_id": run_id,
        "rolls": checked,
        "later_runs": list(connection.execute(later_runs).scalars()),
    }
    return int(connection.execute(text(MARK_NOT_SEEN), parameters).scalar_one())


def properties_needing_details(
    connection: Connection, roll_year: int, rolls: Sequence[str], limit: int
) -> list[tuple[int, str]]:
    """Return up to `limit` (pin, details_href) pairs, by pin, whose details page is due.

    A property is due when its details were never saved or were marked stale, and it is
    not marked as not seen.
    """
    if limit < 1:
        raise ValueError(f"invalid limit {limit}: expected at least 1")
    checked = _check_rolls(rolls)
    statement = (
        select(properties.c.pin, properties.c.details_href)
        .where(
            properties.c.roll_year == roll_year,
            properties.c.roll.in_(checked),
            properties.c.details_fetched_at.is_(None),
            properties.c.not_seen_since_run_id.is_(None),
        )
        .order_by(properties.c.pin)
        .limit(limit)
    )
    return [(row.pin, row.details_href) for row in connection.execute(statement)]
