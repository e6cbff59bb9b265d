"""Alembic environment: migrates the connection that `upgrade_database` passes in.

Run through the `alembic` command line instead (for example
`alembic -c src/durban_valuations/store/alembic.ini revision --autogenerate -m "..."`),
it connects to DATABASE_URL, or to the embedded server when DATABASE_URL is unset.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from durban_valuations.config.settings import get_settings
from durban_valuations.store.database import make_engine, resolve_database_url
from durban_valuations.store.tables import Base


def run_on_connection(connection: Connection) -> None:
    """Run the pending migrations on `connection` inside one transaction."""
    context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate the connection handed over in the config, or connect from the settings."""
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        run_on_connection(connection)
        return

    engine = make_engine(resolve_database_url(get_settings()))
    try:
        with engine.begin() as own_connection:
            run_on_connection(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them against a database")
run_online()
