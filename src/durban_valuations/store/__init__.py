"""PostgreSQL storage: tables, migrations, upserts, scrape-run records and read queries."""

# Registers the run_parts table on the shared metadata, so migrations compare against it.
from durban_valuations.store import run_parts as _run_parts  # noqa: F401
