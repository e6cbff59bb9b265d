"""Properties a run reached: sightings per covering dimension, not-seen marks, and the
properties whose details page is still to fetch.

Every function runs on the caller's connection and does not commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, select, text

from durban_valuations.store.runs import covered_rolls, get_run
from durban_valuations.store.tables import ROLLS, properties

# run_sightings.dimensions is a smallint, so bit 14 is the highest one that stays positive.
MAX_DIMENSION_BIT = 1 << 14

RECORD_SIGHTINGS = """
INSERT INTO run_sightings (run_id, roll_year, pin, dimensions)
SELECT :run_id, :roll_year, pin, :bit FROM unnest(CAST(:pins AS bigint[])) AS pin
ON CONFLICT (run_id, roll_year, pin)
DO UPDATE SET dimensions = run_sightings.dimensions | excluded.dimensions
"""

# The 'not_seen' change stores the id of the last run that saw the property as old_value.
MARK_NOT_SEEN = """
WITH marked AS (
    UPDATE properties SET not_seen_since_run_id = :run_id
    WHERE roll_year = :roll_year AND roll = ANY(:rolls)
      AND last_seen_run_id < :run_id AND not_seen_since_run_id IS NULL
    RETURNING roll_year, pin, roll, rate_number, last_seen_run_id
), changes AS (
    INSERT INTO property_changes (roll_year, pin, roll, rate_number, run_id, kind, old_value)
    SELECT roll_year, pin, roll, rate_number, :run_id, 'not_seen', last_seen_run_id::text
    FROM marked ORDER BY pin
)
SELECT count(*) FROM marked
"""


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
    bitwise OR of every dimension that reached it. Repeated pins count once. Returns the
    number of distinct pins. Raises ValueError unless `dimension_bit` is a single bit
    from 1 to MAX_DIMENSION_BIT.
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
    connection.execute(
        text(RECORD_SIGHTINGS),
        {"run_id": run_id, "roll_year": roll_year, "pins": distinct_pins, "bit": dimension_bit},
    )
    return len(distinct_pins)


def mark_not_seen(connection: Connection, roll_year: int, run_id: int, rolls: list[str]) -> int:
    """Mark the properties of `rolls` that run `run_id` did not see; return how many.

    A property is marked when its `last_seen_run_id` is lower than `run_id` and it is not
    marked already: `not_seen_since_run_id` becomes `run_id` and a 'not_seen' change is
    recorded. Nothing is deleted. Only a run that finished with status complete, is not
    suspect, belongs to `roll_year` and covered every roll in `rolls` may mark, because
    a partial crawl would mark properties it never searched for. Raises LookupError for
    an unknown run and ValueError for any other violated condition.
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
    parameters = {"roll_year": roll_year, "run_id": run_id, "rolls": checked}
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
