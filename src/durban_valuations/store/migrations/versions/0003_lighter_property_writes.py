"""Write less per property: no 'new' change rows, owner rows or last-seen rewrites.

Revision ID: 0003
Revises: 0002

What changes, and why each change keeps the stored facts:

* A 'new' change is the `properties` row itself. `properties.new_change_id` takes its id
  from the sequence of `property_changes.id`, `created_at` is its time, and
  `first_seen_run_id` its run. Stored 'new' rows that match their property on all of
  these (and on roll and rate number) move into that column. Any other 'new' row stays
  stored, where the history queries still read it.
* The table `property_changes` becomes `property_change_rows`, and a view named
  `property_changes` lists its rows and the 'new' changes of `properties`. SQL that
  reads `property_changes` therefore sees every change as before; writes go to the
  table.
* The last run that saw a property is the newest of `first_seen_run_id` and the runs of
  its `run_sightings` rows, so `properties.last_seen_run_id` is dropped. Before that,
  every property gets a sighting (with no dimension bits) in its last-seen run.
* A property without owner rows has its first owner as its only owner, so the owner row
  that repeats the first owner of a property without a saved details page is deleted.
  While `details_fetched_at` is NULL, the next first-owner change would replace that
  row anyway.
* Foreign keys to `scrape_runs` are dropped. No code of this project deletes a run,
  and the functions that write a run id check once per call that the run exists,
  instead of a trigger per written row. The foreign keys from `owners` and `property_change_rows` to
  `properties` stay: they cost little now that few rows are written to those tables.
* Two indexes that no query uses are dropped. The street filter matches substrings,
  which `ix_properties_street_name_lower` (a B-tree on lower(street_name)) cannot serve,
  and no query selects by `not_seen_since_run_id`. `ix_properties_new_change` pages
  through 'new' changes by time.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANGE_ID_DEFAULT = "nextval('property_changes_id_seq')"
# (name, table, referencing column, ON DELETE action); all reference scrape_runs.id.
RUN_FOREIGN_KEYS = (
    ("fk_properties_first_seen_run", "properties", "first_seen_run_id", None),
    ("fk_properties_last_seen_run", "properties", "last_seen_run_id", None),
    ("fk_properties_not_seen_since_run", "properties", "not_seen_since_run_id", None),
    ("fk_property_changes_run", "property_changes", "run_id", None),
    ("fk_run_sightings_run", "run_sightings", "run_id", "CASCADE"),
)

MOVE_NEW_CHANGES = """
UPDATE properties p SET new_change_id = c.id
FROM property_changes c
WHERE c.kind = 'new' AND c.roll_year = p.roll_year AND c.pin = p.pin
  AND c.run_id = p.first_seen_run_id AND c.changed_at = p.created_at
  AND c.roll = p.roll AND c.rate_number = p.rate_number
  AND c.old_value IS NULL AND c.new_value IS NULL
"""
DELETE_MOVED_CHANGES = """
DELETE FROM property_changes c USING properties p WHERE c.id = p.new_change_id
"""
CREATE_CHANGES_VIEW = """
CREATE VIEW property_changes AS
SELECT id, roll_year, pin, roll, rate_number, run_id, changed_at, kind, old_value, new_value
FROM property_change_rows
UNION ALL
SELECT new_change_id, roll_year, pin, roll, rate_number, first_seen_run_id, created_at,
       'new', NULL, NULL
FROM properties WHERE new_change_id IS NOT NULL
"""
RECORD_LAST_SIGHTINGS = """
INSERT INTO run_sightings (run_id, roll_year, pin, dimensions)
SELECT last_seen_run_id, roll_year, pin, 0 FROM properties
WHERE last_seen_run_id > first_seen_run_id
ON CONFLICT (run_id, roll_year, pin) DO NOTHING
"""
DELETE_FIRST_OWNER_ROWS = """
DELETE FROM owners o USING properties p
WHERE o.roll_year = p.roll_year AND o.pin = p.pin
  AND o.position = 1 AND o.name = p.first_owner AND p.details_fetched_at IS NULL
  AND NOT EXISTS (
      SELECT FROM owners other
      WHERE other.roll_year = o.roll_year AND other.pin = o.pin AND other.position <> 1
  )
"""

# Downgrade: the same facts in the layout of revision 0002.
INSERT_FIRST_OWNER_ROWS = """
INSERT INTO owners (roll_year, pin, position, name)
SELECT p.roll_year, p.pin, 1, p.first_owner FROM properties p
WHERE p.first_owner IS NOT NULL
  AND NOT EXISTS (SELECT FROM owners o WHERE o.roll_year = p.roll_year AND o.pin = p.pin)
"""
SET_LAST_SEEN = """
UPDATE properties p
SET last_seen_run_id = greatest(p.first_seen_run_id, (
    SELECT max(s.run_id) FROM run_sightings s WHERE s.roll_year = p.roll_year AND s.pin = p.pin
))
"""
RESTORE_NEW_CHANGES = """
INSERT INTO property_changes (id, roll_year, pin, roll, rate_number, run_id, changed_at, kind)
SELECT new_change_id, roll_year, pin, roll, rate_number, first_seen_run_id, created_at, 'new'
FROM properties WHERE new_change_id IS NOT NULL
"""


def upgrade() -> None:
    op.add_column("properties", sa.Column("new_change_id", sa.BigInteger(), nullable=True))
    op.execute(MOVE_NEW_CHANGES)
    op.execute(DELETE_MOVED_CHANGES)
    # Set after the column exists, so existing rows keep NULL instead of drawing ids.
    op.alter_column("properties", "new_change_id", server_default=sa.text(CHANGE_ID_DEFAULT))

    op.execute(RECORD_LAST_SIGHTINGS)
    for name, table, _, _ in RUN_FOREIGN_KEYS:
        op.drop_constraint(name, table, type_="foreignkey")
    op.drop_column("properties", "last_seen_run_id")

    op.rename_table("property_changes", "property_change_rows")
    op.execute(CREATE_CHANGES_VIEW)

    op.execute(DELETE_FIRST_OWNER_ROWS)

    op.drop_index("ix_properties_street_name_lower", table_name="properties")
    op.drop_index("ix_properties_not_seen_since_run_id", table_name="properties")
    op.create_index("ix_properties_new_change", "properties", ["created_at", "new_change_id"])


def downgrade() -> None:
    op.execute("DROP VIEW property_changes")
    op.rename_table("property_change_rows", "property_changes")

    op.drop_index("ix_properties_new_change", table_name="properties")
    op.create_index("ix_properties_not_seen_since_run_id", "properties", ["not_seen_since_run_id"])
    op.create_index(
        "ix_properties_street_name_lower", "properties", [sa.text("lower(street_name)")]
    )

    op.execute(INSERT_FIRST_OWNER_ROWS)

    op.add_column("properties", sa.Column("last_seen_run_id", sa.Integer(), nullable=True))
    op.execute(SET_LAST_SEEN)
    op.alter_column("properties", "last_seen_run_id", nullable=False)
    op.execute("DELETE FROM run_sightings WHERE dimensions = 0")
    for name, table, column, on_delete in RUN_FOREIGN_KEYS:
        op.create_foreign_key(name, table, "scrape_runs", [column], ["id"], ondelete=on_delete)

    op.execute(RESTORE_NEW_CHANGES)
    op.alter_column("properties", "new_change_id", server_default=None)
    op.drop_column("properties", "new_change_id")
