"""Migration 0006 on a database of revision 0005 with rows: search columns, both ways."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, inspect, text

from durban_valuations.store.database import make_engine
from durban_valuations.store.filters import PropertyFilters
from durban_valuations.store.migrations import alembic_config, revision_of
from durban_valuations.store.queries import list_properties

# (pin, address, street name, first owner, scheme name)
PROPERTIES_0005 = [
    (1, "5 HAWTHORN ROAD, WESTVILLE", "HAWTHORN ROAD", "NAIDOO R", None),
    (2, "7 OAK ROAD, PINETOWN", "OAK ROAD", "MOODLEY K", None),
    (3, "14 MARINE DRIVE, UMHLANGA", "MARINE DRIVE", None, "SS 3 SUN & SAND"),
]
# Pin 2 saved a details page with two owners; pin 1 has none.
OWNERS_0005 = [(2, 1, "MOODLEY K"), (2, 2, "PILLAY S")]
SEARCH_INDEXES = {"ix_properties_search_vector", "ix_properties_street_name_prefix"}
PROPERTY_QUERY = "SELECT pin, address, street_name, first_owner, scheme_name FROM properties"


def _migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        if down:
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)
        assert revision_of(connection) == revision


def _insert_0005_data(connection: Connection) -> None:
    connection.execute(
        text(
            "INSERT INTO scrape_runs (roll_year, rolls, source_url, status) "
            "VALUES (2022, 'all', 'http://127.0.0.1:9/', 'complete')"
        )
    )
    for pin, address, street, owner, scheme in PROPERTIES_0005:
        connection.execute(
            text(
                "INSERT INTO properties (roll_year, pin, roll, ptype, ftype, details_href, "
                "rate_number, legal_description, address, street_name, first_owner, "
                "scheme_name, is_remainder, raw_rate_number, raw_legal_description, "
                "raw_address, raw_first_owner, raw_use_code, raw_rating_category, "
                "raw_market_value, raw_registered_extent, first_seen_run_id) "
                "VALUES (2022, :pin, 'full', 'F', 'R', '/d', :rate, :legal, :address, :street, "
                ":owner, :scheme, false, :rate, :legal, :address, '', '', '', '', '', 1)"
            ),
            {
                "pin": pin,
                "rate": f"{pin:08d}",
                "legal": f"ERF {pin} of DURBAN",
                "address": address,
                "street": street,
                "owner": owner,
                "scheme": scheme,
            },
        )
    connection.execute(
        text("INSERT INTO owners (roll_year, pin, position, name) VALUES (2022, :p, :n, :name)"),
        [{"p": pin, "n": position, "name": name} for pin, position, name in OWNERS_0005],
    )


def _search(connection: Connection, **filters: Any) -> list[int]:
    page = list_properties(connection, PropertyFilters(roll_year=2022, **filters))
    return [item["pin"] for item in page.items]


@pytest.fixture
def engine_0005(empty_database_url: str) -> Iterator[Engine]:
    """Engine on a database at revision 0005 that contains the rows above."""
    engine = make_engine(empty_database_url)
    _migrate(engine, "0005")
    with engine.begin() as connection:
        _insert_0005_data(connection)
    yield engine
    engine.dispose()


def test_upgrade_copies_owner_names(engine_0005: Engine) -> None:
    _migrate(engine_0005, "0006")

    with engine_0005.connect() as connection:
        rows = connection.execute(text("SELECT pin, owner_names FROM properties ORDER BY pin"))
        names = {pin: owner_names for pin, owner_names in rows}

    assert names == {1: None, 2: "MOODLEY K\nPILLAY S", 3: None}


def test_upgrade_makes_stored_rows_searchable(engine_0005: Engine) -> None:
    _migrate(engine_0005, "0006")

    with engine_0005.connect() as connection:
        assert _search(connection, q="hawthorn") == [1]
        assert _search(connection, q="naidoo") == [1]
        assert _search(connection, q="pillay") == [2]
        assert _search(connection, q='"sun & sand"') == [3]
        assert _search(connection, q="erf 3") == [3]
        assert _search(connection, street_prefix="ma") == [3]


def test_downgrade_removes_search_columns(engine_0005: Engine) -> None:
    with engine_0005.connect() as connection:
        before = connection.execute(text(f"{PROPERTY_QUERY} ORDER BY pin")).all()
    _migrate(engine_0005, "0006")

    _migrate(engine_0005, "0005", down=True)

    with engine_0005.connect() as connection:
        columns = {column["name"] for column in inspect(connection).get_columns("properties")}
        indexes = {index["name"] for index in inspect(connection).get_indexes("properties")}
        after = connection.execute(text(f"{PROPERTY_QUERY} ORDER BY pin")).all()
        owners = connection.execute(text("SELECT count(*) FROM owners")).scalar_one()
    assert "owner_names" not in columns
    assert "search_vector" not in columns
    assert not SEARCH_INDEXES & indexes
    assert after == before
    assert owners == len(OWNERS_0005)


def test_upgrade_again_after_downgrade(engine_0005: Engine) -> None:
    _migrate(engine_0005, "0006")
    _migrate(engine_0005, "0005", down=True)

    _migrate(engine_0005, "0006")

    with engine_0005.connect() as connection:
        indexes = {index["name"] for index in inspect(connection).get_indexes("properties")}
        assert indexes >= SEARCH_INDEXES
        assert _search(connection, q="pillay") == [2]
