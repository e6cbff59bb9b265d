"""GET /properties/{rate_number}, /suburbs and /health."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine

from durban_valuations.api.app import create_app
from durban_valuations.config.settings import Settings

from .problem import problem


def test_rate_number_in_both_rolls(client: TestClient) -> None:
    response = client.get("/properties/10000001")

    assert response.status_code == 200
    body = response.json()
    assert body["rate_number"] == "10000001"
    assert [(item["roll"], item["pin"]) for item in body["properties"]] == [
        ("full", 1),
        ("sectional", 5),
    ]
    assert {item["roll_year"] for item in body["properties"]} == {2022}


def test_rate_number_detail_fields(client: TestClient) -> None:
    body = client.get("/properties/10000002").json()

    [item] = body["properties"]
    assert item["owners"] == [
        {"position": 1, "name": "NAIDOO R"},
        {"position": 2, "name": "PILLAY S"},
    ]
    assert item["details"]["government_code"] == "GV1"
    assert item["details"]["property_type"] == "Freehold"
    assert item["details"]["exemptions"] is None
    assert item["details"]["fetched_at"] is not None
    assert item["raw_market_value"] == "250,000"
    assert item["market_value"] == 250_000
    assert item["details_href"] == "/FramePages/Details.aspx?PIN=2"


def test_rate_number_without_details(client: TestClient) -> None:
    [item] = client.get("/properties/20000007").json()["properties"]
    assert item["details"] is None
    assert item["owners"] == [{"position": 1, "name": "ACME TRADING CC"}]


def test_unknown_rate_number_404(client: TestClient) -> None:
    response = client.get("/properties/99999999")

    assert response.status_code == 404
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "no property has rate number 99999999 in the 2022 roll",
        "instance": "/properties/99999999",
        "parameter": "rate_number",
    }


def test_malformed_rate_number_422(client: TestClient) -> None:
    response = client.get("/properties/12ab")

    assert response.status_code == 422
    assert problem(response)["parameter"] == "rate_number"
    assert "expected 8 digits" in problem(response)["detail"]


def test_suburbs_counts_and_medians(client: TestClient) -> None:
    response = client.get("/suburbs")

    assert response.status_code == 200
    assert response.json() == [
        {"name": "PINETOWN", "property_count": 3, "median_market_value": 500_000},
        {"name": "UMHLANGA", "property_count": 2, "median_market_value": 1_050_000},
        {"name": "WESTVILLE", "property_count": 2, "median_market_value": 50_000},
    ]


def test_suburbs_by_roll(client: TestClient) -> None:
    full = client.get("/suburbs", params={"roll": "full"}).json()
    sectional = client.get("/suburbs", params={"roll": "sectional"}).json()

    assert [suburb["name"] for suburb in full] == ["PINETOWN", "WESTVILLE"]
    assert [suburb["name"] for suburb in sectional] == ["UMHLANGA"]


def test_health_ok(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def _refuse_connection() -> psycopg.Connection[tuple[object, ...]]:
    raise psycopg.OperationalError("connection refused")


@pytest.fixture
def unreachable_client() -> Iterator[TestClient]:
    """A client whose engine fails every connection attempt without opening a socket."""
    engine = create_engine("postgresql+psycopg://", creator=_refuse_connection)
    app = create_app(engine, settings=Settings(_env_file=None))
    with TestClient(app) as test_client:
        yield test_client
    engine.dispose()


@pytest.mark.parametrize("url", ["/ready", "/properties", "/suburbs", "/properties/10000001"])
def test_database_unreachable_503(unreachable_client: TestClient, url: str) -> None:
    response = unreachable_client.get(url)

    assert response.status_code == 503
    error = problem(response)
    assert error["status"] == 503
    assert "database is unreachable" in error["detail"]
    assert error["parameter"] is None


def test_health_does_not_need_the_database(unreachable_client: TestClient) -> None:
    assert unreachable_client.get("/health").json() == {"status": "ok"}


def test_ready_unmigrated_503(empty_database_url: str) -> None:
    app = create_app(empty_database_url, settings=Settings(_env_file=None))
    with TestClient(app) as test_client:
        response = test_client.get("/ready")

    assert response.status_code == 503
    assert "durban-valuations db upgrade" in problem(response)["detail"]


def test_app_resolves_url_from_settings(loaded_engine: Engine, database_url: str) -> None:
    app = create_app(settings=Settings(_env_file=None, database_url=database_url))
    with TestClient(app) as test_client:
        health = test_client.get("/health")
        items = test_client.get("/properties", params={"limit": 500}).json()["items"]

    assert health.status_code == 200
    assert len(items) == 8


def test_invalid_database_url_503() -> None:
    app = create_app(settings=Settings(_env_file=None, database_url="sqlite:///roll.db"))
    with TestClient(app) as test_client:
        response = test_client.get("/ready")

    assert response.status_code == 503
    assert "DATABASE_URL" in problem(response)["detail"]
