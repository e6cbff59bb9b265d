from __future__ import annotations

from decimal import Decimal

import pytest

from durban_valuations.clean.numbers import parse_extent, parse_market_value


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("1,810,000", 1810000),
        ("106,950,000", 106950000),
        ("1,000", 1000),
        ("999", 999),
        ("1810000", 1810000),
        ("1,234.5", 1235),
        ("1,234.49", 1234),
        (".5", 1),
        ("", None),
        ("   ", None),
        ("NaN", None),
        ("-1,000", -1000),
    ],
)
def test_parse_market_value(printed: str, expected: int | None) -> None:
    assert parse_market_value(printed) == expected


@pytest.mark.parametrize("printed", ["R1,000", "1,00", "abc", "1.2.3", "-", ","])
def test_parse_market_value_invalid(printed: str) -> None:
    with pytest.raises(ValueError, match="invalid market value"):
        parse_market_value(printed)


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("1,562,974", Decimal("1562974")),
        ("399", Decimal("399")),
        ("12.5", Decimal("12.5")),
        (".25", Decimal("0.25")),
        ("1,634.75", Decimal("1634.75")),
        ("", None),
    ],
)
def test_parse_extent(printed: str, expected: Decimal | None) -> None:
    assert parse_extent(printed) == expected


def test_parse_extent_invalid() -> None:
    with pytest.raises(ValueError, match="invalid registered extent '12 m2'"):
        parse_extent("12 m2")
