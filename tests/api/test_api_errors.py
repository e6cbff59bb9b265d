"""Errors as RFC 9457 problem details: invalid parameters, bad cursors, unknown routes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from .problem import problem


def _error(client: TestClient, url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return problem(client.get(url, params=params))


def test_error_shape_pinned(client: TestClient) -> None:
    response = client.get("/properties", params={"min_market_value": "cheap"})

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "type": "about:blank",
        "title": "Unprocessable Entity",
        "status": 422,
        "detail": "invalid min_market_value 'cheap': input should be a valid integer, "
        "unable to parse string as an integer",
        "instance": "/properties",
        "parameter": "min_market_value",
    }


@pytest.mark.parametrize(
    ("params", "parameter", "expected_text"),
    [
        ({"limit": 0}, "limit", "greater than or equal to 1"),
        ({"limit": 501}, "limit", "less than or equal to 500"),
        ({"limit": "many"}, "limit", "valid integer"),
        ({"roll": "both"}, "roll", "'full' or 'sectional'"),
        ({"rate_number": "1234"}, "rate_number", "expected 8 digits"),
        ({"rate_number": "1234567a"}, "rate_number", "expected 8 digits"),
        ({"rate_number_contains": "123456789"}, "rate_number_contains", "1 to 8 digits"),
        ({"sort": "owner"}, "sort", "one of rate_number, market_value"),
        ({"sort": "--market_value"}, "sort", "one of rate_number"),
        ({"use_code": "x"}, "use_code", "valid integer"),
        ({"min_market_value": -1}, "min_market_value", "greater than or equal to 0"),
        ({"max_extent": "big"}, "max_extent", "valid number"),
        ({"suburb": ""}, "suburb", "at least 1 character"),
        ({"q": "x" * 201}, "q", "at most 200 characters"),
    ],
)
def test_invalid_parameter(
    client: TestClient, params: dict[str, Any], parameter: str, expected_text: str
) -> None:
    error = _error(client, "/properties", params)

    assert error["status"] == 422
    assert error["parameter"] == parameter
    assert f"invalid {parameter} " in error["detail"]
    # The message repeats the value sent, cut after 80 characters.
    assert repr(str(next(iter(params.values()))))[:77] in error["detail"]
    assert expected_text in error["detail"]


@pytest.mark.parametrize(
    ("low", "high", "params"),
    [
        ("min_market_value", "max_market_value", {"min_market_value": 9, "max_market_value": 1}),
        ("min_extent", "max_extent", {"min_extent": 10.5, "max_extent": 2}),
    ],
)
def test_min_above_max(client: TestClient, low: str, high: str, params: dict[str, Any]) -> None:
    error = _error(client, "/properties", params)

    assert error["status"] == 422
    assert error["parameter"] == low
    assert low in error["detail"]
    assert high in error["detail"]
    assert f"expected {low} <= {high}" in error["detail"]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "bnVsbA", "WyJyYXRlX251bWJlciIsMSwyXQ"])
def test_invalid_cursor(client: TestClient, cursor: str) -> None:
    error = _error(client, "/properties", {"cursor": cursor})

    assert error["status"] == 422
    assert error["parameter"] == "cursor"
    assert "invalid cursor" in error["detail"]


def test_cursor_of_other_sort(client: TestClient) -> None:
    first = client.get("/properties", params={"sort": "-market_value", "limit": 2}).json()

    error = _error(client, "/properties", {"sort": "suburb", "cursor": first["next_cursor"]})

    assert error["status"] == 422
    assert error["parameter"] == "cursor"
    assert "issued for other filters or another sort" in error["detail"]


def test_cursor_of_other_filters(client: TestClient) -> None:
    first = client.get("/properties", params={"suburb": "PINETOWN", "limit": 1}).json()

    error = _error(client, "/properties", {"cursor": first["next_cursor"]})

    assert first["next_cursor"] is not None
    assert error["status"] == 422
    assert error["parameter"] == "cursor"
    assert "same filters and sort" in error["detail"]


def test_cursor_not_from_api(client: TestClient) -> None:
    error = _error(client, "/properties", {"cursor": "garbage"})

    assert error["status"] == 422
    assert error["parameter"] == "cursor"
    assert error["detail"].startswith("invalid cursor")


@pytest.mark.parametrize(
    ("path", "parameter"),
    [("/properties", "suburbb"), ("/properties", "page"), ("/suburbs", "suburb")],
)
def test_unknown_parameter_rejected(client: TestClient, path: str, parameter: str) -> None:
    error = _error(client, path, {parameter: "x"})

    assert error["status"] == 422
    assert error["parameter"] == parameter
    assert error["detail"].startswith(f"unknown query parameter {parameter!r}")


def test_unknown_route_404(client: TestClient) -> None:
    error = _error(client, "/owners")
    assert error["status"] == 404
    assert error["detail"] == (
        "no route matches /owners; the routes are listed in /openapi.json "
        "(data routes start with /v1)"
    )
    assert error["instance"] == "/owners"
    assert error["parameter"] is None


def test_wrong_method_405(client: TestClient) -> None:
    response = client.post("/properties")
    assert response.status_code == 405
    body = problem(response)
    assert body["status"] == 405
    assert body["detail"] == "method POST is not allowed on /properties; use GET"
    assert response.headers["allow"] == "GET"


def test_long_value_cut_in_message(client: TestClient) -> None:
    error = _error(client, "/v1/properties", {"q": "x" * 300})
    assert error["status"] == 422
    assert error["parameter"] == "q"
    assert "x" * 76 + "..." in error["detail"]
    assert "x" * 80 not in error["detail"]
    assert error["detail"].endswith("string should have at most 200 characters")


def test_unmigrated_database_503(empty_database_url: str) -> None:
    from durban_valuations.api.app import create_app

    with TestClient(create_app(empty_database_url)) as unmigrated:
        error = problem(unmigrated.get("/v1/properties"))
    assert error["status"] == 503
    assert "run `durban-valuations db upgrade`" in error["detail"]
