"""Full-text search over properties and a street-name prefix index.

Revision ID: 0006
Revises: 0005

* `properties.owner_names` copies the names of the property's owner rows, one per
  line in position order, or is NULL when it has none. A generated column can read
  only its own row, so the owner names must be on the row to be searchable. The
  writers of owner rows (`store.upsert`) keep this column in step with them.
* `properties.search_vector` is a stored generated tsvector over the address,
  scheme name, owners and legal description, with a GIN index. Ranking reads the
  stored vector, so a search does not parse the text of every match again.
* `ix_properties_street_name_prefix` is a B-tree on lower(street_name) with
  text_pattern_ops, so `LIKE 'prefix%'` uses it in any database collation.

Adding the generated column rewrites the table, which takes an exclusive lock on it
for as long as the rewrite runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same expression as `store.tables.SEARCH_VECTOR`. A migration keeps its own copy,
# so that a later change to the table definition does not change this revision.
SEARCH_VECTOR = """
setweight(to_tsvector('simple'::regconfig, coalesce(address, '')), 'A')
|| setweight(to_tsvector('simple'::regconfig, coalesce(scheme_name, '')), 'A')
|| setweight(to_tsvector('simple'::regconfig, CASE
       WHEN owner_names IS NULL THEN coalesce(first_owner, '')
       WHEN split_part(owner_names, E'\\n', 1) = first_owner THEN owner_names
       ELSE coalesce(first_owner, '') || E'\\n' || owner_names
   END), 'B')
|| setweight(to_tsvector('simple'::regconfig, coalesce(legal_description, '')), 'C')
"""

COPY_OWNER_NAMES = """
UPDATE properties p SET owner_names = o.names
FROM (
    SELECT roll_year, pin, string_agg(name, E'\\n' ORDER BY position) AS names
    FROM owners GROUP BY roll_year, pin
) o
WHERE p.roll_year = o.roll_year AND p.pin = o.pin
"""


def upgrade() -> None:
    op.add_column("properties", sa.Column("owner_names", sa.Text(), nullable=True))
    op.execute(COPY_OWNER_NAMES)
    op.add_column(
        "properties",
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(SEARCH_VECTOR, persisted=True),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_properties_search_vector",
        "properties",
        ["search_vector"],
        postgresql_using="gin",
    )
    op.create_index(
        "ix_properties_street_name_prefix",
        "properties",
        [sa.text("lower(street_name) text_pattern_ops")],
    )


def downgrade() -> None:
    op.drop_index("ix_properties_street_name_prefix", table_name="properties")
    op.drop_index("ix_properties_search_vector", table_name="properties")
    op.drop_column("properties", "search_vector")
    op.drop_column("properties", "owner_names")
