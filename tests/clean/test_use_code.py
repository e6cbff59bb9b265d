from __future__ import annotations

import pytest

from durban_valuations.clean.use_code import UseCode, split_use_code


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("Single Residential (15)", ("Single Residential", 15)),
        ("Mixed Use: > 2/3 Residential (42)", ("Mixed Use: > 2/3 Residential", 42)),
        ("Durban Corporation (Rates in Rent) (71)", ("Durban Corporation (Rates in Rent)", 71)),
        ("Homes (Nursing etc) (20)", ("Homes (Nursing etc)", 20)),
        (
            "Retail/Offices/Entertainment/ Restaurant (41)",
            ("Retail/Offices/Entertainment/ Restaurant", 41),
        ),
        ("Vacant  Land  (47)", ("Vacant Land", 47)),
        ("Single Residential", ("Single Residential", None)),
        ("(15)", (None, 15)),
        ("", (None, None)),
    ],
)
def test_split_use_code(printed: str, expected: tuple[str | None, int | None]) -> None:
    assert split_use_code(printed) == UseCode(*expected)
