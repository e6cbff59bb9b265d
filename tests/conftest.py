"""Shared fixtures: one embedded PostgreSQL per test session, a fresh database per test.

The session migrates a template database once; each test that requests `database_url`
or `engine` gets its own copy (CREATE DATABASE ... TEMPLATE), so row counts are exact
and tests do not see each other's data.

With TEST_POSTGRES_URL set (a superuser URL of a running server, as in the GitHub
Actions workflow with its PostgreSQL service), the tests use that server instead of
starting one; their database names carry the process id, so reruns do not collide.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from pgserver.postgres_server import get_server
from sqlalchemy import Engine, make_url, text

from durban_valuations.clean.models import CleanProperty
from durban_valuations.site.models import Roll
from durban_valuations.store.database import make_engine, normalize_database_url
from durban_valuations.store.migrations import upgrade_database

TEMPLATE_DATABASE = f"durban_template_{os.getpid()}"
_database_numbers = itertools.count(1)


def _database_url(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLAlchemy URL of the `postgres` database of a PostgreSQL 16 started for this session.

    TEST_POSTGRES_URL names a running server to use instead.
    """
    external = os.environ.get("TEST_POSTGRES_URL")
    if external:
        yield normalize_database_url(external)
        return
    server = get_server(tmp_path_factory.mktemp("postgres") / "pgdata", cleanup_mode="delete")
    yield normalize_database_url(server.get_uri())
    server.cleanup()


@pytest.fixture(scope="session")
def admin_engine(postgres_server_url: str) -> Iterator[Engine]:
    """Autocommit engine on the server's `postgres` database, for CREATE/DROP DATABASE."""
    engine = make_engine(postgres_server_url).execution_options(isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def template_database(admin_engine: Engine, postgres_server_url: str) -> Iterator[str]:
    """Name of a database migrated to the newest revision, copied for each test."""
    with admin_engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {TEMPLATE_DATABASE}"))
    upgrade_database(_database_url(postgres_server_url, TEMPLATE_DATABASE))
    yield TEMPLATE_DATABASE
    with admin_engine.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE_DATABASE} WITH (FORCE)"))


def _create_database(admin_engine: Engine, server_url: str, template: str) -> Iterator[str]:
    name = f"test_{os.getpid()}_{next(_database_numbers)}"
    with admin_engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {template}"))
    yield _database_url(server_url, name)
    with admin_engine.connect() as connection:
        connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))


@pytest.fixture
def database_url(
    admin_engine: Engine, postgres_server_url: str, template_database: str
) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, migrated database that only this test uses."""
    yield from _create_database(admin_engine, postgres_server_url, template_database)


@pytest.fixture(scope="module")
def module_database_url(
    admin_engine: Engine, postgres_server_url: str, template_database: str
) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, migrated database that the tests of one module share."""
    yield from _create_database(admin_engine, postgres_server_url, template_database)


@pytest.fixture
def empty_database_url(admin_engine: Engine, postgres_server_url: str) -> Iterator[str]:
    """SQLAlchemy URL of a fresh database with no tables, for migration tests."""
    yield from _create_database(admin_engine, postgres_server_url, "template0")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """Engine on this test's fresh, migrated database."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


PropertyFactory = Callable[..., CleanProperty]


def build_property(pin: int, **overrides: Any) -> CleanProperty:
    """Build a full-roll CleanProperty for `pin`; keyword arguments replace any field."""
    raw_overrides = {
        name: overrides.pop(name) for name in list(overrides) if name.startswith("raw_")
    }
    values: dict[str, Any] = {
        "roll": Roll.FULL,
        "pin": pin,
        "ptype": "F",
        "ftype": "R",
        "details_href": f"/FramePages/Details.aspx?PIN={pin}",
        "rate_number": f"{pin:08d}"[-8:],
        "legal_description": f"ERF {pin} of PINETOWN",
        "address": f"{pin % 100} MAIN STREET, PINETOWN",
        "street_number": str(pin % 100),
        "street_name": "MAIN STREET",
        "suburb": "PINETOWN",
        "first_owner": f"OWNER {pin}",
        "use_code": "Single Residential (15)",
        "use_code_description": "Single Residential",
        "use_code_number": 15,
        "rating_category": "Residential",
        "market_value": 100_000 + pin,
        "registered_extent": Decimal(400 + pin % 50),
        "erf": str(pin),
        "portion": None,
        "is_remainder": False,
        "deeds_town": "PINETOWN",
        "section_number": None,
        "scheme_name": None,
    }
    values.update(overrides)
    raw = {
        "raw_rate_number": values["rate_number"],
        "raw_legal_description": values["legal_description"],
        "raw_address": values["address"],
        "raw_first_owner": values["first_owner"] or "",
        "raw_use_code": values["use_code"] or "",
        "raw_rating_category": values["rating_category"] or "",
        "raw_market_value": "" if values["market_value"] is None else f"{values['market_value']:,}",
        "raw_registered_extent": ""
        if values["registered_extent"] is None
        else str(values["registered_extent"]),
    }
    raw.update(raw_overrides)
    return CleanProperty(**values, **raw)


@pytest.fixture(scope="session")
def make_property() -> PropertyFactory:
    """Factory of CleanProperty test rows: `make_property(pin, **field_overrides)`."""
    return build_property
