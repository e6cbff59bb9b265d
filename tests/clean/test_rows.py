from __future__ import annotations

import csv
import io
from decimal import Decimal
from importlib import resources

import pytest

from durban_valuations.clean import clean_row
from durban_valuations.clean.models import CleanProperty
from durban_valuations.clean.rate_number import is_valid_rate_number
from durban_valuations.site.models import ResultRow, Roll

REAL_ROWS_FILE = "real-fulltitle-ratenumber-534.csv"


def format_extent(plain: str) -> str:
    """Print an extent the way the result page does: thousands commas, empty for zero."""
    if plain in ("", "0"):
        return ""
    return f"{Decimal(plain):,}"


def load_real_rows() -> list[ResultRow]:
    """Return the 1,000 real rows as the result page prints them."""
    data = resources.files("durban_valuations.replica") / "data" / REAL_ROWS_FILE
    records = list(csv.DictReader(io.StringIO(data.read_text(encoding="utf-8"), newline="")))
    return [
        ResultRow(
            pin=1_000_000 + index,
            ptype="1",
            ftype="1",
            details_href=f"../FramePages/SearchDeatils.aspx?id={1_000_000 + index}&PType=1&FType=1",
            rate_number=record["rate_number"],
            legal_description=record["legal_description"],
            address=record["address"],
            first_owner=record["first_owner"],
            use_code=record["use_code"],
            rating_category=record["rating_category"],
            market_value=record["market_value"],
            registered_extent=format_extent(record["registered_extent"]),
        )
        for index, record in enumerate(records)
    ]


REAL_ROWS = load_real_rows()


@pytest.fixture(scope="module")
def cleaned() -> list[CleanProperty]:
    return [clean_row(Roll.FULL, row) for row in REAL_ROWS]


def test_real_rows_count() -> None:
    assert len(REAL_ROWS) == 1000


def test_every_rate_number_valid(cleaned: list[CleanProperty]) -> None:
    invalid = [item.rate_number for item in cleaned if not is_valid_rate_number(item.rate_number)]
    assert invalid == []


def test_market_value_none_only_when_empty(cleaned: list[CleanProperty]) -> None:
    mismatched = [
        item.raw_market_value
        for item in cleaned
        if (item.market_value is None) != (item.raw_market_value == "")
    ]
    assert mismatched == []


def test_seven_empty_market_values(cleaned: list[CleanProperty]) -> None:
    assert sum(item.market_value is None for item in cleaned) == 7


def test_market_value_matches_digits(cleaned: list[CleanProperty]) -> None:
    mismatched = [
        item.raw_market_value
        for item in cleaned
        if item.market_value is not None
        and item.market_value != int(item.raw_market_value.replace(",", ""))
    ]
    assert mismatched == []


def test_every_suburb_present(cleaned: list[CleanProperty]) -> None:
    assert [item.raw_address for item in cleaned if not item.suburb] == []


def test_every_extent_present(cleaned: list[CleanProperty]) -> None:
    assert [item.raw_registered_extent for item in cleaned if item.registered_extent is None] == []


def test_every_erf_parsed(cleaned: list[CleanProperty]) -> None:
    assert [item.raw_legal_description for item in cleaned if item.erf is None] == []


def test_no_sectional_parts(cleaned: list[CleanProperty]) -> None:
    assert [item.rate_number for item in cleaned if item.section_number or item.scheme_name] == []


def test_use_code_number_when_printed(cleaned: list[CleanProperty]) -> None:
    missing = [
        item.raw_use_code for item in cleaned if item.raw_use_code and item.use_code_number is None
    ]
    assert missing == []


def test_no_inner_space_runs(cleaned: list[CleanProperty]) -> None:
    texts = [item.address for item in cleaned] + [item.first_owner or "" for item in cleaned]
    assert [text for text in texts if "  " in text] == []


def test_raw_fields_unchanged(cleaned: list[CleanProperty]) -> None:
    changed = [
        row.rate_number
        for row, item in zip(REAL_ROWS, cleaned, strict=True)
        if (item.raw_address, item.raw_first_owner) != (row.address, row.first_owner)
    ]
    assert changed == []


PADDED = REAL_ROWS[[row.rate_number for row in REAL_ROWS].index("01021534")]


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("roll", Roll.FULL),
        ("rate_number", "01021534"),
        ("legal_description", "ERF 10022 of DURBAN"),
        ("address", "YACHT MOLE, ESPLANADE"),
        ("raw_address", "YACHT MOLE                      , ESPLANADE"),
        ("street_number", None),
        ("street_name", "YACHT MOLE"),
        ("suburb", "ESPLANADE"),
        ("first_owner", "TRANSNET LTD"),
        ("use_code", "Quays (85)"),
        ("use_code_description", "Quays"),
        ("use_code_number", 85),
        ("rating_category", "PSI"),
        ("market_value", None),
        ("raw_market_value", ""),
        ("registered_extent", Decimal("11659")),
        ("raw_registered_extent", "11,659"),
        ("erf", "10022"),
        ("portion", None),
        ("is_remainder", False),
        ("deeds_town", "DURBAN"),
        ("section_number", None),
        ("scheme_name", None),
    ],
)
def test_padded_quay_row_field(field: str, expected: object) -> None:
    assert getattr(clean_row(Roll.FULL, PADDED), field) == expected


EMPTY_CELLS = ResultRow(
    pin=8800114,
    ptype="4",
    ftype="2",
    details_href="../FramePages/SearchDeatils.aspx?id=8800114&PType=4&FType=2",
    rate_number="",
    legal_description="Section 14 of SS SUN & SAND",
    address="25 MARINE PARADE, NORTH BEACH",
    first_owner="",
    use_code="",
    rating_category="",
    market_value="",
    registered_extent="",
)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("roll", Roll.SECTIONAL),
        ("rate_number", ""),
        ("first_owner", None),
        ("raw_first_owner", ""),
        ("use_code", None),
        ("use_code_description", None),
        ("use_code_number", None),
        ("rating_category", None),
        ("market_value", None),
        ("registered_extent", None),
        ("section_number", "14"),
        ("scheme_name", "SS SUN & SAND"),
        ("erf", None),
        ("deeds_town", None),
    ],
)
def test_sectional_empty_cells_field(field: str, expected: object) -> None:
    assert getattr(clean_row(Roll.SECTIONAL, EMPTY_CELLS), field) == expected
