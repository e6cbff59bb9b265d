"""SQL statements of `upsert_properties`, run against the staging table of one batch.

The statements are assembled from the column-name constants of this package only;
every value is a bound parameter (:roll_year, :run_id), hence the S608 exceptions.
"""

from __future__ import annotations

from sqlalchemy import text

from durban_valuations.store.staging import DATA_COLUMNS, STAGING_TABLE
from durban_valuations.store.tables import TRACKED_FIELDS

_KEY = "p.roll_year = :roll_year AND p.pin = s.pin"
_DIFFERS = (
    f"({', '.join(f'p.{name}' for name in DATA_COLUMNS)}) "
    f"IS DISTINCT FROM ({', '.join(f's.{name}' for name in DATA_COLUMNS)})"
)
_FIELD_CHANGES = ",\n".join(
    f"({position}, '{name}', p.{name} IS DISTINCT FROM s.{name}, p.{name}::text, s.{name}::text)"
    for position, name in enumerate(TRACKED_FIELDS, start=2)
)

# Properties whose first owner changes and whose details page was never saved: their
# owners list is the first owner alone, so it is replaced by the new first owner.
_OWNER_REPLACED = """
    p.roll_year = :roll_year AND p.pin = s.pin
    AND p.first_owner IS DISTINCT FROM s.first_owner AND p.details_fetched_at IS NULL
"""
DELETE_REPLACED_OWNERS = text(f"""
DELETE FROM owners
WHERE roll_year = :roll_year AND pin IN (
    SELECT s.pin FROM {STAGING_TABLE} s JOIN properties p ON {_OWNER_REPLACED}
)
""")  # noqa: S608
INSERT_REPLACED_OWNERS = text(f"""
INSERT INTO owners (roll_year, pin, position, name)
SELECT :roll_year, s.pin, 1, s.first_owner
FROM {STAGING_TABLE} s JOIN properties p ON {_OWNER_REPLACED}
WHERE s.first_owner IS NOT NULL
""")  # noqa: S608

# One row per changed tracked field, one 'new' row per new property and one 'seen_again'
# row per property that a run had marked not seen. Fields are compared with their own
# types, so 12.5 and 12.50 are the same extent, and stored as text. This runs as a
# sub-statement of UPSERT, so it reads the properties as they were before the upsert,
# and the foreign key of a 'new' row is checked after its property is inserted.
_RECORD_CHANGES = f"""
INSERT INTO property_changes (roll_year, pin, roll, rate_number, run_id, kind, old_value, new_value)
SELECT :roll_year, pin, roll, rate_number, :run_id, kind, old_value, new_value
FROM (
    SELECT s.pin, s.roll, s.rate_number, 1 AS position, 'new' AS kind,
           NULL::text AS old_value, NULL::text AS new_value
    FROM {STAGING_TABLE} s
    WHERE NOT EXISTS (SELECT FROM properties p WHERE {_KEY})
    UNION ALL
    SELECT s.pin, s.roll, s.rate_number, c.position, c.kind, c.old_value, c.new_value
    FROM {STAGING_TABLE} s
    JOIN properties p ON {_KEY}
    CROSS JOIN LATERAL (VALUES
        {_FIELD_CHANGES},
        (99, 'seen_again', p.not_seen_since_run_id IS NOT NULL,
         p.not_seen_since_run_id::text, NULL)
    ) AS c (position, kind, changed, old_value, new_value)
    WHERE c.changed AND ({_DIFFERS} OR p.not_seen_since_run_id IS NOT NULL)
) AS changes
ORDER BY pin, position
"""  # noqa: S608

_SET_DATA = ", ".join(f"{name} = excluded.{name}" for name in DATA_COLUMNS)
_STORED = ", ".join(f"properties.{name}" for name in DATA_COLUMNS)
_INCOMING = ", ".join(f"excluded.{name}" for name in DATA_COLUMNS)
# Records the changes, then inserts new properties and updates changed ones. Unchanged
# rows are left out before the insert, so they are neither locked nor written here and
# keep their updated_at. ON CONFLICT covers a property inserted meanwhile by another
# transaction. A changed first owner makes saved
# details stale: the details owners stay, but details_fetched_at becomes NULL so the
# details page is fetched again. New properties get their first owner as their only
# owner in the same statement.
UPSERT = text(f"""
WITH changes AS ({_RECORD_CHANGES}),
written AS (
    INSERT INTO properties ({", ".join(DATA_COLUMNS)}, roll_year,
                            first_seen_run_id, last_seen_run_id)
    SELECT {", ".join(f"s.{name}" for name in DATA_COLUMNS)}, :roll_year, :run_id, :run_id
    FROM {STAGING_TABLE} s LEFT JOIN properties p ON {_KEY}
    WHERE p.pin IS NULL OR {_DIFFERS}
    ON CONFLICT (roll_year, pin) DO UPDATE SET
        {_SET_DATA},
        last_seen_run_id = excluded.last_seen_run_id,
        not_seen_since_run_id = NULL,
        updated_at = now(),
        details_fetched_at = CASE
            WHEN properties.first_owner IS DISTINCT FROM excluded.first_owner THEN NULL
            ELSE properties.details_fetched_at
        END
    WHERE ({_STORED}) IS DISTINCT FROM ({_INCOMING})
    RETURNING pin, first_owner, xmax = 0 AS inserted
), first_owners AS (
    INSERT INTO owners (roll_year, pin, position, name)
    SELECT :roll_year, pin, 1, first_owner FROM written
    WHERE inserted AND first_owner IS NOT NULL
)
SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) AS written FROM written
""")  # noqa: S608

# Unchanged properties: record the run that saw them and clear a not-seen mark.
MARK_SEEN = text(f"""
UPDATE properties p SET last_seen_run_id = :run_id, not_seen_since_run_id = NULL
FROM {STAGING_TABLE} s
WHERE {_KEY} AND (p.last_seen_run_id <> :run_id OR p.not_seen_since_run_id IS NOT NULL)
""")  # noqa: S608
