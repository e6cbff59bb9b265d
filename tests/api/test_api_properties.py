"""GET /properties: filters, sorting, cursor pagination and limits."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import ROLL_2022


def _pins(client: TestClient, params: dict[str, Any]) -> list[int]:
    response = client.get("/properties", params=params)
    assert response.status_code == 200, response.text
    return [item["pin"] for item in response.json()["items"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [1, 5, 2, 3, 4, 6, 7, 8]),
        ({"roll": "full"}, [1, 2, 3, 4, 7, 8]),
        ({"roll": "sectional"}, [5, 6]),
        ({"rate_number": "10000001"}, [1, 5]),
        ({"rate_number_contains": "1000000"}, [1, 5, 2, 3, 4]),
        ({"rate_number_contains": "8"}, [8]),
        ({"suburb": "pinetown"}, [1, 2, 8]),
        ({"suburb": "pine"}, []),
        ({"street": "main"}, [1, 3, 8]),
        ({"street": "%"}, [4]),
        ({"deeds_town": "Umhlanga Rocks"}, [5, 6]),
        ({"use_code": 47}, [3, 4]),
        ({"rating_category": "vacant land"}, [3, 4]),
        ({"min_market_value": 500_000}, [1, 5, 6, 7, 8]),
        ({"max_market_value": 250_000}, [2, 3]),
        ({"min_market_value": 250_000, "max_market_value": 500_000}, [1, 2, 8]),
        ({"min_extent": 1000}, [2, 3, 7]),
        ({"max_extent": 85}, [5, 6]),
        ({"min_extent": 2500.5, "max_extent": 2500.5}, [3]),
        ({"owner": "pillay"}, [2]),
        ({"owner": "mbatha"}, [1, 8]),
        ({"owner": "acme"}, [7]),
        ({"q": "hawthorn"}, [5, 6]),
        ({"q": "lighthouse"}, [5, 6]),
        ({"q": "erf 3 of"}, [3]),
        ({"q": "acme trading"}, [7]),
        ({"roll": "full", "suburb": "PINETOWN", "min_market_value": 300_000}, [1, 8]),
    ],
)
def test_filter(client: TestClient, params: dict[str, Any], expected: list[int]) -> None:
    assert _pins(client, params) == expected


def _expected_order(field: str, descending: bool) -> list[int]:
    index = {"suburb": 2, "market_value": 7, "registered_extent": 8}.get(field, 1)
    present = [pin for pin, row in ROLL_2022.items() if row[index] is not None]
    missing = [pin for pin, row in ROLL_2022.items() if row[index] is None]
    present.sort(key=lambda pin: (ROLL_2022[pin][index], pin), reverse=descending)
    missing.sort(reverse=descending)
    return present + missing


def _walk(client: TestClient, params: dict[str, Any]) -> tuple[list[int], int]:
    pins: list[int] = []
    pages = 0
    cursor = None
    while True:
        page_params = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get("/properties", params=page_params)
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        assert len(body["items"]) <= params["limit"]
        pins += [item["pin"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return pins, pages


@pytest.mark.parametrize("field", ["rate_number", "market_value", "registered_extent", "suburb"])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("limit", [1, 3, 8])
def test_sort_and_cursor_walk(client: TestClient, field: str, descending: bool, limit: int) -> None:
    sort = f"-{field}" if descending else field

    pins, pages = _walk(client, {"sort": sort, "limit": limit})

    assert pins == _expected_order(field, descending)
    assert pages == -(-len(ROLL_2022) // limit)


def test_cursor_walk_with_filter(client: TestClient) -> None:
    pins, _ = _walk(client, {"sort": "-market_value", "limit": 2, "roll": "full"})
    assert pins == [7, 8, 1, 2, 3, 4]


def test_page_shape_and_types(client: TestClient) -> None:
    response = client.get("/properties", params={"rate_number": "10000003"})
    body = response.json()

    assert body["limit"] == 50
    assert body["next_cursor"] is None
    item = body["items"][0]
    assert item["roll"] == "full"
    assert item["roll_year"] == 2022
    assert item["market_value"] == 50_000
    assert isinstance(item["market_value"], int)
    assert item["registered_extent"] == 2500.5
    assert item["use_code_number"] == 47
    assert item["is_remainder"] is False


@pytest.mark.parametrize(("limit", "expected_items"), [(1, 1), (500, 8)])
def test_limit_bounds_accepted(client: TestClient, limit: int, expected_items: int) -> None:
    response = client.get("/properties", params={"limit": limit})
    assert response.status_code == 200
    assert response.json()["limit"] == limit
    assert len(response.json()["items"]) == expected_items


def test_other_roll_year_hidden(client: TestClient) -> None:
    items = client.get("/properties", params={"rate_number": "10000001"}).json()["items"]
    assert {item["roll_year"] for item in items} == {2022}
