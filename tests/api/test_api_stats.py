"""GET /stats and GET /suburbs/{name}/stats, checked against Python's statistics module."""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from durban_valuations.api.app import create_app
from durban_valuations.clean.models import CleanProperty
from durban_valuations.config.settings import Settings
from durban_valuations.site.models import Roll
from durban_valuations.store.runs import finish_run, start_run
from durban_valuations.store.upsert import upsert_properties

from .problem import problem

PropertyFactory = Callable[..., CleanProperty]

CATEGORIES = ("Residential", "Business", "Agricultural", None)
USE_CODES = ((15, "Single Residential"), (47, "Vacant Land"), (51, "Offices"), (None, None))
SUBURBS = ("PINETOWN", "WESTVILLE", "Umhlanga")


def _generated_roll(make_property: PropertyFactory) -> list[CleanProperty]:
    """Build 300 properties with repeatable random values, categories and use codes.

    About one in ten has no market value, and extents include None and 0, so each group
    has values to leave out.
    """
    generator = random.Random(6)
    rows = []
    for pin in range(1, 301):
        roll = Roll.SECTIONAL if pin % 3 == 0 else Roll.FULL
        number, description = generator.choice(USE_CODES)
        extent_choice = generator.random()
        if extent_choice < 0.1:
            extent: Decimal | None = None
        elif extent_choice < 0.15:
            extent = Decimal(0)
        else:
            extent = Decimal(generator.randint(30, 5000)) + Decimal(generator.randint(0, 99)) / 100
        value = None if generator.random() < 0.1 else generator.randint(0, 20_000_000)
        rows.append(
            make_property(
                pin,
                roll=roll,
                suburb=generator.choice(SUBURBS),
                rating_category=generator.choice(CATEGORIES),
                use_code=None if number is None else f"{description} ({number})",
                use_code_number=number,
                use_code_description=description,
                market_value=value,
                registered_extent=extent,
            )
        )
    return rows


@pytest.fixture
def generated(engine: Engine, make_property: PropertyFactory) -> list[CleanProperty]:
    """The generated roll, stored by one complete run of 2022."""
    rows = _generated_roll(make_property)
    with engine.begin() as connection:
        run_id = start_run(connection, 2022, "all", "http://127.0.0.1:8001")
        upsert_properties(connection, 2022, run_id, rows)
        finish_run(connection, run_id, "complete")
    return rows


@pytest.fixture
def stats_client(engine: Engine, generated: list[CleanProperty]) -> Iterator[TestClient]:
    """Test client of an app on the generated roll, for the 2022 roll."""
    app = create_app(engine, settings=Settings(_env_file=None, roll_year=2022))
    with TestClient(app) as test_client:
        yield test_client


def _expected_distribution(values: list[float], property_count: int) -> dict[str, Any]:
    if not values:
        empty = dict.fromkeys(("min", "q1", "median", "q3", "max", "mean"))
        return {"count": 0, "missing": property_count, **empty}
    quartiles = (
        statistics.quantiles(values, n=4, method="inclusive")
        if len(values) > 1
        else [values[0]] * 3
    )
    return {
        "count": len(values),
        "missing": property_count - len(values),
        "min": min(values),
        "q1": quartiles[0],
        "median": quartiles[1],
        "q3": quartiles[2],
        "max": max(values),
        "mean": statistics.fmean(values),
    }


def _expected_group(rows: list[CleanProperty]) -> dict[str, Any]:
    values = [row.market_value for row in rows if row.market_value is not None]
    per_m2 = [
        row.market_value / float(row.registered_extent)
        for row in rows
        if row.market_value is not None
        and row.registered_extent is not None
        and row.registered_extent > 0
    ]
    without_extent = sum(
        1 for row in rows if row.registered_extent is None or row.registered_extent <= 0
    )
    return {
        "property_count": len(rows),
        "without_extent": without_extent,
        "market_value": _expected_distribution([float(value) for value in values], len(rows)),
        "value_per_m2": _expected_distribution(per_m2, len(rows)),
    }


def _assert_group(actual: dict[str, Any], expected: dict[str, Any], label: str) -> None:
    assert actual["property_count"] == expected["property_count"], label
    assert actual["without_extent"] == expected["without_extent"], label
    market = actual["market_value"]
    # Integer values make every market value quartile a multiple of 0.25, which both
    # PostgreSQL and Python compute exactly; only the mean is rounded.
    for field in ("count", "missing", "min", "q1", "median", "q3", "max"):
        assert market[field] == expected["market_value"][field], f"{label} market_value.{field}"
    assert market["mean"] == pytest.approx(expected["market_value"]["mean"], rel=1e-12), label
    per_m2 = actual["value_per_m2"]
    for field in ("count", "missing"):
        assert per_m2[field] == expected["value_per_m2"][field], f"{label} value_per_m2.{field}"
    for field in ("min", "q1", "median", "q3", "max", "mean"):
        assert per_m2[field] == pytest.approx(expected["value_per_m2"][field], rel=1e-12), (
            f"{label} value_per_m2.{field}"
        )


def _roll_item(body: dict[str, Any], roll: str) -> dict[str, Any]:
    [item] = [item for item in body["rolls"] if item["roll"] == roll]
    result: dict[str, Any] = item
    return result


def _error(response: Any) -> dict[str, Any]:
    return problem(response)


def test_stats_roll_totals(stats_client: TestClient, generated: list[CleanProperty]) -> None:
    response = stats_client.get("/stats")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["roll_year"] == 2022
    assert body["suburb"] is None
    assert [item["roll"] for item in body["rolls"]] == ["full", "sectional"]
    for roll in Roll:
        rows = [row for row in generated if row.roll is roll]
        _assert_group(_roll_item(body, roll.value), _expected_group(rows), roll.value)


def test_stats_by_rating_category(stats_client: TestClient, generated: list[CleanProperty]) -> None:
    body = stats_client.get("/stats").json()

    for roll in Roll:
        groups = _roll_item(body, roll.value)["by_rating_category"]
        assert [group["rating_category"] for group in groups] == [
            "Agricultural",
            "Business",
            "Residential",
            None,
        ]
        for group in groups:
            rows = [
                row
                for row in generated
                if row.roll is roll and row.rating_category == group["rating_category"]
            ]
            _assert_group(group, _expected_group(rows), f"{roll} {group['rating_category']}")


def test_stats_by_use_code(stats_client: TestClient, generated: list[CleanProperty]) -> None:
    body = stats_client.get("/stats").json()

    for roll in Roll:
        groups = _roll_item(body, roll.value)["by_use_code"]
        assert [(group["use_code_number"], group["use_code_description"]) for group in groups] == [
            (15, "Single Residential"),
            (47, "Vacant Land"),
            (51, "Offices"),
            (None, None),
        ]
        for group in groups:
            rows = [
                row
                for row in generated
                if row.roll is roll and row.use_code_number == group["use_code_number"]
            ]
            _assert_group(group, _expected_group(rows), f"{roll} {group['use_code_number']}")


def test_stats_roll_parameter(stats_client: TestClient, generated: list[CleanProperty]) -> None:
    body = stats_client.get("/stats", params={"roll": "sectional"}).json()

    assert [item["roll"] for item in body["rolls"]] == ["sectional"]
    rows = [row for row in generated if row.roll is Roll.SECTIONAL]
    _assert_group(body["rolls"][0], _expected_group(rows), "sectional")


def test_stats_names_its_run(stats_client: TestClient, engine: Engine) -> None:
    with engine.connect() as connection:
        run_id, finished_at = connection.execute(
            text("SELECT id, finished_at FROM scrape_runs")
        ).one()

    body = stats_client.get("/stats").json()

    assert body["run"]["id"] == run_id
    assert datetime.fromisoformat(body["run"]["finished_at"]) == finished_at


def test_suburb_stats(stats_client: TestClient, generated: list[CleanProperty]) -> None:
    body = stats_client.get("/suburbs/WESTVILLE/stats").json()

    assert body["suburb"] == "WESTVILLE"
    for roll in Roll:
        rows = [row for row in generated if row.roll is roll and row.suburb == "WESTVILLE"]
        _assert_group(_roll_item(body, roll.value), _expected_group(rows), roll.value)


def test_suburb_stats_ignores_case(stats_client: TestClient) -> None:
    stored = stats_client.get("/suburbs/Umhlanga/stats").json()
    upper = stats_client.get("/suburbs/UMHLANGA/stats").json()

    assert upper["suburb"] == "UMHLANGA"
    assert upper["rolls"] == stored["rolls"]
    assert stored["rolls"][0]["property_count"] > 0


@pytest.mark.parametrize(
    "path", ["/suburbs/L/LUCIA RIDGE/stats", "/suburbs/L%2FLUCIA%20RIDGE/stats"]
)
def test_suburb_stats_name_with_slash(
    client: TestClient, engine: Engine, make_property: PropertyFactory, path: str
) -> None:
    with engine.begin() as connection:
        upsert_properties(connection, 2022, 1, [make_property(60, suburb="L/LUCIA RIDGE")])

    response = client.get(path)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["suburb"] == "L/LUCIA RIDGE"
    assert _roll_item(body, "full")["property_count"] == 1


def test_suburb_stats_unknown_404(stats_client: TestClient) -> None:
    response = stats_client.get("/suburbs/ATLANTIS/stats")

    assert response.status_code == 404
    error = _error(response)
    assert error["parameter"] == "name"
    assert error["detail"] == (
        "no property in suburb 'ATLANTIS' in the 2022 roll; GET /suburbs lists the suburb "
        "names with their property counts"
    )


def test_suburb_stats_empty_roll_404(client: TestClient) -> None:
    # In the shared test roll, UMHLANGA has only sectional properties.
    assert client.get("/suburbs/UMHLANGA/stats").status_code == 200

    response = client.get("/suburbs/UMHLANGA/stats", params={"roll": "full"})

    assert response.status_code == 404
    assert "in the 2022 full roll" in _error(response)["detail"]


@pytest.mark.parametrize(
    ("path", "params", "parameter", "text_in_message"),
    [
        ("/stats", {"roll": "both"}, "roll", "invalid roll 'both'"),
        ("/stats", {"roll": "both"}, "roll", "'full' or 'sectional'"),
        ("/stats", {"suburb": "PINETOWN"}, "suburb", "unknown query parameter 'suburb'"),
        ("/stats", {"suburb": "PINETOWN"}, "suburb", "expected one of roll"),
        ("/suburbs/PINETOWN/stats", {"roll": ""}, "roll", "invalid roll ''"),
        ("/suburbs/PINETOWN/stats", {"limit": 5}, "limit", "unknown query parameter 'limit'"),
        ("/suburbs/" + "A" * 201 + "/stats", {}, "name", "at most 200 characters"),
    ],
)
def test_stats_bad_parameters(
    client: TestClient, path: str, params: dict[str, Any], parameter: str, text_in_message: str
) -> None:
    response = client.get(path, params=params)

    assert response.status_code == 422
    error = _error(response)
    assert error["parameter"] == parameter
    assert text_in_message in error["detail"]


def test_stats_other_roll_year_left_out(client: TestClient) -> None:
    # The shared test roll has six full properties of 2022 and pin 1 of 2021.
    body = client.get("/stats").json()

    assert _roll_item(body, "full")["property_count"] == 6
    assert _roll_item(body, "sectional")["property_count"] == 2


def test_stats_zero_extent_left_out(client: TestClient, engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE properties SET registered_extent = 0 WHERE pin = 2"))

    full = _roll_item(client.get("/stats").json(), "full")

    # Pin 4 has no value and no extent, and pin 2 has an extent of 0.
    assert full["without_extent"] == 2
    assert full["market_value"]["count"] == 5
    assert full["market_value"]["missing"] == 1
    assert full["value_per_m2"]["count"] == 4
    assert full["value_per_m2"]["missing"] == 2


def test_stats_without_complete_run_not_cached(
    client: TestClient, engine: Engine, make_property: PropertyFactory
) -> None:
    # The shared test roll was stored by a run that is still running.
    first = client.get("/stats").json()
    with engine.begin() as connection:
        upsert_properties(connection, 2022, 1, [make_property(50, market_value=10)])

    second = client.get("/stats").json()

    assert first["run"] is None
    assert _roll_item(second, "full")["property_count"] == 7
    assert _roll_item(second, "full")["market_value"]["min"] == 10
    assert len(client.app.state.statistics_cache) == 0  # type: ignore[attr-defined]


def test_stats_cached_until_next_complete_run(
    stats_client: TestClient, engine: Engine, make_property: PropertyFactory
) -> None:
    first = stats_client.get("/stats").json()
    with engine.begin() as connection:
        run_id = start_run(connection, 2022, "full", "http://127.0.0.1:8001")
        upsert_properties(connection, 2022, run_id, [make_property(1000, market_value=1)])

    during_run = stats_client.get("/stats").json()

    assert during_run == first
    with engine.begin() as connection:
        finish_run(connection, run_id, "complete")

    after_run = stats_client.get("/stats").json()

    assert after_run["run"]["id"] == run_id
    assert datetime.fromisoformat(after_run["computed_at"]) > datetime.fromisoformat(
        first["computed_at"]
    )
    full = _roll_item(after_run, "full")
    assert full["property_count"] == _roll_item(first, "full")["property_count"] + 1
    assert full["market_value"]["min"] == 1


def test_stats_cache_ignores_suspect_run(
    stats_client: TestClient, engine: Engine, make_property: PropertyFactory
) -> None:
    first = stats_client.get("/stats").json()
    with engine.begin() as connection:
        run_id = start_run(connection, 2022, "full", "http://127.0.0.1:8001")
        upsert_properties(connection, 2022, run_id, [make_property(1000, market_value=1)])
        finish_run(connection, run_id, "complete", suspect=True, suspect_reason="too few rows")

    assert stats_client.get("/stats").json() == first


def test_stats_cache_keys(stats_client: TestClient) -> None:
    cache = stats_client.app.state.statistics_cache  # type: ignore[attr-defined]

    stats_client.get("/stats")
    stats_client.get("/stats", params={"roll": "full"})
    stats_client.get("/suburbs/PINETOWN/stats")
    stats_client.get("/suburbs/pinetown/stats")

    assert len(cache) == 4
    whole = stats_client.get("/stats").json()
    full_only = stats_client.get("/stats", params={"roll": "full"}).json()
    assert len(whole["rolls"]) == 2
    assert len(full_only["rolls"]) == 1
