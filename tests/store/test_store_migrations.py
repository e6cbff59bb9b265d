"""Migrations: upgrade from an empty database, and agree with the table definitions."""

from __future__ import annotations

import importlib

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from durban_valuations.config.settings import Settings
from durban_valuations.store.database import (
    DatabaseUrlError,
    make_engine,
    normalize_database_url,
    resolve_database_url,
)
from durban_valuations.store.migrations import (
    alembic_config,
    current_revision,
    head_revision,
    revision_of,
    upgrade_database,
)
from durban_valuations.store.tables import Base

# Table models that live beside the code that uses them register on Base when imported.
importlib.import_module("durban_valuations.alerts.incidents")
importlib.import_module("durban_valuations.store.run_parts")


def test_upgrade_from_empty_database(empty_database_url: str) -> None:
    assert current_revision(empty_database_url) is None

    assert upgrade_database(empty_database_url) == head_revision()

    assert current_revision(empty_database_url) == head_revision()
    engine = make_engine(empty_database_url)
    try:
        tables = set(inspect(engine).get_table_names())
        views = set(inspect(engine).get_view_names())
    finally:
        engine.dispose()
    assert {
        "properties",
        "owners",
        "scrape_runs",
        "property_change_rows",
        "crawl_searches",
        "run_sightings",
        "alembic_version",
    } <= tables
    assert views == {"property_changes"}


def test_upgrade_twice_is_noop(database_url: str) -> None:
    assert upgrade_database(database_url) == head_revision()
    assert current_revision(database_url) == head_revision()


def test_downgrade_to_first_and_back(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
            tables = set(inspect(connection).get_table_names())
            assert revision_of(connection) == "0001"
    finally:
        engine.dispose()

    assert "property_changes" not in tables
    assert "crawl_searches" not in tables
    assert upgrade_database(database_url) == head_revision()


def test_migrations_match_tables(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_no_extensions_installed(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            names = connection.execute(text("SELECT extname FROM pg_extension")).scalars().all()
    finally:
        engine.dispose()
    assert names == ["plpgsql"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://user:secret@db:5432/roll", "postgresql+psycopg://user:secret@db:5432/roll"),
        ("postgres://user@db/roll", "postgresql+psycopg://user@db/roll"),
        ("postgresql+psycopg://user@db/roll", "postgresql+psycopg://user@db/roll"),
    ],
)
def test_normalize_accepted_schemes(given: str, expected: str) -> None:
    assert normalize_database_url(given) == expected


@pytest.mark.parametrize("given", ["sqlite:///roll.db", "mysql://u:secret@db/roll", "db/roll"])
def test_normalize_rejects_other_schemes(given: str) -> None:
    with pytest.raises(DatabaseUrlError, match="DATABASE_URL") as raised:
        normalize_database_url(given)
    assert "secret" not in str(raised.value)
    assert "postgresql://" in str(raised.value)


def test_resolve_uses_database_url() -> None:
    settings = Settings(_env_file=None, database_url="postgres://user@db/roll")
    assert resolve_database_url(settings) == "postgresql+psycopg://user@db/roll"
