from __future__ import annotations

import pytest

from durban_valuations.clean.legal_description import (
    LegalDescription,
    parse_legal_description,
)


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("ERF 18288 of PINETOWN", ("18288", None, False, "PINETOWN", None, None)),
        (
            "Portion 16 of ERF 74 of AMANZIMTOTI",
            ("74", "16", False, "AMANZIMTOTI", None, None),
        ),
        (
            "REM of ERF 4418 of RESERVOIR HILLS",
            ("4418", None, True, "RESERVOIR HILLS", None, None),
        ),
        (
            "REM of Portion 2 of ERF 335 of SEA VIEW",
            ("335", "2", True, "SEA VIEW", None, None),
        ),
        ("ERF 1507 OF LOT 10", ("1507", None, False, "LOT 10", None, None)),
        ("REM OF ERF 2 OF CATO MANOR", ("2", None, True, "CATO MANOR", None, None)),
        (
            "REM of Portion 11 of ERF 1 of the farm PIEZANG REVIER NO. 805",
            ("1", "11", True, "the farm PIEZANG REVIER NO. 805", None, None),
        ),
        ("ERF  30781  of  PINETOWN", ("30781", None, False, "PINETOWN", None, None)),
        (
            "Section 12 of SS SUN & SAND",
            (None, None, False, None, "12", "SS SUN & SAND"),
        ),
        (
            "SECTION 3 OF SS C'EST LA VIE",
            (None, None, False, None, "3", "SS C'EST LA VIE"),
        ),
        ("FARM WATERFALL NO. 978", (None, None, False, None, None, None)),
        ("", (None, None, False, None, None, None)),
    ],
)
def test_parse_legal_description(printed: str, expected: tuple[object, ...]) -> None:
    assert parse_legal_description(printed) == LegalDescription(*expected)  # type: ignore[arg-type]
