from __future__ import annotations

import pytest

from durban_valuations.clean.address import AddressParts, split_address


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("16 MAHOGANY ROAD, MAHOGANY RIDGE", ("16", "MAHOGANY ROAD", "MAHOGANY RIDGE")),
        ("10 211589 STREET, PINETOWN", ("10", "211589 STREET", "PINETOWN")),
        ("19 400356, HAMMARSDALE", ("19", "400356", "HAMMARSDALE")),
        ("22A VALLEY DRIVE, FOREST HILLS", ("22A", "VALLEY DRIVE", "FOREST HILLS")),
        ("10R 1ST AVENUE, BELMONT BARRACKS", ("10R", "1ST AVENUE", "BELMONT BARRACKS")),
        ("108937 STREET, AMATIKWE", (None, "108937 STREET", "AMATIKWE")),
        ("48500 TRK, UPPER AMAOTANA", (None, "48500 TRK", "UPPER AMAOTANA")),
        ("UNKNOWN, KINGSBURGH", (None, "UNKNOWN", "KINGSBURGH")),
        ("323/9, DRUMMOND", (None, "323/9", "DRUMMOND")),
        (", TONGOVA MEWS", (None, None, "TONGOVA MEWS")),
        ("YACHT MOLE                      , ESPLANADE", (None, "YACHT MOLE", "ESPLANADE")),
        (
            "79 MEMBREY ROAD                    , PALMIET",
            ("79", "MEMBREY ROAD", "PALMIET"),
        ),
        ("UMLAZI - E                      , UMLAZI - E", (None, "UMLAZI - E", "UMLAZI - E")),
        ("PIEZANG RIVIER, PIEZANG RIVIER 805", (None, "PIEZANG RIVIER", "PIEZANG RIVIER 805")),
        ("NO COMMA ROAD", (None, "NO COMMA ROAD", None)),
        ("5 MAIN ROAD,", ("5", "MAIN ROAD", None)),
        ("", (None, None, None)),
    ],
)
def test_split_address(printed: str, expected: tuple[str | None, ...]) -> None:
    assert split_address(printed) == AddressParts(*expected)
