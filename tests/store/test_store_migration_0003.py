"""Migration 0003 on a database of revision 0002 with data: the same facts, both ways."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, select, text

from durban_valuations.store.database import make_engine
from durban_valuations.store.history import CHANGE_COLUMNS, list_changes, property_history
from durban_valuations.store.migrations import alembic_config, revision_of
from durban_valuations.store.queries import get_properties_by_rate_number
from durban_valuations.store.sightings import last_seen_run_id
from durban_valuations.store.tables import properties

RUN_TIMES = {1: "2024-01-01 10:00+00", 2: "2024-02-01 10:00+00", 3: "2024-03-01 10:00+00"}

# (pin, first run, last run, not seen since, created_at run, first owner, details fetched)
PROPERTIES_0002 = [
    (1, 1, 3, None, 1, "OWNER 1", False),
    (2, 1, 2, 3, 1, "OWNER 2", False),
    (3, 2, 3, None, 2, "OWNER 3", True),
    (4, 1, 3, None, 1, "NEW OWNER 4", False),
    (5, 1, 3, None, 1, "OWNER 5", True),
]
# Pin 3 saved a details page with two owners. Pin 4's details listed OLD OWNER 4 before
# its first owner changed, so they are stale. Pin 5's details listed its first owner.
OWNERS_0002 = [
    (1, 1, "OWNER 1"),
    (2, 1, "OWNER 2"),
    (3, 1, "DETAILS A"),
    (3, 2, "DETAILS B"),
    (4, 1, "OLD OWNER 4"),
    (5, 1, "OWNER 5"),
]
# (id, pin, run, changed_at run, kind, old value, new value). The 'new' row of pin 5
# has another time than its property, so it stays a stored row.
CHANGES_0002 = [
    (1, 1, 1, 1, "new", None, None),
    (2, 2, 1, 1, "new", None, None),
    (3, 4, 1, 1, "new", None, None),
    (4, 5, 1, 2, "new", None, None),
    (5, 1, 2, 2, "market_value", "100", "200"),
    (6, 3, 2, 2, "new", None, None),
    (7, 4, 2, 2, "first_owner", "OLD OWNER 4", "NEW OWNER 4"),
    (8, 2, 3, 3, "not_seen", "2", None),
]
SIGHTINGS_0002 = [(2, 1, 1), (3, 1, 3), (3, 3, 1), (3, 4, 2), (3, 5, 1)]

TABLE_QUERIES = {
    "properties": "SELECT pin, first_seen_run_id, last_seen_run_id, not_seen_since_run_id, "
    "first_owner, details_fetched_at, created_at FROM properties ORDER BY pin",
    "owners": "SELECT pin, position, name FROM owners ORDER BY pin, position",
    "property_changes": f"SELECT {', '.join(CHANGE_COLUMNS)} FROM property_changes ORDER BY id",
    "run_sightings": "SELECT run_id, roll_year, pin, dimensions FROM run_sightings "
    "ORDER BY run_id, pin",
}


def _migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        if down:
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)
        assert revision_of(connection) == revision


def _insert_0002_data(connection: Connection) -> None:
    for run_id, started_at in RUN_TIMES.items():
        connection.execute(
            text(
                "INSERT INTO scrape_runs (id, roll_year, rolls, source_url, status, started_at) "
                "VALUES (:id, 2022, 'all', 'http://127.0.0.1:9/', 'complete', :started_at)"
            ),
            {"id": run_id, "started_at": started_at},
        )
    for pin, first, last, not_seen, created, owner, fetched in PROPERTIES_0002:
        connection.execute(
            text(
                "INSERT INTO properties (roll_year, pin, roll, ptype, ftype, details_href, "
                "rate_number, legal_description, address, first_owner, market_value, "
                "is_remainder, raw_rate_number, raw_legal_description, raw_address, "
                "raw_first_owner, raw_use_code, raw_rating_category, raw_market_value, "
                "raw_registered_extent, details_fetched_at, first_seen_run_id, "
                "last_seen_run_id, not_seen_since_run_id, created_at, updated_at) "
                "VALUES (2022, :pin, 'full', 'F', 'R', '/d', :rate, 'ERF', 'ADDRESS', :owner, "
                "200, false, :rate, 'ERF', 'ADDRESS', :owner, '', '', '200', '', "
                ":fetched, :first, :last, :not_seen, :created, :created)"
            ),
            {
                "pin": pin,
                "rate": f"{pin:08d}",
                "owner": owner,
                "fetched": RUN_TIMES[3] if fetched else None,
                "first": first,
                "last": last,
                "not_seen": not_seen,
                "created": RUN_TIMES[created],
            },
        )
    connection.execute(
        text("INSERT INTO owners (roll_year, pin, position, name) VALUES (2022, :p, :n, :name)"),
        [{"p": pin, "n": position, "name": name} for pin, position, name in OWNERS_0002],
    )
    connection.execute(
        text(
            "INSERT INTO property_changes (id, roll_year, pin, roll, rate_number, run_id, "
            "changed_at, kind, old_value, new_value) VALUES (:id, 2022, :pin, 'full', :rate, "
            ":run, :at, :kind, :old, :new)"
        ),
        [
            {
                "id": change_id,
                "pin": pin,
                "rate": f"{pin:08d}",
                "run": run_id,
                "at": RUN_TIMES[at],
                "kind": kind,
                "old": old,
                "new": new,
            }
            for change_id, pin, run_id, at, kind, old, new in CHANGES_0002
        ],
    )
    connection.execute(
        text(
            "INSERT INTO run_sightings (run_id, roll_year, pin, dimensions) "
            "VALUES (:run, 2022, :pin, :bits)"
        ),
        [{"run": run_id, "pin": pin, "bits": bits} for run_id, pin, bits in SIGHTINGS_0002],
    )
    # The identity sequence must continue after the ids inserted above.
    connection.execute(text("SELECT setval('property_changes_id_seq', 8)"))
    connection.execute(text("SELECT setval('scrape_runs_id_seq', 3)"))


def _tables(connection: Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {
        name: [tuple(row) for row in connection.execute(text(query))]
        for name, query in TABLE_QUERIES.items()
    }


@pytest.fixture
def engine_0002(empty_database_url: str) -> Iterator[Engine]:
    """Engine on a database at revision 0002 that contains the data above."""
    engine = make_engine(empty_database_url)
    _migrate(engine, "0002")
    with engine.begin() as connection:
        _insert_0002_data(connection)
    yield engine
    engine.dispose()


def test_upgrade_keeps_history(engine_0002: Engine) -> None:
    with engine_0002.connect() as connection:
        before = _tables(connection)
    _migrate(engine_0002, "0003")

    with engine_0002.connect() as connection:
        since = datetime(2000, 1, 1, tzinfo=UTC)
        feed = list_changes(connection, since=since, roll_year=2022, limit=100).items
        history_of_1 = property_history(connection, "00000001", 2022)
        stored_ids = connection.execute(text("SELECT id FROM property_change_rows")).scalars()
        stored = sorted(stored_ids)
        view = [tuple(row) for row in connection.execute(text(TABLE_QUERIES["property_changes"]))]

    changes = [dict(zip(CHANGE_COLUMNS, row, strict=True)) for row in before["property_changes"]]
    # Ordered by (changed_at, id), as the feed orders them.
    assert feed == sorted(changes, key=lambda change: (change["changed_at"], change["id"]))
    assert history_of_1 == [change for change in changes if change["pin"] == 1]
    # The 'new' rows of pins 1 to 4 moved into properties; pin 5's did not match.
    assert stored == [4, 5, 7, 8]
    # The view of the old table's name lists every change, as the table did.
    assert view == before["property_changes"]


def test_upgrade_keeps_owners_and_last_seen(engine_0002: Engine) -> None:
    with engine_0002.connect() as connection:
        before = _tables(connection)
    _migrate(engine_0002, "0003")

    with engine_0002.connect() as connection:
        listed = {}
        for pin, *_ in PROPERTIES_0002:
            (found,) = get_properties_by_rate_number(connection, f"{pin:08d}", 2022)
            listed[pin] = (found["last_seen_run_id"], [owner["name"] for owner in found["owners"]])
        last_seen = {
            row.pin: row.last_seen
            for row in connection.execute(
                select(properties.c.pin, last_seen_run_id().label("last_seen"))
            )
        }
        owner_rows = connection.execute(text(TABLE_QUERIES["owners"])).all()

    expected = {
        row[0]: (row[2], [name for pin, _, name in before["owners"] if pin == row[0]])
        for row in before["properties"]
    }
    assert listed == expected
    assert last_seen == {pin: last for pin, _, last, *_ in PROPERTIES_0002}
    # Pins 1 and 2 have no details page, so their owner row only repeated the first owner.
    assert [tuple(row) for row in owner_rows] == [
        row for row in before["owners"] if row[0] not in (1, 2)
    ]


def test_downgrade_restores_0002(engine_0002: Engine) -> None:
    with engine_0002.connect() as connection:
        before = _tables(connection)
    _migrate(engine_0002, "0003")
    _migrate(engine_0002, "0002", down=True)

    with engine_0002.connect() as connection:
        after = _tables(connection)

    for name in TABLE_QUERIES:
        assert after[name] == before[name], name
