"""A second scrape over changed data records exactly those changes; a drop makes a run suspect."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from durban_valuations.api.app import create_app
from durban_valuations.config import Settings
from durban_valuations.jobs import events
from durban_valuations.jobs.scrape import run_scrape
from durban_valuations.replica.generate import generate_roll
from durban_valuations.replica.mutate import describe_changes, mutate_roll
from durban_valuations.replica.server import running_replica
from durban_valuations.site.models import Roll

ROWS = 4000
SEED = 13
BOTH_ROLLS = [Roll.FULL, Roll.SECTIONAL]
# History kinds of the replica's change kinds. "owners" (the whole owner list) has no
# history of its own, because the result table shows the first owner only.
HISTORY_KIND = {
    "market_value": "market_value",
    "first_owner": "first_owner",
    "use_code": "use_code",
    "rating_category": "rating_category",
    "registered_extent": "registered_extent",
    "new": "new",
    "removed": "not_seen",
}


def settings() -> Settings:
    return Settings(_env_file=None, request_rate=2000, request_concurrency=4)


def as_text(kind: str, value: object) -> str | None:
    if kind == "market_value":
        return None if not value else str(value)
    if kind == "registered_extent":
        return None if not Decimal(str(value)) else str(Decimal(str(value)).normalize())
    return None if value in ("", None) else str(value)


def normalised(kind: str, value: str | None) -> str | None:
    if value is not None and kind == "registered_extent":
        return str(Decimal(value).normalize())
    return value


def test_changes_recorded_exactly(engine: Engine) -> None:
    before = generate_roll(ROWS, SEED)
    after = mutate_roll(
        before,
        3,
        changed_values=7,
        changed_owners=5,
        new_properties=4,
        removed_properties=3,
        changed_use_codes=2,
        changed_extents=6,
    )
    expected = {
        (change.pin, HISTORY_KIND[change.kind])
        for change in describe_changes(before, after)
        if change.kind in HISTORY_KIND
    }
    with running_replica(roll=before) as site:
        first = run_scrape(settings(), engine, rolls=BOTH_ROLLS, source_url=site.url)
        site.state.roll = after
        second = run_scrape(settings(), engine, rolls=BOTH_ROLLS, source_url=site.url)

    assert (first.status, second.status) == ("complete", "complete")
    assert second.suspect_reason is None
    with engine.connect() as connection:
        recorded = connection.execute(
            text(
                "SELECT pin, kind, old_value, new_value FROM property_changes WHERE run_id = :run"
            ),
            {"run": second.run_id},
        ).all()
        second_started = connection.execute(
            text("SELECT started_at FROM scrape_runs WHERE id = :run"), {"run": second.run_id}
        ).scalar_one()
        removed_rows = connection.execute(
            text("SELECT count(*) FROM properties WHERE not_seen_since_run_id = :run"),
            {"run": second.run_id},
        ).scalar_one()
    assert {(row.pin, row.kind) for row in recorded} == expected
    assert removed_rows == 3

    values = {(row.pin, row.kind): (row.old_value, row.new_value) for row in recorded}
    for change in describe_changes(before, after):
        if change.kind in ("market_value", "first_owner", "registered_extent"):
            old, new = values[(change.pin, change.kind)]
            assert normalised(change.kind, old) == as_text(change.kind, change.old), change
            assert normalised(change.kind, new) == as_text(change.kind, change.new), change

    with TestClient(create_app(engine, settings=settings())) as client:
        response = client.get(
            "/changes", params={"since": second_started.isoformat(), "limit": 500}
        )
    assert response.status_code == 200
    items = response.json()["items"]
    assert {(item["pin"], item["kind"]) for item in items} == expected


def test_far_fewer_properties_suspect(engine: Engine) -> None:
    received: list[tuple[str, dict[str, object]]] = []

    def listener(kind: str, details: dict[str, object]) -> None:
        received.append((kind, details))

    events.add_listener(listener)
    try:
        full = generate_roll(ROWS, SEED)
        shrunk = mutate_roll(full, 4, removed_properties=400)
        with running_replica(roll=full) as site:
            first = run_scrape(settings(), engine, rolls=BOTH_ROLLS, source_url=site.url)
            site.state.roll = shrunk
            second = run_scrape(settings(), engine, rolls=BOTH_ROLLS, source_url=site.url)
    finally:
        events.remove_listener(listener)

    assert first.status == "complete"
    assert second.status == "complete"
    assert second.suspect_reason is not None
    assert "fewer" in second.suspect_reason
    assert [kind for kind, _ in received] == ["run_finished", "run_suspect", "run_finished"]
    assert received[2][1]["suspect_reason"] == second.suspect_reason
    with engine.connect() as connection:
        marked = connection.execute(
            text("SELECT count(*) FROM properties WHERE not_seen_since_run_id IS NOT NULL")
        ).scalar_one()
        suspect = connection.execute(
            text("SELECT suspect FROM scrape_runs WHERE id = :run"), {"run": second.run_id}
        ).scalar_one()
    assert marked == 0
    assert suspect is True
