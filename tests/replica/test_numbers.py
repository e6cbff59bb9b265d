"""Tests of the .NET format-number pictures the result and details pages use."""

from __future__ import annotations

from decimal import Decimal

import pytest

from durban_valuations.replica.numbers import format_number, format_picture


@pytest.mark.parametrize(
    ("value", "picture", "expected"),
    [
        (1_810_000, "####,###", "1,810,000"),
        (60_760_000, "####,###", "60,760,000"),
        (999, "####,###", "999"),
        (1_000, "####,###", "1,000"),
        (0, "####,###", ""),
        (Decimal("2.5"), "####,###", "3"),
        (Decimal("0.4"), "####,###", ""),
        (399, "####,###.##", "399"),
        (1_562_974, "####,###.##", "1,562,974"),
        (Decimal("12.5"), "####,###.##", "12.5"),
        (Decimal("0.25"), "####,###.##", ".25"),
        (Decimal("1234.567"), "####,###.##", "1,234.57"),
        (Decimal("1234.005"), "####,###.##", "1,234.01"),
        (Decimal("7.10"), "####,###.##", "7.1"),
        (0, "####,###.##", ""),
        (Decimal("0.001"), "####,###.##", ""),
        (-1_500, "####,###", "-1,500"),
    ],
)
def test_format_picture_table(value: int | Decimal, picture: str, expected: str) -> None:
    assert format_picture(value, picture) == expected


def test_format_number_missing_is_nan() -> None:
    assert format_number(None, 0) == "NaN"


def test_format_picture_rejects_other() -> None:
    with pytest.raises(ValueError, match="unsupported picture"):
        format_picture(1, "####,###.00")
