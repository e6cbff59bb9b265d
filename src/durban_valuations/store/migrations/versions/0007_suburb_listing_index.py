"""An index that serves one suburb's listing in rate-number order.

Revision ID: 0007
Revises: 0006

`GET /properties?suburb=NAME` filters on lower(suburb) and sorts by rate number and pin
(the default order) and takes the first page. With an index on lower(suburb) alone,
PostgreSQL either walks the rate-number index and filters every row by suburb, or reads
every row of the suburb and sorts them; both grow with the table. An index on
(lower(suburb), rate_number, pin) returns the first page in order by reading only that
page. It also serves every equality search on lower(suburb), so it replaces
`ix_properties_suburb_lower`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the suburb listing index, then drop the index it replaces."""
    op.create_index(
        "ix_properties_suburb_lower_rate_number",
        "properties",
        [sa.text("lower(suburb)"), "rate_number", "pin"],
    )
    op.drop_index("ix_properties_suburb_lower", table_name="properties")


def downgrade() -> None:
    """Restore the index on lower(suburb) alone."""
    op.create_index("ix_properties_suburb_lower", "properties", [sa.text("lower(suburb)")])
    op.drop_index("ix_properties_suburb_lower_rate_number", table_name="properties")
