from __future__ import annotations

import pytest

from durban_valuations.clean.rate_number import clean_rate_number, is_valid_rate_number
from durban_valuations.clean.text import clean_address_text, clean_text, collapse_whitespace


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("REGIONAL & LAND AFFAIRS", "REGIONAL & LAND AFFAIRS"),
        ("  M Y   TRUST \r\n", "M Y TRUST"),
        ("", ""),
    ],
)
def test_collapse_whitespace(printed: str, expected: str) -> None:
    assert collapse_whitespace(printed) == expected


@pytest.mark.parametrize(("printed", "expected"), [("PSI", "PSI"), ("", None), ("   ", None)])
def test_clean_text(printed: str, expected: str | None) -> None:
    assert clean_text(printed) == expected


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("YACHT MOLE                      , ESPLANADE", "YACHT MOLE, ESPLANADE"),
        (", TONGOVA MEWS", ", TONGOVA MEWS"),
        ("16 MAHOGANY ROAD, MAHOGANY RIDGE", "16 MAHOGANY ROAD, MAHOGANY RIDGE"),
    ],
)
def test_clean_address_text(printed: str, expected: str) -> None:
    assert clean_address_text(printed) == expected


@pytest.mark.parametrize(
    ("printed", "expected"),
    [("00190534", "00190534"), (" 01021534 ", "01021534"), ("", ""), ("1234", "1234")],
)
def test_clean_rate_number(printed: str, expected: str) -> None:
    assert clean_rate_number(printed) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00190534", True),
        ("1234567", False),
        ("123456789", False),
        ("0019053A", False),
        ("", False),
    ],
)
def test_is_valid_rate_number(text: str, expected: bool) -> None:
    assert is_valid_rate_number(text) is expected
