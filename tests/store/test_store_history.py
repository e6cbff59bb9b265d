"""History of upserts: change rows, not-seen marks, sightings and details to fetch."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, func, select

from durban_valuations.clean.models import CleanProperty
from durban_valuations.site.models import PropertyDetails, Roll
from durban_valuations.store.crawl_state import coverage_report
from durban_valuations.store.history import ChangeKind, list_changes, property_history
from durban_valuations.store.queries import get_properties_by_rate_number
from durban_valuations.store.runs import finish_run, start_run
from durban_valuations.store.sightings import last_seen_run_id
from durban_valuations.store.tables import (
    owners,
    properties,
    property_change_rows,
    run_sightings,
)
from durban_valuations.store.upsert import (
    UpsertCounts,
    mark_not_seen,
    properties_needing_details,
    record_sightings,
    save_details,
    upsert_properties,
)

PropertyFactory = Callable[..., CleanProperty]


def _run(connection: Connection, rolls: str = "all") -> int:
    return start_run(connection, 2022, rolls, "http://127.0.0.1:9/")


def _complete_run(connection: Connection, rolls: str = "all", **columns: Any) -> int:
    run_id = _run(connection, rolls)
    finish_run(connection, run_id, "complete", **columns)
    return run_id


LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def _change_items(connection: Connection, run_id: int | None = None) -> list[dict[str, Any]]:
    """Return the changes of 2022 as the change feed lists them, of one run or of all."""
    page = list_changes(connection, since=LONG_AGO, roll_year=2022, limit=10_000)
    return [item for item in page.items if run_id is None or item["run_id"] == run_id]


def _changes(connection: Connection, run_id: int | None = None) -> list[tuple[Any, ...]]:
    return [
        (item["pin"], item["kind"], item["old_value"], item["new_value"])
        for item in _change_items(connection, run_id)
    ]


def _property(connection: Connection, pin: int) -> Any:
    statement = select(properties, last_seen_run_id().label("last_seen_run_id"))
    return connection.execute(statement.where(properties.c.pin == pin)).one()


def _owner_names(connection: Connection, pin: int) -> list[str]:
    statement = select(owners.c.name).where(owners.c.pin == pin).order_by(owners.c.position)
    return list(connection.execute(statement).scalars())


def _details(rate_number: str, owner_names: list[str]) -> PropertyDetails:
    return PropertyDetails(
        roll=Roll.FULL,
        rate_number=rate_number,
        property_description="ERF 7 of PINETOWN",
        address="7 MAIN STREET, PINETOWN",
        registered_extent="407",
        market_value="100,007",
        use_code="Single Residential (15)",
        rating_category="Residential",
        government_code="GV1",
        exemptions="",
        rebates="",
        phasing_in="",
        exclusions="",
        sra_code="",
        owners=owner_names,
        erf="7",
        deeds_town="PINETOWN",
        property_type="Freehold",
    )


def test_first_load_records_new(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        run_id = _run(connection)
        counts = upsert_properties(connection, 2022, run_id, [make_property(2), make_property(1)])
        items = _change_items(connection)
        stored_rows = connection.execute(
            select(func.count()).select_from(property_change_rows)
        ).scalar_one()

    assert counts == UpsertCounts(inserted=2, updated=0, unchanged=0)
    assert [(item["pin"], item["kind"]) for item in items] == [(1, "new"), (2, "new")]
    assert [item["id"] for item in items] == sorted(item["id"] for item in items)
    assert {(item["old_value"], item["new_value"]) for item in items} == {(None, None)}
    assert {item["run_id"] for item in items} == {run_id}
    assert (items[1]["roll"], items[1]["rate_number"]) == ("full", "00000002")
    # The properties rows are their 'new' changes.
    assert stored_rows == 0


@pytest.mark.parametrize(
    ("field", "before", "after", "old_text", "new_text"),
    [
        ("market_value", 100_000, 250_000, "100000", "250000"),
        ("market_value", None, 250_000, None, "250000"),
        ("market_value", 250_000, None, "250000", None),
        ("first_owner", "OLD OWNER", "NEW OWNER", "OLD OWNER", "NEW OWNER"),
        ("use_code", "Vacant Land (47)", "Business (51)", "Vacant Land (47)", "Business (51)"),
        ("rating_category", "Residential", "Business", "Residential", "Business"),
        ("registered_extent", Decimal("400"), Decimal("412.5"), "400", "412.5"),
        ("registered_extent", None, Decimal("12.50"), None, "12.50"),
    ],
)
def test_tracked_field_change(
    engine: Engine,
    make_property: PropertyFactory,
    field: str,
    before: Any,
    after: Any,
    old_text: str | None,
    new_text: str | None,
) -> None:
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), [make_property(5, **{field: before})])
    with engine.begin() as connection:
        run_id = _run(connection)
        counts = upsert_properties(connection, 2022, run_id, [make_property(5, **{field: after})])
        changes = _changes(connection, run_id)

    assert counts == UpsertCounts(inserted=0, updated=1, unchanged=0)
    assert changes == [(5, field, old_text, new_text)]


def test_untracked_change_no_history(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), [make_property(5)])
    with engine.begin() as connection:
        run_id = _run(connection)
        counts = upsert_properties(connection, 2022, run_id, [make_property(5, suburb="KLOOF")])
        changes = _changes(connection, run_id)

    assert counts == UpsertCounts(inserted=0, updated=1, unchanged=0)
    assert changes == []


def test_equal_extent_is_unchanged(engine: Engine, make_property: PropertyFactory) -> None:
    row = make_property(5, registered_extent=Decimal("12.50"), raw_registered_extent="12.5")
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), [row])
    with engine.begin() as connection:
        run_id = _run(connection)
        same = dataclasses.replace(row, registered_extent=Decimal("12.5"))
        counts = upsert_properties(connection, 2022, run_id, [same])
        changes = _changes(connection, run_id)

    assert counts == UpsertCounts(inserted=0, updated=0, unchanged=1)
    assert changes == []


def test_second_upsert_counts_and_history(engine: Engine, make_property: PropertyFactory) -> None:
    rows = [make_property(pin) for pin in range(1, 11)]
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), rows)
    changed = list(rows)
    changed[0] = dataclasses.replace(rows[0], market_value=1, first_owner="BUYER 1")
    changed[3] = dataclasses.replace(rows[3], rating_category="Business")
    changed[5] = dataclasses.replace(rows[5], address="6 OTHER ROAD")
    changed.append(make_property(11))
    with engine.begin() as connection:
        run_id = _run(connection)
        counts = upsert_properties(connection, 2022, run_id, changed)
        changes = _changes(connection, run_id)
        last_seen = set(connection.execute(select(last_seen_run_id())).scalars())
        total = connection.execute(select(func.count()).select_from(properties)).scalar_one()

    assert counts == UpsertCounts(inserted=1, updated=3, unchanged=7)
    assert changes == [
        (1, "market_value", "100001", "1"),
        (1, "first_owner", "OWNER 1", "BUYER 1"),
        (4, "rating_category", "Residential", "Business"),
        (11, "new", None, None),
    ]
    assert last_seen == {run_id}
    assert total == 11


def test_upsert_twice_in_one_transaction(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        first = upsert_properties(connection, 2022, _run(connection), [make_property(1)])
        second = upsert_properties(
            connection, 2022, _run(connection), [make_property(1, market_value=5), make_property(2)]
        )
    assert first == UpsertCounts(inserted=1, updated=0, unchanged=0)
    assert second == UpsertCounts(inserted=1, updated=1, unchanged=0)


def test_empty_upsert_writes_nothing(engine: Engine) -> None:
    with engine.begin() as connection:
        assert upsert_properties(connection, 2022, _run(connection), []) == UpsertCounts()


def test_owner_change_marks_details_stale(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), [make_property(7)])
        save_details(connection, 2022, 7, _details("00000007", ["FIRST A", "SECOND B"]))
    with engine.begin() as connection:
        run_id = _run(connection)
        counts = upsert_properties(
            connection, 2022, run_id, [make_property(7, first_owner="SOMEONE ELSE")]
        )
        stored = _property(connection, 7)
        names = _owner_names(connection, 7)
        due = properties_needing_details(connection, 2022, ["full"], 10)

    assert counts.updated == 1
    assert names == ["FIRST A", "SECOND B"]
    assert stored.details_fetched_at is None
    assert stored.details_government_code == "GV1"
    assert due == [(7, "/FramePages/Details.aspx?PIN=7")]


def test_other_change_keeps_details(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), [make_property(7)])
        save_details(connection, 2022, 7, _details("00000007", ["FIRST A", "SECOND B"]))
        upsert_properties(connection, 2022, _run(connection), [make_property(7, market_value=9)])
        stored = _property(connection, 7)
        due = properties_needing_details(connection, 2022, ["full"], 10)

    assert stored.details_fetched_at is not None
    assert due == []


def _load_and_mark(engine: Engine, make_property: PropertyFactory) -> tuple[int, int, int]:
    """Load pins 1-4 (full) and 5 (sectional), then see only 1 and 3 in a complete run."""
    with engine.begin() as connection:
        first_run = _run(connection)
        rows = [make_property(pin) for pin in range(1, 5)]
        rows.append(make_property(5, roll=Roll.SECTIONAL))
        upsert_properties(connection, 2022, first_run, rows)
        finish_run(connection, first_run, "complete")
    with engine.begin() as connection:
        second_run = _run(connection, "full")
        upsert_properties(connection, 2022, second_run, [make_property(1), make_property(3)])
        finish_run(connection, second_run, "complete")
        marked = mark_not_seen(connection, 2022, second_run, ["full"])
    return first_run, second_run, marked


def test_mark_not_seen_marks_unseen(engine: Engine, make_property: PropertyFactory) -> None:
    first_run, second_run, marked = _load_and_mark(engine, make_property)
    with engine.connect() as connection:
        stored = {
            row.pin: row.not_seen_since_run_id
            for row in connection.execute(
                select(properties.c.pin, properties.c.not_seen_since_run_id)
            )
        }
        changes = _changes(connection, second_run)

    assert marked == 2
    assert stored == {1: None, 2: second_run, 3: None, 4: second_run, 5: None}
    assert changes == [
        (2, "not_seen", str(first_run), None),
        (4, "not_seen", str(first_run), None),
    ]


def test_mark_not_seen_is_idempotent(engine: Engine, make_property: PropertyFactory) -> None:
    _, second_run, _ = _load_and_mark(engine, make_property)
    with engine.begin() as connection:
        again = mark_not_seen(connection, 2022, second_run, ["full"])
        third_run = _complete_run(connection, "full")
        later = mark_not_seen(connection, 2022, third_run, ["full"])
        not_seen_rows = connection.execute(
            select(func.count()).where(property_change_rows.c.kind == "not_seen")
        ).scalar_one()
        marks = dict(
            connection.execute(
                select(properties.c.pin, properties.c.not_seen_since_run_id).where(
                    properties.c.not_seen_since_run_id.is_not(None)
                )
            ).all()
        )
        third_changes = _changes(connection, third_run)

    assert again == 0
    # The third run saw nothing, so it marks 1 and 3; 2 and 4 keep their first mark.
    assert later == 2
    assert marks == {1: third_run, 2: second_run, 3: third_run, 4: second_run}
    assert not_seen_rows == 4
    # The second run was the last one to see 1 and 3.
    assert third_changes == [
        (1, "not_seen", str(second_run), None),
        (3, "not_seen", str(second_run), None),
    ]


def test_mark_not_seen_later_sighting(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _complete_run(connection), [make_property(1)])
        second_run = _complete_run(connection, "full")
        third_run = _run(connection)
        upsert_properties(connection, 2022, third_run, [make_property(1)])
        marked = mark_not_seen(connection, 2022, second_run, ["full"])
        last_seen = _property(connection, 1).last_seen_run_id

    # A run newer than the marking one saw the property, so it is not marked.
    assert marked == 0
    assert last_seen == third_run


def test_mark_not_seen_walks_back(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        first_run = _run(connection)
        upsert_properties(connection, 2022, first_run, [make_property(1), make_property(2)])
        sighting_run = _run(connection)
        record_sightings(connection, sighting_run, 2022, [1], 2)
        for _ in range(3):
            _run(connection)
        marking_run = _complete_run(connection, "full")
        marked = mark_not_seen(connection, 2022, marking_run, ["full"])
        changes = _changes(connection, marking_run)

    assert marked == 2
    assert changes == [
        (1, "not_seen", str(sighting_run), None),
        (2, "not_seen", str(first_run), None),
    ]


def test_mark_not_seen_never_deletes(engine: Engine, make_property: PropertyFactory) -> None:
    _load_and_mark(engine, make_property)
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(properties)).scalar_one()
        listed_owners = {
            pin: [owner["name"] for owner in found["owners"]]
            for pin in range(1, 6)
            for found in get_properties_by_rate_number(connection, f"{pin:08d}", 2022)
        }
    assert count == 5
    assert listed_owners == {pin: [f"OWNER {pin}"] for pin in range(1, 6)}


def test_seen_again_clears_mark(engine: Engine, make_property: PropertyFactory) -> None:
    _, second_run, _ = _load_and_mark(engine, make_property)
    with engine.begin() as connection:
        third_run = _run(connection)
        counts = upsert_properties(
            connection, 2022, third_run, [make_property(2), make_property(4, market_value=7)]
        )
        changes = _changes(connection, third_run)
        marks = dict(
            connection.execute(select(properties.c.pin, properties.c.not_seen_since_run_id)).all()
        )
        last_seen = _property(connection, 2).last_seen_run_id

    assert counts == UpsertCounts(inserted=0, updated=1, unchanged=1)
    assert changes == [
        (2, "seen_again", str(second_run), None),
        (4, "market_value", "100004", "7"),
        (4, "seen_again", str(second_run), None),
    ]
    assert marks[2] is None
    assert marks[4] is None
    assert last_seen == third_run


@pytest.mark.parametrize(
    ("status", "columns", "message"),
    [
        ("incomplete", {}, "status 'incomplete'"),
        ("failed", {}, "status 'failed'"),
        ("complete", {"suspect": True, "suspect_reason": "row count fell by half"}, "suspect"),
    ],
)
def test_mark_not_seen_rejects_run(
    engine: Engine,
    make_property: PropertyFactory,
    status: str,
    columns: dict[str, Any],
    message: str,
) -> None:
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), [make_property(1)])
        run_id = _run(connection)
        finish_run(connection, run_id, status, **columns)
        with pytest.raises(ValueError, match=message):
            mark_not_seen(connection, 2022, run_id, ["full"])
        assert _property(connection, 1).not_seen_since_run_id is None


def test_mark_not_seen_checks_rolls(engine: Engine) -> None:
    with engine.begin() as connection:
        full_run = _complete_run(connection, "full")
        with pytest.raises(ValueError, match="not sectional"):
            mark_not_seen(connection, 2022, full_run, ["full", "sectional"])
        with pytest.raises(ValueError, match="'both'"):
            mark_not_seen(connection, 2022, full_run, ["both"])
        with pytest.raises(ValueError, match="2022 roll, not 2021"):
            mark_not_seen(connection, 2021, full_run, ["full"])
        with pytest.raises(LookupError, match="not found"):
            mark_not_seen(connection, 2022, full_run + 1, ["full"])


def test_sightings_combine_bits(engine: Engine) -> None:
    with engine.begin() as connection:
        run_id = _run(connection)
        first = record_sightings(connection, run_id, 2022, [1, 2, 2, 3], 1)
        second = record_sightings(connection, run_id, 2022, [3, 4], 2)
        repeat = record_sightings(connection, run_id, 2022, [1], 1)
        other_run = _run(connection)
        record_sightings(connection, other_run, 2022, [1], 2)
        masks = dict(
            connection.execute(
                select(run_sightings.c.pin, run_sightings.c.dimensions).where(
                    run_sightings.c.run_id == run_id
                )
            ).all()
        )

    assert (first, second, repeat) == (3, 2, 1)
    assert masks == {1: 1, 2: 1, 3: 3, 4: 2}


@pytest.mark.parametrize("bit", [0, 3, -1, 1 << 15])
def test_sightings_reject_bad_bit(engine: Engine, bit: int) -> None:
    with engine.begin() as connection, pytest.raises(ValueError, match="power of two"):
        record_sightings(connection, _run(connection), 2022, [1], bit)


def test_sightings_unknown_run(engine: Engine) -> None:
    with engine.begin() as connection, pytest.raises(LookupError, match="scrape run 42 "):
        record_sightings(connection, 42, 2022, [1], 1)


def test_coverage_skips_upsert_sightings(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), [make_property(1), make_property(2)])
        run_id = _run(connection)
        upsert_properties(connection, 2022, run_id, [make_property(1), make_property(2)])
        record_sightings(connection, run_id, 2022, [1], 1)
        report = coverage_report(connection, run_id, "full", {"suburb": 1, "volume": 2})

    # The upsert saw pin 2 too, but no covering dimension did.
    assert report["properties"] == 1
    assert report["properties_by_dimension"] == {"suburb": 1, "volume": 0}


def test_sightings_empty_pins(engine: Engine) -> None:
    with engine.begin() as connection:
        assert record_sightings(connection, _run(connection), 2022, [], 1) == 0


def test_needing_details_filters(engine: Engine, make_property: PropertyFactory) -> None:
    _, _, _ = _load_and_mark(engine, make_property)
    with engine.begin() as connection:
        save_details(connection, 2022, 1, _details("00000001", []))
        full = properties_needing_details(connection, 2022, ["full"], 10)
        both = properties_needing_details(connection, 2022, ["full", "sectional"], 10)
        first = properties_needing_details(connection, 2022, ["full", "sectional"], 1)
        with pytest.raises(ValueError, match="invalid limit 0"):
            properties_needing_details(connection, 2022, ["full"], 0)

    # 1 has details; 2 and 4 are marked not seen.
    assert full == [(3, "/FramePages/Details.aspx?PIN=3")]
    assert both == [(3, "/FramePages/Details.aspx?PIN=3"), (5, "/FramePages/Details.aspx?PIN=5")]
    assert first == [(3, "/FramePages/Details.aspx?PIN=3")]


def test_changes_cascade_on_delete(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), [make_property(7)])
        connection.execute(properties.delete().where(properties.c.pin == 7))
        assert _changes(connection) == []


def test_rate_number_change_keeps_new(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        first_run = _run(connection)
        upsert_properties(connection, 2022, first_run, [make_property(5)])
        (before,) = _change_items(connection)
    with engine.begin() as connection:
        second_run = _run(connection)
        renumbered = make_property(5, rate_number="12345678", market_value=1)
        counts = upsert_properties(connection, 2022, second_run, [renumbered])
        history = property_history(connection, "12345678", 2022)
        new_only = list_changes(
            connection, since=LONG_AGO, roll_year=2022, kind=ChangeKind.NEW
        ).items
        stored_new = connection.execute(
            select(property_change_rows.c.rate_number).where(property_change_rows.c.kind == "new")
        ).all()

    assert counts == UpsertCounts(inserted=0, updated=1, unchanged=0)
    # The 'new' change keeps the rate number, id, time and run it was recorded with.
    assert history[0] == before
    assert before["rate_number"] == "00000005"
    assert [(item["kind"], item["run_id"]) for item in history] == [
        ("new", first_run),
        ("market_value", second_run),
    ]
    assert new_only == [before]
    assert stored_new == [("00000005",)]
