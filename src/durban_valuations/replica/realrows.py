"""Parse the 1,000 real Full Title rows captured from the live site (a `RateNumber=534` search).

The CSV contains the result-table cells as printed, stripped of outer spaces, except that
`registered_extent` is a plain number. Natural persons' owner names in it are invented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from durban_valuations.replica.roll import read_data_file

REAL_ROWS_FILE = "real-fulltitle-ratenumber-534.csv"

# `ERF 5 of TOWN`, `Portion 3 of ERF 5 of TOWN`, `REM of ...`; two real rows use upper-case `OF`.
_LEGAL_DESCRIPTION = re.compile(
    r"^(?P<rem>REM of )?(?:Portion (?P<portion>\d+) of )?ERF (?P<erf>\d+) of (?P<town>.+)$",
    re.IGNORECASE,
)
_NUMBERED_STREET = re.compile(r"^(?P<number>\d\S*) (?P<name>.+)$")


@dataclass(frozen=True, slots=True)
class RealRow:
    """One real result row, with the parts the replica derives from its printed text."""

    rate_number: str
    legal_description: str
    address: str
    first_owner: str
    use_code: str
    rating_category: str
    market_value: int
    registered_extent: Decimal
    street_number: str
    street_name: str
    suburb_name: str
    erf: str
    portion: str
    is_remainder: bool
    deeds_town: str


_TOWNSHIP_STREET_WORDS = frozenset(
    {"AVENUE", "CLOSE", "CRESCENT", "DRIVE", "GROVE", "LANE", "PLACE", "ROAD", "STREET", "TRACK"}
    | {"TRK", "WALK", "WAY"}
)


def parse_address(address: str) -> tuple[str, str, str]:
    """Split a printed address into street number, street name and suburb (after the last comma).

    Addresses without a comma count as a suburb alone; padding inside the street part is dropped.
    """
    if "," not in address:
        return "", "", address.strip()
    street_part, suburb = address.rsplit(",", 1)
    street_part = street_part.strip()
    match = _NUMBERED_STREET.match(street_part)
    if match is None:
        return "", street_part, suburb.strip()
    name = match["name"].strip()
    if name.upper() in _TOWNSHIP_STREET_WORDS:
        # A township street is named by a number (`66013 STREET`): no house number here.
        return "", street_part, suburb.strip()
    return match["number"], name, suburb.strip()


def parse_legal_description(text: str) -> tuple[str, str, bool, str]:
    """Split a full-title legal description into ERF, portion, remainder flag and deeds town.

    A description in none of the known shapes returns empty parts and the whole text as town.
    """
    match = _LEGAL_DESCRIPTION.match(text)
    if match is None:
        return "", "", False, text
    return match["erf"], match["portion"] or "", match["rem"] is not None, match["town"]


def parse_printed_amount(text: str) -> int:
    """Convert a printed amount such as `1,810,000` to an int; an empty cell is 0."""
    digits = text.replace(",", "").strip()
    return int(digits) if digits else 0


def load_real_rows() -> list[RealRow]:
    """Load the real rows in file order."""
    rows: list[RealRow] = []
    for record in read_data_file(REAL_ROWS_FILE):
        street_number, street_name, suburb_name = parse_address(record["address"])
        erf, portion, is_remainder, deeds_town = parse_legal_description(
            record["legal_description"]
        )
        extent_text = record["registered_extent"].strip()
        rows.append(
            RealRow(
                rate_number=record["rate_number"],
                legal_description=record["legal_description"],
                address=record["address"],
                first_owner=record["first_owner"],
                use_code=record["use_code"],
                rating_category=record["rating_category"],
                market_value=parse_printed_amount(record["market_value"]),
                registered_extent=Decimal(extent_text) if extent_text else Decimal(0),
                street_number=street_number,
                street_name=street_name,
                suburb_name=suburb_name,
                erf=erf,
                portion=portion,
                is_remainder=is_remainder,
                deeds_town=deeds_town,
            )
        )
    return rows
