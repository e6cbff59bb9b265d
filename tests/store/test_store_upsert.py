"""Upserts of result rows, owners and details pages."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import Connection, Engine, func, select, text

from durban_valuations.clean.models import CleanProperty
from durban_valuations.site.models import PropertyDetails, Roll
from durban_valuations.store.queries import get_properties_by_rate_number
from durban_valuations.store.runs import start_run
from durban_valuations.store.sightings import last_seen_run_id
from durban_valuations.store.tables import owners, properties
from durban_valuations.store.upsert import UpsertCounts, save_details, upsert_properties

PropertyFactory = Callable[..., CleanProperty]


def _run(connection: Connection) -> int:
    return start_run(connection, 2022, "all", "http://127.0.0.1:9/")


def _owner_names(connection: Connection, pin: int) -> list[str]:
    """Return the owners that the API lists for the property with `pin`."""
    rate_number = f"{pin:08d}"
    (found,) = get_properties_by_rate_number(connection, rate_number, 2022)
    return [owner["name"] for owner in found["owners"]]


def _owner_rows(connection: Connection, pin: int) -> list[str]:
    statement = select(owners.c.name).where(owners.c.pin == pin).order_by(owners.c.position)
    return list(connection.execute(statement).scalars())


def _row_version(connection: Connection, pin: int) -> str:
    """Return the xmin of the property's row, which changes whenever the row is rewritten."""
    statement = text("SELECT xmin::text FROM properties WHERE pin = :pin")
    return str(connection.execute(statement, {"pin": pin}).scalar_one())


def _details(rate_number: str, owner_names: list[str], **overrides: str) -> PropertyDetails:
    values = {
        "roll": Roll.FULL,
        "rate_number": rate_number,
        "property_description": "ERF 7 of PINETOWN",
        "address": "7 MAIN STREET, PINETOWN",
        "registered_extent": "407",
        "market_value": "100,007",
        "use_code": "Single Residential (15)",
        "rating_category": "Residential",
        "government_code": "GV1",
        "exemptions": "",
        "rebates": "Pensioner",
        "phasing_in": "",
        "exclusions": "",
        "sra_code": "SRA-3",
        "owners": owner_names,
        "erf": "7",
        "deeds_town": "PINETOWN",
        "property_type": "Freehold",
    }
    values.update(overrides)
    return PropertyDetails(**values)


def test_upsert_twice_keeps_one_row(engine: Engine, make_property: PropertyFactory) -> None:
    rows = [make_property(pin) for pin in range(1, 6)]
    with engine.begin() as connection:
        first_run = _run(connection)
        first = upsert_properties(connection, 2022, first_run, rows)
    with engine.begin() as connection:
        second_run = _run(connection)
        changed = [
            dataclasses.replace(rows[0], market_value=999_999),
            dataclasses.replace(rows[1], suburb="WESTVILLE"),
            *rows[2:],
        ]
        second = upsert_properties(connection, 2022, second_run, changed)

    assert first == UpsertCounts(inserted=5, updated=0, unchanged=0)
    assert second == UpsertCounts(inserted=0, updated=2, unchanged=3)
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(properties)).scalar_one()
        statement = select(properties, last_seen_run_id().label("last_seen_run_id"))
        stored = {row.pin: row for row in connection.execute(statement)}
    assert count == 5
    assert stored[1].market_value == 999_999
    assert stored[2].suburb == "WESTVILLE"
    assert {row.first_seen_run_id for row in stored.values()} == {first_run}
    assert {row.last_seen_run_id for row in stored.values()} == {second_run}
    assert stored[1].updated_at > stored[3].updated_at
    assert stored[3].updated_at == stored[3].created_at


def test_upsert_unchanged_rerun(engine: Engine, make_property: PropertyFactory) -> None:
    rows = [make_property(pin, registered_extent=Decimal("12.50")) for pin in range(1, 4)]
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), rows)
        before = _row_version(connection, 2)
    with engine.begin() as connection:
        run_id = _run(connection)
        again = upsert_properties(connection, 2022, run_id, rows)
        after = _row_version(connection, 2)
        last_seen = connection.execute(
            select(last_seen_run_id()).where(properties.c.pin == 2)
        ).scalar_one()
    assert again == UpsertCounts(inserted=0, updated=0, unchanged=3)
    assert after == before
    assert last_seen == run_id


def test_upsert_unknown_run(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection, pytest.raises(LookupError, match="scrape run 99 "):
        upsert_properties(connection, 2022, 99, [make_property(1)])


def test_upsert_null_to_value_is_change(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), [make_property(1, market_value=None)])
    with engine.begin() as connection:
        counts = upsert_properties(connection, 2022, _run(connection), [make_property(1)])
    assert counts == UpsertCounts(inserted=0, updated=1, unchanged=0)


def test_upsert_duplicate_pins_last_wins(engine: Engine, make_property: PropertyFactory) -> None:
    rows = [make_property(1, suburb="A"), make_property(2), make_property(1, suburb="B")]
    with engine.begin() as connection:
        counts = upsert_properties(connection, 2022, _run(connection), rows)
        suburb = connection.execute(
            select(properties.c.suburb).where(properties.c.pin == 1)
        ).scalar_one()
    assert counts == UpsertCounts(inserted=2, updated=0, unchanged=0)
    assert suburb == "B"


def test_upsert_many_batches(engine: Engine, make_property: PropertyFactory) -> None:
    rows = [make_property(pin) for pin in range(1, 2_502)]
    with engine.begin() as connection:
        inserted = upsert_properties(connection, 2022, _run(connection), rows)
    rows[1_500] = dataclasses.replace(rows[1_500], address="CHANGED")
    with engine.begin() as connection:
        rerun = upsert_properties(connection, 2022, _run(connection), rows)
    assert inserted == UpsertCounts(inserted=2_501, updated=0, unchanged=0)
    assert rerun == UpsertCounts(inserted=0, updated=1, unchanged=2_500)


def test_upsert_rejects_bad_rate_number(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection, pytest.raises(ValueError, match="'1234'"):
        upsert_properties(
            connection, 2022, _run(connection), [make_property(1, rate_number="1234")]
        )


def test_first_owner_becomes_owner(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), [make_property(7)])
        assert _owner_names(connection, 7) == ["OWNER 7"]
        assert _owner_rows(connection, 7) == []
        upsert_properties(connection, 2022, _run(connection), [make_property(7, first_owner="NEW")])
        assert _owner_names(connection, 7) == ["NEW"]
        upsert_properties(connection, 2022, _run(connection), [make_property(7, first_owner=None)])
        assert _owner_names(connection, 7) == []
        upsert_properties(connection, 2022, _run(connection), [make_property(7, first_owner="B")])
        assert _owner_names(connection, 7) == ["B"]


def test_save_details_replaces_owners(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), [make_property(7)])
        save_details(connection, 2022, 7, _details("00000007", ["FIRST A", "SECOND B"]))
        row = connection.execute(select(properties).where(properties.c.pin == 7)).one()
        assert _owner_names(connection, 7) == ["FIRST A", "SECOND B"]

        changed = make_property(7, first_owner="SOMEONE ELSE", market_value=1)
        counts = upsert_properties(connection, 2022, _run(connection), [changed])
        assert counts.updated == 1
        assert _owner_names(connection, 7) == ["FIRST A", "SECOND B"]

    assert row.details_government_code == "GV1"
    assert row.details_rebates == "Pensioner"
    assert row.details_exemptions is None
    assert row.details_sra_code == "SRA-3"
    assert row.details_property_type == "Freehold"
    assert row.details_fetched_at is not None


def test_save_details_without_owners(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), [make_property(7)])
        save_details(connection, 2022, 7, _details("00000007", []))
        assert _owner_names(connection, 7) == ["OWNER 7"]
        # The saved details page kept OWNER 7, so a new first owner leaves it listed.
        changed = make_property(7, first_owner="SOMEONE ELSE")
        upsert_properties(connection, 2022, _run(connection), [changed])
        assert _owner_names(connection, 7) == ["OWNER 7"]


def test_details_owners_then_two_changes(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), [make_property(7)])
        save_details(connection, 2022, 7, _details("00000007", ["FIRST A", "SECOND B"]))
        upsert_properties(connection, 2022, _run(connection), [make_property(7, first_owner="C")])
        after_first = _owner_names(connection, 7)
        upsert_properties(connection, 2022, _run(connection), [make_property(7, first_owner="D")])
        after_second = _owner_names(connection, 7)

    assert after_first == ["FIRST A", "SECOND B"]
    # The first change made the details stale, so the second one replaces their owners.
    assert after_second == ["D"]


def test_save_details_unknown_pin(engine: Engine) -> None:
    with engine.begin() as connection, pytest.raises(LookupError, match="pin 99"):
        save_details(connection, 2022, 99, _details("00000099", []))


def test_save_details_rate_mismatch(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), [make_property(7)])
        with pytest.raises(ValueError, match="does not match pin 7"):
            save_details(connection, 2022, 7, _details("12345678", []))


def test_owners_cascade_on_delete(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), [make_property(7)])
        save_details(connection, 2022, 7, _details("00000007", ["FIRST A"]))
        connection.execute(properties.delete().where(properties.c.pin == 7))
        assert _owner_rows(connection, 7) == []


def test_upsert_analyzes_stale_statistics(engine: Engine, make_property: PropertyFactory) -> None:
    rows = [make_property(pin) for pin in range(1, 3_001)]
    row_count = text("SELECT reltuples FROM pg_class WHERE relname = 'properties'")
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), rows)
    with engine.begin() as connection:
        # Statistics that count no rows, as after an ANALYZE during an uncommitted load.
        connection.execute(text("UPDATE pg_class SET reltuples = 0 WHERE relname = 'properties'"))
    with engine.begin() as connection:
        again = upsert_properties(connection, 2022, _run(connection), rows)
        counted = connection.execute(row_count).scalar_one()

    assert again == UpsertCounts(inserted=0, updated=0, unchanged=3_000)
    assert counted == 3_000
