"""Full-text search in the store: owner names kept in step, and the indexes on 100,000 rows."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import Connection, Engine, and_, select, text, true
from sqlalchemy.dialects import postgresql

from durban_valuations.clean.models import CleanProperty
from durban_valuations.site.models import PropertyDetails, Roll
from durban_valuations.store.filters import PropertyFilters, filter_conditions
from durban_valuations.store.queries import list_properties, listing_statement
from durban_valuations.store.runs import start_run
from durban_valuations.store.search import InvalidSearchError, check_search_text
from durban_valuations.store.tables import properties
from durban_valuations.store.upsert import save_details, upsert_properties

PropertyFactory = Callable[..., CleanProperty]

# 100,000 properties: ten owner surnames, ten streets and eight towns in turn, so a
# surname matches 10% of the rows and one erf number matches one row.
INSERT_GENERATED_ROWS = """
INSERT INTO properties (roll_year, pin, roll, ptype, ftype, details_href, rate_number,
    legal_description, address, street_name, suburb, first_owner, is_remainder,
    raw_rate_number, raw_legal_description, raw_address, raw_first_owner, raw_use_code,
    raw_rating_category, raw_market_value, raw_registered_extent, first_seen_run_id)
SELECT 2022, g, 'full', 'F', 'R', '/d', lpad(g::text, 8, '0'),
    'ERF ' || g || ' of ' || town, g % 200 || ' ' || street || ', ' || town, street, town,
    (ARRAY['NAIDOO', 'MBATHA', 'PILLAY', 'SMITH', 'DLAMINI', 'ZULU', 'KHUMALO',
           'GOVENDER', 'NGCOBO', 'VAN DER MERWE'])[1 + g % 10] || ' ' || g % 997,
    false, '', '', '', '', '', '', '', '', :run_id
FROM generate_series(1, 100000) AS g
CROSS JOIN LATERAL (
    SELECT (ARRAY['MAIN ROAD', 'OAK AVENUE', 'LIGHTHOUSE ROAD', 'MARINE DRIVE',
                  'ESCOMBE STREET', 'OLD MAIN ROAD', 'MNGENI ROAD', 'ST THOMAS ROAD',
                  'UMGENI ROAD', 'JAN SMUTS HIGHWAY'])[1 + g * 7 % 10] || ' ' || g % 1500,
           (ARRAY['PINETOWN', 'WESTVILLE', 'UMHLANGA', 'DURBAN NORTH', 'CHATSWORTH',
                  'BEREA', 'MORNINGSIDE', 'GLENWOOD'])[1 + g / 3 % 8]
) AS place (street, town)
"""


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
        government_code="",
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


def _run(connection: Connection) -> int:
    return start_run(connection, 2022, "all", "http://127.0.0.1:9/")


def _stored_owner_names(connection: Connection, pin: int) -> str | None:
    statement = select(properties.c.owner_names).where(properties.c.pin == pin)
    names: str | None = connection.execute(statement).scalar_one()
    return names


def _search(connection: Connection, search_text: str) -> list[int]:
    page = list_properties(connection, PropertyFilters(roll_year=2022, q=search_text))
    return [item["pin"] for item in page.items]


def test_save_details_copies_owner_names(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), [make_property(7)])
        save_details(connection, 2022, 7, _details("00000007", ["OWNER 7", "PILLAY S"]))

        assert _stored_owner_names(connection, 7) == "OWNER 7\nPILLAY S"
        assert _search(connection, "pillay") == [7]
        assert _search(connection, "owner 7") == [7]


def test_details_without_owners_keep_first(engine: Engine, make_property: PropertyFactory) -> None:
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), [make_property(7)])
        save_details(connection, 2022, 7, _details("00000007", []))

        assert _stored_owner_names(connection, 7) == "OWNER 7"


def test_first_owner_change_clears_owner_names(
    engine: Engine, make_property: PropertyFactory
) -> None:
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), [make_property(7)])
        save_details(connection, 2022, 7, _details("00000007", ["OWNER 7", "PILLAY S"]))
    with engine.begin() as connection:
        changed = make_property(7, first_owner="NGCOBO T")
        # A second change before the details are fetched again replaces the details owners.
        upsert_properties(connection, 2022, _run(connection), [changed])
        upsert_properties(connection, 2022, _run(connection), [make_property(7)])

        assert _stored_owner_names(connection, 7) is None
        assert _search(connection, "pillay") == []
        assert _search(connection, "owner 7") == [7]


def test_stale_details_owners_stay_searchable(
    engine: Engine, make_property: PropertyFactory
) -> None:
    with engine.begin() as connection:
        upsert_properties(connection, 2022, _run(connection), [make_property(7)])
        save_details(connection, 2022, 7, _details("00000007", ["OWNER 7", "PILLAY S"]))
    with engine.begin() as connection:
        changed = make_property(7, first_owner="NGCOBO T")
        upsert_properties(connection, 2022, _run(connection), [changed])

        # The list shows the new first owner, and the stale details still list the others.
        assert _stored_owner_names(connection, 7) == "OWNER 7\nPILLAY S"
        assert _search(connection, "ngcobo") == [7]
        assert _search(connection, "pillay") == [7]


@pytest.mark.parametrize("search_text", ["", "   ", "!!! ...", "-", '""'])
def test_search_text_without_words_rejected(engine: Engine, search_text: str) -> None:
    with engine.connect() as connection, pytest.raises(InvalidSearchError, match="no word"):
        check_search_text(connection, search_text)


def _plan(connection: Connection, filters: PropertyFilters) -> str:
    """Return the EXPLAIN ANALYZE output of a search, with bound parameters as the API sends."""
    statement = select(properties.c.pin).where(and_(true(), *filter_conditions(filters)))
    compiled = statement.compile(dialect=postgresql.dialect())
    explain = f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {compiled}"
    return "\n".join(connection.exec_driver_sql(explain, compiled.params).scalars())


@pytest.fixture
def generated_engine(engine: Engine) -> Engine:
    """The test database with the 100,000 generated properties, analyzed."""
    with engine.begin() as connection:
        connection.execute(text(INSERT_GENERATED_ROWS), {"run_id": _run(connection)})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE properties"))
    return engine


@pytest.mark.parametrize(
    ("filters", "index", "expected_count"),
    [
        (PropertyFilters(roll_year=2022, q="mbatha 996"), "ix_properties_search_vector", 10),
        (PropertyFilters(roll_year=2022, q="erf 4711"), "ix_properties_search_vector", 1),
        (
            PropertyFilters(roll_year=2022, street_prefix="jan smuts highway 149"),
            "ix_properties_street_name_prefix",
            66,
        ),
    ],
)
def test_indexes_serve_selective_searches(
    generated_engine: Engine, filters: PropertyFilters, index: str, expected_count: int
) -> None:
    with generated_engine.connect() as connection:
        plan = _plan(connection, filters)

    # A plain index scan says "using", a bitmap index scan "on".
    assert re.search(rf"Index Scan (using|on) {index}\b", plan), plan
    assert f"actual rows={expected_count} " in plan, plan


def test_suburb_first_page_reads_one_page(generated_engine: Engine) -> None:
    # A small suburb whose rate numbers come last: walking the rate-number index would
    # read nearly every row, the suburb index returns the first page in order.
    with generated_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO properties (roll_year, pin, roll, ptype, ftype, details_href, "
                "rate_number, legal_description, address, suburb, is_remainder, "
                "raw_rate_number, raw_legal_description, "
                "raw_address, raw_first_owner, raw_use_code, raw_rating_category, "
                "raw_market_value, raw_registered_extent, first_seen_run_id) "
                "SELECT 2022, 900000 + g, 'full', 'F', 'R', '/d', '9' || lpad(g::text, 7, '0'), "
                "'ERF ' || g || ' of ATLANTIS', g || ' SEA ROAD, ATLANTIS', 'ATLANTIS', false, "
                "'', '', '', '', '', '', '', '', first_seen_run_id "
                "FROM generate_series(1, 200) AS g, "
                "(SELECT first_seen_run_id FROM properties LIMIT 1) AS run"
            )
        )
    with generated_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE properties"))
    statement = listing_statement(PropertyFilters(roll_year=2022, suburb="atlantis")).limit(51)
    compiled = statement.compile(dialect=postgresql.dialect())
    explain = f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {compiled}"
    with generated_engine.connect() as connection:
        plan = "\n".join(connection.exec_driver_sql(explain, compiled.params).scalars())

    assert "ix_properties_suburb_lower_rate_number" in plan, plan
    assert "Sort" not in plan, plan
    assert "Rows Removed by Filter" not in plan, plan
