"""Addresses, printed as `{number} {STREET NAME}, {SUBURB}`."""

from __future__ import annotations

from typing import NamedTuple

from durban_valuations.clean.text import collapse_whitespace

# Township streets are named by a number (`108937 STREET`, `48500 TRK`). When the only word
# after a leading number is one of these, the number is part of the street name.
STREET_TYPE_WORDS = frozenset(
    {
        "AVENUE",
        "CLOSE",
        "CRESCENT",
        "DRIVE",
        "GROVE",
        "LANE",
        "PLACE",
        "ROAD",
        "STREET",
        "TRACK",
        "TRK",
        "WALK",
        "WAY",
    }
)


class AddressParts(NamedTuple):
    """Street number, street name and suburb of an address, each None when not printed."""

    street_number: str | None
    street_name: str | None
    suburb: str | None


def split_street(street: str) -> tuple[str | None, str | None]:
    """Split the part before the comma into street number and street name.

    The leading token is the street number when it starts with a digit and more words
    follow: `10 211589 STREET` gives `10` and `211589 STREET`, `22A VALLEY DRIVE` gives
    `22A`, and `19 400356` gives `19` and `400356`. A lone token (`UNKNOWN`, `323/9`) is the
    street name.
    """
    tokens = street.split()
    if not tokens:
        return None, None

    rest = tokens[1:]
    starts_with_number = tokens[0][0].isdigit()
    if not starts_with_number or not rest:
        return None, " ".join(tokens)
    if len(rest) == 1 and rest[0].upper() in STREET_TYPE_WORDS:
        return None, " ".join(tokens)
    return tokens[0], " ".join(rest)


def split_address(text: str) -> AddressParts:
    """Split an address at its last comma into street number, street name and suburb.

    Some addresses start with a bare comma (`, TONGOVA MEWS`) and have only a suburb. An
    address without a comma is all street and has no suburb.
    """
    value = collapse_whitespace(text)
    if "," not in value:
        number, name = split_street(value)
        return AddressParts(number, name, None)

    street, suburb = value.rsplit(",", 1)
    number, name = split_street(street)
    return AddressParts(number, name, suburb.strip() or None)
