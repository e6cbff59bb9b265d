"""GET /runs, /runs/{run_id}, /properties/{rate_number}/history and /changes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from durban_valuations.api.app import create_app
from durban_valuations.clean.models import CleanProperty
from durban_valuations.config.settings import Settings
from durban_valuations.store.history import ChangeKind
from durban_valuations.store.runs import finish_run, start_run
from durban_valuations.store.tables import CHANGE_KINDS
from durban_valuations.store.upsert import mark_not_seen, upsert_properties

from .conftest import roll_2022_properties
from .problem import problem

PropertyFactory = Callable[..., CleanProperty]
LONG_AGO = "2000-01-01T00:00:00Z"
REPORT = {
    "rolls": [
        {
            "roll": "full",
            "searches": 12,
            "splits": 2,
            "rows_seen": 900,
            "properties": 6,
            "properties_by_dimension": {"suburb": 6, "volume": 5},
            "properties_only_in": {"suburb": 1, "volume": 0},
            "failed_searches": [{"search": "volume=7", "dimension": "volume", "error": "timeout"}],
        }
    ],
    "details_fetched": 4,
}


@pytest.fixture
def history_client(loaded_engine: Engine, make_property: PropertyFactory) -> Iterator[TestClient]:
    """The loaded roll after two more runs: one with changes, one that misses pin 4."""
    rows = roll_2022_properties(make_property)
    with loaded_engine.begin() as connection:
        first_run = connection.execute(text("SELECT min(id) FROM scrape_runs")).scalar_one()
        finish_run(connection, first_run, "complete")
    with loaded_engine.begin() as connection:
        second_run = start_run(connection, 2022, "all", "http://127.0.0.1:8001")
        changed = list(rows)
        changed[0] = dataclasses.replace(rows[0], market_value=550_000)  # pin 1, full
        changed[4] = dataclasses.replace(rows[4], first_owner="NEW OWNER")  # pin 5, sectional
        upsert_properties(connection, 2022, second_run, changed)
        finish_run(connection, second_run, "complete", report=REPORT, requests=40, retries=2)
    with loaded_engine.begin() as connection:
        third_run = start_run(connection, 2022, "full", "http://127.0.0.1:8001")
        seen = [row for row in changed if row.pin != 4 and row.roll.value == "full"]
        upsert_properties(connection, 2022, third_run, seen)
        finish_run(connection, third_run, "complete")
        mark_not_seen(connection, 2022, third_run, ["full"])
    app = create_app(loaded_engine, settings=Settings(_env_file=None, roll_year=2022))
    with TestClient(app) as test_client:
        yield test_client


def _error(response: Any) -> dict[str, Any]:
    return problem(response)


def _walk(client: TestClient, url: str, params: dict[str, Any]) -> tuple[list[Any], int]:
    items: list[Any] = []
    pages = 0
    cursor = None
    while True:
        response = client.get(url, params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        assert len(body["items"]) <= params["limit"]
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages


def test_change_kind_matches_table() -> None:
    assert tuple(kind.value for kind in ChangeKind) == CHANGE_KINDS


def test_runs_newest_first(history_client: TestClient) -> None:
    body = history_client.get("/runs").json()

    assert [run["id"] for run in body["items"]] == [3, 2, 1]
    assert body["limit"] == 20
    assert body["next_cursor"] is None
    assert "report" not in body["items"][0]
    assert body["items"][1]["requests"] == 40
    assert body["items"][1]["status"] == "complete"


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_runs_cursor_walk(history_client: TestClient, limit: int) -> None:
    runs, pages = _walk(history_client, "/runs", {"limit": limit})
    assert [run["id"] for run in runs] == [3, 2, 1]
    assert pages == -(-3 // limit)


def test_runs_before_id(history_client: TestClient) -> None:
    body = history_client.get("/runs", params={"before_id": 3, "limit": 1}).json()
    assert [run["id"] for run in body["items"]] == [2]
    assert body["next_cursor"] is not None


@pytest.mark.parametrize(
    ("params", "parameter", "text_in_message"),
    [
        ({"limit": 0}, "limit", "greater than or equal to 1"),
        ({"limit": 101}, "limit", "less than or equal to 100"),
        ({"before_id": 0}, "before_id", "greater than or equal to 1"),
        ({"cursor": "garbage"}, "cursor", "invalid cursor"),
        ({"cursor": "WyJydW4iLCJ4Il0"}, "cursor", "invalid cursor"),
        ({"before_id": 2, "cursor": "WyJydW4iLDJd"}, "before_id", "only one of them"),
        ({"page": 2}, "page", "unknown query parameter 'page'"),
    ],
)
def test_runs_bad_parameters(
    history_client: TestClient, params: dict[str, Any], parameter: str, text_in_message: str
) -> None:
    error = _error(history_client.get("/runs", params=params))
    assert error["status"] == 422
    assert error["parameter"] == parameter
    assert text_in_message in error["detail"]


def test_run_detail_with_report(history_client: TestClient) -> None:
    body = history_client.get("/runs/2").json()

    assert body["id"] == 2
    assert body["rolls"] == "all"
    assert (body["requests"], body["retries"], body["suspect"]) == (40, 2, False)
    assert body["properties_updated"] == 0
    assert body["report"] == REPORT


def test_run_detail_without_report(history_client: TestClient) -> None:
    body = history_client.get("/runs/3").json()
    assert body["report"] is None
    assert body["finished_at"] is not None


@pytest.mark.parametrize(
    ("url", "status", "parameter"),
    [("/runs/99", 404, "run_id"), ("/runs/abc", 422, "run_id"), ("/runs/0", 422, "run_id")],
)
def test_run_detail_errors(
    history_client: TestClient, url: str, status: int, parameter: str
) -> None:
    error = _error(history_client.get(url))
    assert error["status"] == status
    assert error["parameter"] == parameter


def test_run_detail_rejects_parameters(history_client: TestClient) -> None:
    error = _error(history_client.get("/runs/2", params={"verbose": 1}))
    assert error["parameter"] == "verbose"
    assert "takes no query parameters" in error["detail"]


def test_history_both_rolls(history_client: TestClient) -> None:
    body = history_client.get("/properties/10000001/history").json()

    assert body["rate_number"] == "10000001"
    changes = [
        (item["roll"], item["pin"], item["run_id"], item["kind"], item["old_value"],
         item["new_value"])
        for item in body["changes"]
    ]  # fmt: skip
    assert changes == [
        ("full", 1, 1, "new", None, None),
        ("sectional", 5, 1, "new", None, None),
        ("full", 1, 2, "market_value", "500000", "550000"),
        ("sectional", 5, 2, "first_owner", "SMITH J", "NEW OWNER"),
    ]
    ids = [item["id"] for item in body["changes"]]
    assert ids == sorted(ids)
    assert all(item["roll_year"] == 2022 for item in body["changes"])
    assert all(item["changed_at"] for item in body["changes"])


def test_history_not_seen(history_client: TestClient) -> None:
    body = history_client.get("/properties/10000004/history").json()
    kinds = [(item["kind"], item["run_id"], item["old_value"]) for item in body["changes"]]
    assert kinds == [("new", 1, None), ("not_seen", 3, "2")]


@pytest.mark.parametrize(
    ("url", "status"), [("/properties/99999999/history", 404), ("/properties/12ab/history", 422)]
)
def test_history_errors(history_client: TestClient, url: str, status: int) -> None:
    error = _error(history_client.get(url))
    assert error["status"] == status
    assert error["parameter"] == "rate_number"


def test_changes_since_long_ago(history_client: TestClient) -> None:
    body = history_client.get("/changes", params={"since": LONG_AGO}).json()

    kinds = [(item["pin"], item["kind"]) for item in body["items"]]
    # Eight new properties of 2022 (pin 1 of 2021 is another roll year), two changes and
    # the not-seen mark of pin 4.
    assert kinds == [(pin, "new") for pin in range(1, 9)] + [
        (1, "market_value"),
        (5, "first_owner"),
        (4, "not_seen"),
    ]
    assert body["next_cursor"] is None
    assert body["limit"] == 100


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "market_value"}, [(1, "market_value")]),
        ({"kind": "not_seen"}, [(4, "not_seen")]),
        ({"kind": "seen_again"}, []),
        ({"roll": "sectional"}, [(5, "new"), (6, "new"), (5, "first_owner")]),
        ({"roll": "sectional", "kind": "first_owner"}, [(5, "first_owner")]),
    ],
)
def test_changes_filters(
    history_client: TestClient, params: dict[str, Any], expected: list[tuple[int, str]]
) -> None:
    body = history_client.get("/changes", params={"since": LONG_AGO, **params}).json()
    assert [(item["pin"], item["kind"]) for item in body["items"]] == expected


def test_changes_since_excludes_older(history_client: TestClient) -> None:
    everything = history_client.get("/changes", params={"since": LONG_AGO}).json()["items"]
    last = datetime.fromisoformat(everything[-1]["changed_at"])
    before_last = (last - timedelta(microseconds=1)).isoformat()

    at_last = history_client.get("/changes", params={"since": last.isoformat()}).json()
    after = history_client.get("/changes", params={"since": before_last}).json()
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    none = history_client.get("/changes", params={"since": future}).json()

    assert at_last["items"] == []
    assert [item["kind"] for item in after["items"]] == ["not_seen"]
    assert none["items"] == []


@pytest.mark.parametrize("limit", [1, 2, 4, 11])
def test_changes_walk_no_gaps(history_client: TestClient, limit: int) -> None:
    everything = history_client.get("/changes", params={"since": LONG_AGO}).json()["items"]

    walked, pages = _walk(history_client, "/changes", {"since": LONG_AGO, "limit": limit})

    assert [item["id"] for item in walked] == [item["id"] for item in everything]
    assert pages == -(-len(everything) // limit)


@pytest.mark.parametrize(
    ("params", "parameter", "text_in_message"),
    [
        ({}, "since", "missing required parameter since"),
        ({"since": "yesterday"}, "since", "ISO 8601 datetime with a time zone"),
        ({"since": "2024-07-01T00:00:00"}, "since", "ISO 8601 datetime with a time zone"),
        ({"since": "2024-13-01T00:00:00Z"}, "since", "ISO 8601"),
        ({"since": LONG_AGO, "kind": "price"}, "kind", "'market_value'"),
        ({"since": LONG_AGO, "roll": "both"}, "roll", "'full'"),
        ({"since": LONG_AGO, "limit": 0}, "limit", "greater than or equal to 1"),
        ({"since": LONG_AGO, "limit": 1001}, "limit", "less than or equal to 1000"),
        ({"since": LONG_AGO, "cursor": "garbage"}, "cursor", "invalid cursor"),
        ({"since": LONG_AGO, "after": "x"}, "after", "unknown query parameter 'after'"),
    ],
)
def test_changes_bad_parameters(
    history_client: TestClient, params: dict[str, Any], parameter: str, text_in_message: str
) -> None:
    error = _error(history_client.get("/changes", params=params))
    assert error["status"] == 422
    assert error["parameter"] == parameter
    assert text_in_message in error["detail"]


def test_changes_cursor_of_other_filters(history_client: TestClient) -> None:
    first = history_client.get("/changes", params={"since": LONG_AGO, "limit": 1}).json()

    response = history_client.get(
        "/changes", params={"since": LONG_AGO, "kind": "new", "cursor": first["next_cursor"]}
    )

    error = _error(response)
    assert error["status"] == 422
    assert error["parameter"] == "cursor"
    assert "same filters" in error["detail"]


def test_changes_forged_cursor(history_client: TestClient) -> None:
    first = history_client.get("/changes", params={"since": LONG_AGO, "limit": 1}).json()
    prefix = first["next_cursor"].split(".")[0]

    error = _error(
        history_client.get(
            "/changes", params={"since": LONG_AGO, "limit": 1, "cursor": f"{prefix}.bnVsbA"}
        )
    )

    assert error["parameter"] == "cursor"
    assert error["detail"].startswith("invalid cursor")


def test_run_detail_of_running_run(history_client: TestClient, loaded_engine: Engine) -> None:
    with loaded_engine.begin() as connection:
        run_id = start_run(connection, 2022, "full", "http://127.0.0.1:8001", scope="PINETOWN")

    response = history_client.get(f"/runs/{run_id}")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "running"
    assert body["finished_at"] is None
    assert body["report"] == {"scope": "PINETOWN"}
