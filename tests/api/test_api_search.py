"""GET /properties with q (full-text search) and street_prefix."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from durban_valuations.api.app import create_app
from durban_valuations.config.settings import Settings
from durban_valuations.site.models import PropertyDetails, Roll
from durban_valuations.store.runs import start_run
from durban_valuations.store.upsert import save_details, upsert_properties

from .conftest import PropertyFactory
from .problem import problem

# pin: (address, street name, suburb, first owner, legal description, scheme name, value)
SEARCH_ROLL: dict[int, tuple[Any, ...]] = {
    11: ("5 HAWTHORN ROAD, WESTVILLE", "HAWTHORN ROAD", "WESTVILLE", "NAIDOO R",
         "ERF 11 of WESTVILLE", None, 300_000),
    12: ("7 OAK ROAD, PINETOWN", "OAK ROAD", "PINETOWN", "HAWTHORN TRUST",
         "ERF 12 of PINETOWN", None, 900_000),
    13: ("9 MAIN STREET, PINETOWN", "MAIN STREET", "PINETOWN", "SMITH J",
         "ERF 13 of HAWTHORN", None, 100_000),
    14: ("14 MARINE DRIVE, UMHLANGA", "MARINE DRIVE", "UMHLANGA", "DLAMINI T",
         "SECTION 4 SS 3/1999", "SUN & SAND", 1_500_000),
    15: ("21 HAWTHORNDEN ROAD, MORNINGSIDE", "HAWTHORNDEN ROAD", "MORNINGSIDE", "MOODLEY K",
         "ERF 15 of DURBAN", None, 700_000),
    16: ("3 HAWTHORN ROAD, WESTVILLE", "HAWTHORN ROAD", "WESTVILLE", "ZULU M",
         "ERF 16 of WESTVILLE", None, 500_000),
}  # fmt: skip


def _details_of_pin_15() -> PropertyDetails:
    return PropertyDetails(
        roll=Roll.FULL,
        rate_number="00000015",
        property_description="ERF 15 of DURBAN",
        address="21 HAWTHORNDEN ROAD, MORNINGSIDE",
        registered_extent="600",
        market_value="700,000",
        use_code="Single Residential (15)",
        rating_category="Residential",
        government_code="",
        exemptions="",
        rebates="",
        phasing_in="",
        exclusions="",
        sra_code="",
        owners=["MOODLEY K", "PILLAY S"],
        erf="15",
        deeds_town="DURBAN",
        property_type="Freehold",
    )


@pytest.fixture
def client(engine: Engine, make_property: PropertyFactory) -> Iterator[TestClient]:
    """Test client on SEARCH_ROLL; pin 15's second owner is only on its details page."""
    rows = []
    for pin, (address, street, suburb, owner, legal, scheme, value) in SEARCH_ROLL.items():
        rows.append(
            make_property(
                pin,
                roll=Roll.SECTIONAL if scheme else Roll.FULL,
                address=address,
                street_name=street,
                suburb=suburb,
                first_owner=owner,
                legal_description=legal,
                scheme_name=scheme,
                market_value=value,
            )
        )
    with engine.begin() as connection:
        run_id = start_run(connection, 2022, "all", "http://127.0.0.1:8001")
        upsert_properties(connection, 2022, run_id, rows)
        save_details(connection, 2022, 15, _details_of_pin_15())
    app = create_app(engine, settings=Settings(_env_file=None, roll_year=2022))
    with TestClient(app) as test_client:
        yield test_client


def _pins(client: TestClient, params: dict[str, Any]) -> list[int]:
    response = client.get("/properties", params=params)
    assert response.status_code == 200, response.text
    return [item["pin"] for item in response.json()["items"]]


def _walk(client: TestClient, params: dict[str, Any]) -> list[int]:
    pins: list[int] = []
    cursor = None
    while True:
        page_params = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get("/properties", params=page_params)
        assert response.status_code == 200, response.text
        body = response.json()
        pins += [item["pin"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return pins


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("marine", [14]),
        ("naidoo", [11]),
        ("pillay", [15]),
        ("erf 13", [13]),
        ("sun sand", [14]),
        ('"sun & sand"', [14]),
        ("SMITH", [13]),
    ],
    ids=["address", "first-owner", "details-owner", "legal", "scheme", "phrase", "case"],
)
def test_search_matches_each_field(client: TestClient, q: str, expected: list[int]) -> None:
    assert _pins(client, {"q": q}) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("hawthorn", [11, 16, 12, 13]),
        ("hawthorn westville", [11, 16]),
        ('"hawthorn road"', [11, 16]),
        ("hawthorn -westville", [12, 13]),
        ("naidoo or dlamini", [11, 14]),
        ("hawth", []),
    ],
)
def test_search_ranks_by_relevance(client: TestClient, q: str, expected: list[int]) -> None:
    # A match in the address ranks above one in the owners, which ranks above one in
    # the legal description; equal ranks come in pin order. Words match whole.
    assert _pins(client, {"q": q}) == expected


def test_search_with_other_sort(client: TestClient) -> None:
    assert _pins(client, {"q": "hawthorn", "sort": "-market_value"}) == [12, 16, 11, 13]
    assert _pins(client, {"q": "hawthorn", "sort": "relevance"}) == [11, 16, 12, 13]


def test_search_with_other_filters(client: TestClient) -> None:
    assert _pins(client, {"q": "hawthorn", "suburb": "pinetown"}) == [12, 13]
    assert _pins(client, {"q": "hawthorn", "min_market_value": 400_000}) == [16, 12]
    assert _pins(client, {"q": "hawthorn", "street_prefix": "hawthorn"}) == [11, 16]


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_search_cursor_walk(client: TestClient, limit: int) -> None:
    assert _walk(client, {"q": "hawthorn", "limit": limit}) == [11, 16, 12, 13]
    assert _walk(client, {"q": "road", "limit": limit}) == _pins(client, {"q": "road"})
    walked = _walk(client, {"q": "hawthorn", "sort": "market_value", "limit": limit})
    assert walked == [13, 11, 16, 12]


def test_search_cursor_of_other_query_rejected(client: TestClient) -> None:
    first = client.get("/properties", params={"q": "hawthorn", "limit": 1}).json()

    response = client.get("/properties", params={"q": "road", "cursor": first["next_cursor"]})

    assert response.status_code == 422
    assert problem(response)["parameter"] == "cursor"


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("hawthorn", [11, 15, 16]),
        ("HAWTHORN R", [11, 16]),
        ("hawthornden", [15]),
        ("road", []),
        ("%", []),
        ("_", []),
    ],
)
def test_street_prefix(client: TestClient, prefix: str, expected: list[int]) -> None:
    assert _pins(client, {"street_prefix": prefix}) == expected


@pytest.mark.parametrize(
    ("params", "parameter", "fragment"),
    [
        ({"q": ""}, "q", "at least 1 character"),
        ({"q": "   "}, "q", "no word to search for"),
        ({"q": "!!! ..."}, "q", "no word to search for"),
        ({"q": "x" * 201}, "q", "at most 200 characters"),
        ({"sort": "relevance"}, "sort", "it needs q"),
        ({"q": "road", "sort": "-relevance"}, "sort", "relevance with q"),
        ({"street_prefix": ""}, "street_prefix", "at least 1 character"),
        ({"street_prefix": "x" * 201}, "street_prefix", "at most 200 characters"),
    ],
)
def test_search_bad_input(
    client: TestClient, params: dict[str, Any], parameter: str, fragment: str
) -> None:
    response = client.get("/properties", params=params)

    assert response.status_code == 422
    error = problem(response)
    assert error["parameter"] == parameter
    assert fragment in error["detail"]
