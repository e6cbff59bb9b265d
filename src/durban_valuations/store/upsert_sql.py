"""SQL statements of `upsert_properties`.

The first load of a roll year goes straight into `properties` with COPY_NEW. Any later
batch is loaded into STAGING_TABLE and compared with the stored rows. CHANGED_TABLE then
contains the few staged properties that are new, changed or marked not seen, beside the
stored values that the history needs. The statements that write history, update and
insert rows read it instead of the whole batch.

Statistics of `properties` are missing or stale after large loads: in a fresh
database, after the first load of a new roll year, or when autovacuum analyzed the
table while a load was still uncommitted and recorded 0 rows. With such statistics
PostgreSQL 16 expected a handful of rows, and lookups of 100,000 pins ran for minutes:
as a filter that searched the array of pins once per stored row, or as a scan of
ix_properties_registered_extent (whose first column is not the pin) per pin. So
STALE_STATISTICS triggers ANALYZE_PROPERTIES when the table outgrew its statistics,
stored rows are looked up one key at a time in a LATERAL subquery (OFFSET 0 keeps it
from being merged into a join), and joins with CHANGED_TABLE compare `roll_year`
column to column instead of to a constant.

The statements are assembled from the column-name constants of this package only;
every value is a bound parameter (:roll_year, :run_id), hence the S608 exceptions.
"""

from __future__ import annotations

from sqlalchemy import text

from durban_valuations.store.staging import DATA_COLUMNS, STAGING_TABLE
from durban_valuations.store.tables import TRACKED_FIELDS

CHANGED_TABLE = "property_changed"

# True when properties has rows but its statistics count none, or when it has more
# than doubled in pages since it was last analyzed (tables under 1 MB excepted).
STALE_STATISTICS = text("""
SELECT pages > 0 AND (c.reltuples <= 0 OR pages > greatest(2 * c.relpages, 128))
FROM pg_class c
CROSS JOIN LATERAL (
    SELECT pg_relation_size(c.oid) / current_setting('block_size')::bigint AS pages
) AS size
WHERE c.oid = 'properties'::regclass
""")
# The joins need the row count and the key columns only; statistics of every column
# would take many times longer.
ANALYZE_PROPERTIES = text("ANALYZE properties (roll_year, pin)")

ANY_STORED = text("SELECT EXISTS (SELECT FROM properties WHERE roll_year = :roll_year)")

# New properties, in pin order, so their 'new' change ids (the column default of
# new_change_id) follow the pins, as the ids of stored 'new' rows did before.
COPY_NEW = f"COPY properties ({', '.join(DATA_COLUMNS)}, roll_year, first_seen_run_id) FROM STDIN"

# Stored values that CHANGED_TABLE keeps beside the incoming row, named stored_<column>.
_STORED_DATA = ("roll", "rate_number", *TRACKED_FIELDS)
_STORED_STATE = (
    "not_seen_since_run_id", "new_change_id", "created_at", "first_seen_run_id",
    "details_fetched_at",
)  # fmt: skip
_STORED_COLUMNS = ", ".join(
    [f"p.{name} AS stored_{name}" for name in _STORED_DATA]
    + [f"p.{name}" for name in _STORED_STATE]
)
_DIFFERS = (
    f"({', '.join(f'p.{name}' for name in DATA_COLUMNS)}) "
    f"IS DISTINCT FROM ({', '.join(f's.{name}' for name in DATA_COLUMNS)})"
)

CREATE_CHANGED = text(f"""
CREATE TEMP TABLE IF NOT EXISTS {CHANGED_TABLE} ON COMMIT DROP AS
SELECT s.*, p.roll_year, true AS stored, true AS data_changed, {_STORED_COLUMNS}
FROM {STAGING_TABLE} s, properties p
WITH NO DATA
""")  # noqa: S608
CLEAR_CHANGED = text(f"TRUNCATE {CHANGED_TABLE}")
# `stored` is false for a new property, and `data_changed` is false for a stored one
# that only needs its not-seen mark cleared. The LATERAL subquery finds the stored row
# by primary key (see the module docstring).
SELECT_CHANGED = text(f"""
INSERT INTO {CHANGED_TABLE}
SELECT s.*, :roll_year, p.pin IS NOT NULL, {_DIFFERS}, {_STORED_COLUMNS}
FROM {STAGING_TABLE} s
LEFT JOIN LATERAL (
    SELECT * FROM properties p WHERE p.roll_year = :roll_year AND p.pin = s.pin OFFSET 0
) AS p ON true
WHERE p.pin IS NULL OR {_DIFFERS} OR p.not_seen_since_run_id IS NOT NULL
""")  # noqa: S608
ANALYZE_CHANGED = text(f"ANALYZE {CHANGED_TABLE} (roll_year, pin, stored)")

_FIELD_CHANGES = ",\n    ".join(
    f"({position}, '{name}', s.stored_{name} IS DISTINCT FROM s.{name}, "
    f"s.stored_{name}::text, s.{name}::text)"
    for position, name in enumerate(TRACKED_FIELDS, start=2)
)
# One row per changed tracked field and one 'seen_again' row per property that a run
# had marked not seen. Fields are compared with their own types, so 12.5 and 12.50 are
# the same extent, and stored as text.
RECORD_CHANGES = text(f"""
INSERT INTO property_change_rows
    (roll_year, pin, roll, rate_number, run_id, kind, old_value, new_value)
SELECT s.roll_year, s.pin, s.roll, s.rate_number, :run_id, c.kind, c.old_value, c.new_value
FROM {CHANGED_TABLE} s
CROSS JOIN LATERAL (VALUES
    {_FIELD_CHANGES},
    (99, 'seen_again', s.not_seen_since_run_id IS NOT NULL, s.not_seen_since_run_id::text, NULL)
) AS c (position, kind, changed, old_value, new_value)
WHERE s.stored AND c.changed
ORDER BY s.pin, c.position
""")  # noqa: S608

_IDENTITY_CHANGED = "(s.stored_roll, s.stored_rate_number) IS DISTINCT FROM (s.roll, s.rate_number)"
# A 'new' change shows the roll and rate number that the property had when it was
# first stored. Before either changes, the change moves into property_change_rows
# with the values, id, time and run it had, and UPDATE_CHANGED clears new_change_id.
MOVE_NEW_CHANGES = text(f"""
INSERT INTO property_change_rows (id, roll_year, pin, roll, rate_number, run_id, changed_at, kind)
SELECT s.new_change_id, s.roll_year, s.pin, s.stored_roll, s.stored_rate_number,
       s.first_seen_run_id, s.created_at, 'new'
FROM {CHANGED_TABLE} s
WHERE s.stored AND s.new_change_id IS NOT NULL AND {_IDENTITY_CHANGED}
""")  # noqa: S608

# Owner rows exist only for properties whose details page was saved; without them the
# first owner is the only owner. When the first owner changes and no details page was
# saved since the last change, the rows go, so the new first owner takes their place.
# UPDATE_CHANGED clears `owner_names` under the same condition.
_OWNERS_REPLACED = (
    "s.stored_first_owner IS DISTINCT FROM s.first_owner AND s.details_fetched_at IS NULL"
)
DELETE_REPLACED_OWNERS = text(f"""
DELETE FROM owners o USING {CHANGED_TABLE} s
WHERE o.roll_year = s.roll_year AND o.pin = s.pin AND s.stored AND {_OWNERS_REPLACED}
""")  # noqa: S608

_SET_DATA = ",\n        ".join(f"{name} = s.{name}" for name in DATA_COLUMNS)
# Writes the changed properties and clears not-seen marks; returns how many changed.
# Only changed rows get a new updated_at. A changed first owner makes saved details
# stale: the details owners stay, but details_fetched_at becomes NULL so the details
# page is fetched again.
UPDATE_CHANGED = text(f"""
WITH updated AS (
    UPDATE properties p SET
        {_SET_DATA},
        not_seen_since_run_id = NULL,
        updated_at = CASE WHEN s.data_changed THEN now() ELSE p.updated_at END,
        details_fetched_at = CASE
            WHEN s.stored_first_owner IS DISTINCT FROM s.first_owner THEN NULL
            ELSE p.details_fetched_at
        END,
        new_change_id = CASE WHEN {_IDENTITY_CHANGED} THEN NULL ELSE p.new_change_id END,
        owner_names = CASE WHEN {_OWNERS_REPLACED} THEN NULL ELSE p.owner_names END
    FROM {CHANGED_TABLE} s
    WHERE p.roll_year = s.roll_year AND p.pin = s.pin AND s.stored
    RETURNING s.data_changed
)
SELECT count(*) FILTER (WHERE data_changed) FROM updated
""")  # noqa: S608

# New properties of a batch with stored ones; the order works as in COPY_NEW.
INSERT_NEW = text(f"""
INSERT INTO properties ({", ".join(DATA_COLUMNS)}, roll_year, first_seen_run_id)
SELECT {", ".join(f"s.{name}" for name in DATA_COLUMNS)}, s.roll_year, :run_id
FROM {CHANGED_TABLE} s
WHERE NOT s.stored
ORDER BY s.pin
""")  # noqa: S608

# A sighting without dimension bits for every stored property of the batch, unless the
# run has one already. For 100,000 pins on the machine of docs/benchmarks.md, ON
# CONFLICT DO NOTHING took 0.33 s and NOT EXISTS 0.20 s. NOT EXISTS is safe because
# writers of sightings hold lock_property_writes.
# A property that this run stored first in an earlier batch gets a sighting that it
# does not need, which is harmless.
RECORD_SEEN = text(f"""
INSERT INTO run_sightings (run_id, roll_year, pin, dimensions)
SELECT :run_id, :roll_year, s.pin, 0
FROM {STAGING_TABLE} s
WHERE NOT EXISTS (
    SELECT FROM {CHANGED_TABLE} c WHERE c.pin = s.pin AND NOT c.stored
) AND NOT EXISTS (
    SELECT FROM run_sightings r
    WHERE r.run_id = :run_id AND r.roll_year = :roll_year AND r.pin = s.pin
)
""")  # noqa: S608
