"""Amounts and areas as the site prints them with .NET `format-number`.

The site prints market values with the picture `####,###` and extents with `####,###.##`:
thousands separated by commas, no currency sign, no leading zero before a decimal point
(`.25`), and a zero value as an empty cell.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

_NUMBER = re.compile(r"-?(\d{1,3}(,\d{3})*|\d+)?(\.\d+)?")

# A value that the database left NULL would render as "NaN" (not observed on the live site).
_NOT_A_NUMBER = "NaN"


def parse_printed_number(text: str, field: str) -> Decimal | None:
    """Return the number printed in the cell, or None for an empty or "NaN" cell.

    Raises:
        ValueError: the text is not a number in the site's format. The message names the
            field and the value.
    """
    value = text.strip()
    if value in ("", _NOT_A_NUMBER):
        return None
    if not any(character.isdigit() for character in value) or not _NUMBER.fullmatch(value):
        raise ValueError(f"invalid {field} {text!r}: expected a number such as 1,810,000")
    return Decimal(value.replace(",", ""))


def parse_market_value(text: str) -> int | None:
    """Return the market value in whole rands, or None when the cell is empty.

    The site prints a zero value as an empty cell, so an empty cell means "zero or unknown"
    and is kept as None instead of guessing 0. A value with decimals is rounded half up to
    whole rands, as the site's own format does.
    """
    number = parse_printed_number(text, "market value")
    if number is None:
        return None
    return int(number.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_extent(text: str) -> Decimal | None:
    """Return the registered extent in m², or None when the cell is empty.

    The site prints an extent of 0 as an empty cell and `0.25` as `.25`.
    """
    return parse_printed_number(text, "registered extent")
