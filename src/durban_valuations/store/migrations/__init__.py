"""The Alembic migrations of the store, and functions that apply and inspect them."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from durban_valuations.store.database import make_engine

# Key of the transaction-level advisory lock that serializes concurrent upgrades,
# so two processes starting at once do not both create the tables.
_UPGRADE_LOCK_KEY = 0x64757262616E  # "durban" in ASCII


def migrations_path() -> Path:
    """Return the folder of the packaged migrations, found through the package, not the cwd."""
    return Path(str(resources.files("durban_valuations.store") / "migrations"))


def alembic_config() -> Config:
    """Build the Alembic config in code; no alembic.ini is read."""
    config = Config()
    config.set_main_option("script_location", str(migrations_path()))
    return config


@cache
def head_revision() -> str:
    """Return the newest revision of the packaged migrations."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {migrations_path()}")
    return head


def revision_of(connection: Connection) -> str | None:
    """Return the revision the database of `connection` is at, or None before any migration."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_database(url: str) -> str:
    """Upgrade the database at `url` to the newest revision and return that revision."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            lock = text("SELECT pg_advisory_xact_lock(:key)")
            connection.execute(lock, {"key": _UPGRADE_LOCK_KEY})
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            revision = revision_of(connection)
    finally:
        engine.dispose()
    if revision is None:
        raise RuntimeError("the upgrade finished but the database has no Alembic revision")
    return revision


def current_revision(url: str) -> str | None:
    """Return the revision of the database at `url`, or None when it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return revision_of(connection)
    finally:
        engine.dispose()
