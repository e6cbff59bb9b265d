"""GET /get_properties/property_type/{FULL|SECT}: the listing with the site's column names."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from .problem import problem

URL = "/get_properties/property_type/{}"
COLUMNS = {
    "rate_number", "legal_description", "address", "first_owner", "use_code",
    "rating_category", "market_value", "registered_extent",
}  # fmt: skip


def _rates(client: TestClient, kind: str, params: dict[str, Any] | None = None) -> list[str]:
    response = client.get(URL.format(kind), params=params)
    assert response.status_code == 200, response.text
    return [item["rate_number"] for item in response.json()["items"]]


def test_full_lists_full_roll_with_site_columns(client: TestClient) -> None:
    response = client.get(URL.format("FULL"))

    body = response.json()
    assert response.status_code == 200
    assert [item["rate_number"] for item in body["items"]] == [
        "10000001", "10000002", "10000003", "10000004", "20000007", "30000008",
    ]  # fmt: skip
    assert all(set(item) == COLUMNS for item in body["items"])
    assert body["items"][1] == {
        "rate_number": "10000002",
        "legal_description": "ERF 2 of PINETOWN",
        "address": "2 OAK ROAD, PINETOWN",
        "first_owner": "NAIDOO R",
        "use_code": body["items"][1]["use_code"],
        "rating_category": "Residential",
        "market_value": 250_000,
        "registered_extent": 1000.0,
    }
    assert body["next_cursor"] is None


def test_sect_lists_sectional_roll(client: TestClient) -> None:
    assert _rates(client, "SECT") == ["10000001", "20000006"]


def test_same_rows_as_properties_listing(client: TestClient) -> None:
    listing = client.get("/v1/properties", params={"roll": "sectional"}).json()["items"]
    compat = client.get(URL.format("SECT")).json()["items"]

    assert compat == [{name: item[name] for name in COLUMNS} for item in listing]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"rate_number": "1000000"}, ["10000001", "10000002", "10000003", "10000004"]),
        ({"street": "main"}, ["10000001", "10000003", "30000008"]),
        ({"suburb": "westville"}, ["10000003", "10000004"]),
        ({"first_owner": "mbatha"}, ["10000001", "30000008"]),
        ({"use_code": 51}, ["20000007"]),
        ({"rating_category": "vacant land"}, ["10000003", "10000004"]),
        ({"min_market_value": 500_000, "max_market_value": 1_000_000}, ["10000001", "30000008"]),
        (
            {"min_registered_extent": 1000, "max_registered_extent": 2500.5},
            ["10000002", "10000003"],
        ),
    ],
)
def test_filters_named_after_columns(
    client: TestClient, params: dict[str, Any], expected: list[str]
) -> None:
    assert _rates(client, "FULL", params) == expected


def test_pages_follow_cursor(client: TestClient) -> None:
    first = client.get(URL.format("FULL"), params={"limit": 4}).json()
    second = client.get(URL.format("FULL"), params={"limit": 4, "cursor": first["next_cursor"]})

    assert [item["rate_number"] for item in second.json()["items"]] == ["20000007", "30000008"]
    assert second.json()["next_cursor"] is None


def test_cursor_of_other_type_rejected(client: TestClient) -> None:
    full = client.get(URL.format("FULL"), params={"limit": 1}).json()

    response = client.get(URL.format("SECT"), params={"cursor": full["next_cursor"]})

    error = problem(response)
    assert response.status_code == 422
    assert error["parameter"] == "cursor"


@pytest.mark.parametrize("kind", ["ALL", "full", "SECTIONAL"])
def test_unknown_property_type_422(client: TestClient, kind: str) -> None:
    response = client.get(URL.format(kind))

    error = problem(response)
    assert response.status_code == 422
    assert error["parameter"] == "property_type"
    assert "'FULL' or 'SECT'" in error["detail"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"owner": "x"}, "owner"),
        ({"rate_number": "1234567890"}, "rate_number"),
        ({"min_registered_extent": 9, "max_registered_extent": 1}, "min_registered_extent"),
    ],
)
def test_invalid_parameter_422(client: TestClient, params: dict[str, Any], parameter: str) -> None:
    response = client.get(URL.format("FULL"), params=params)

    assert response.status_code == 422
    assert problem(response)["parameter"] == parameter
