"""A small roll of eight 2022 properties (and one 2021 property) behind a test client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from durban_valuations.api.app import create_app
from durban_valuations.clean.models import CleanProperty
from durban_valuations.config.settings import Settings
from durban_valuations.site.models import PropertyDetails, Roll
from durban_valuations.store.runs import start_run
from durban_valuations.store.upsert import save_details, upsert_properties

FULL, SECTIONAL = Roll.FULL, Roll.SECTIONAL

# pin: (roll, rate_number, suburb, street, deeds_town, use_code, rating, value, extent, owner)
ROLL_2022: dict[int, tuple[Any, ...]] = {
    1: (FULL, "10000001", "PINETOWN", "MAIN STREET", "PINETOWN", 15, "Residential",
        500_000, Decimal("400"), "MBATHA PIETER"),
    2: (FULL, "10000002", "PINETOWN", "OAK ROAD", "PINETOWN", 15, "Residential",
        250_000, Decimal("1000"), "NAIDOO R"),
    3: (FULL, "10000003", "WESTVILLE", "MAIN ROAD", "WESTVILLE", 47, "Vacant Land",
        50_000, Decimal("2500.5"), "ETHEKWINI MUNICIPALITY"),
    4: (FULL, "10000004", "WESTVILLE", "100% LANE", "WESTVILLE", 47, "Vacant Land",
        None, None, None),
    5: (SECTIONAL, "10000001", "UMHLANGA", "LIGHTHOUSE ROAD", "UMHLANGA ROCKS", 15,
        "Residential", 1_200_000, Decimal("85"), "SMITH J"),
    6: (SECTIONAL, "20000006", "UMHLANGA", "LIGHTHOUSE ROAD", "UMHLANGA ROCKS", 15,
        "Residential", 900_000, Decimal("85"), "DLAMINI T"),
    7: (FULL, "20000007", None, None, None, 51, "Business",
        3_000_000, Decimal("5000"), "ACME TRADING CC"),
    8: (FULL, "30000008", "PINETOWN", "MAIN STREET", "PINETOWN", 15, "Residential",
        500_000, Decimal("400"), "MBATHA ZANELE"),
}  # fmt: skip

PropertyFactory = Callable[..., CleanProperty]


def roll_2022_properties(make_property: PropertyFactory) -> list[CleanProperty]:
    """Build the eight 2022 properties of ROLL_2022."""
    built = []
    for pin, row in ROLL_2022.items():
        roll, rate, suburb, street, town, use_code, rating, value, extent, owner = row
        sectional = roll is SECTIONAL
        built.append(
            make_property(
                pin,
                roll=roll,
                rate_number=rate,
                suburb=suburb,
                street_name=street,
                address=f"{pin} {street or 'UNKNOWN'}, {suburb or 'UNKNOWN'}",
                legal_description=f"ERF {pin} of {town or 'UNKNOWN'}",
                deeds_town=town,
                use_code_number=use_code,
                rating_category=rating,
                market_value=value,
                registered_extent=extent,
                first_owner=owner,
                scheme_name="SS 1 HAWTHORN ROAD" if sectional else None,
                section_number=str(pin) if sectional else None,
            )
        )
    return built


def _details_of_pin_2() -> PropertyDetails:
    return PropertyDetails(
        roll=Roll.FULL,
        rate_number="10000002",
        property_description="ERF 2 of PINETOWN",
        address="2 OAK ROAD, PINETOWN",
        registered_extent="1000",
        market_value="250,000",
        use_code="Single Residential (15)",
        rating_category="Residential",
        government_code="GV1",
        exemptions="",
        rebates="",
        phasing_in="",
        exclusions="",
        sra_code="",
        owners=["NAIDOO R", "PILLAY S"],
        erf="2",
        deeds_town="PINETOWN",
        property_type="Freehold",
    )


def load_roll_2022(engine: Engine, make_property: PropertyFactory) -> int:
    """Insert ROLL_2022, details of pin 2 and pin 1 of the 2021 roll in a new run.

    Returns the id of the run, which is still running.
    """
    with engine.begin() as connection:
        run_id = start_run(connection, 2022, "all", "http://127.0.0.1:8001")
        upsert_properties(connection, 2022, run_id, roll_2022_properties(make_property))
        save_details(connection, 2022, 2, _details_of_pin_2())
        upsert_properties(connection, 2021, run_id, [make_property(1, rate_number="10000001")])
    return run_id


@pytest.fixture(autouse=True)
def read_run_on_every_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make API processes read the last complete run on every request (no run or response cache).

    These tests change runs and rows between requests and expect the next response to
    show it at once. The caches have their own tests, which set the setting themselves.
    """
    monkeypatch.setenv("API_RUN_CACHE_SECONDS", "0")


@pytest.fixture
def loaded_engine(engine: Engine, make_property: PropertyFactory) -> Engine:
    """The test database holding ROLL_2022, details of pin 2, and pin 1 of the 2021 roll."""
    load_roll_2022(engine, make_property)
    return engine


@pytest.fixture
def client(loaded_engine: Engine) -> Iterator[TestClient]:
    """Test client of an app on the loaded database, for the 2022 roll."""
    app = create_app(loaded_engine, settings=Settings(_env_file=None, roll_year=2022))
    with TestClient(app) as test_client:
        yield test_client
