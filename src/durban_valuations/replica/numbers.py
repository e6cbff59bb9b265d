"""Number formatting as .NET XSLT `format-number` prints the site's pictures.

The site uses `####,###` (market value on the result page) and `####,###.##` (extents, and the
market value on the details page). With only `#` digits a zero prints as an empty string, a
value below 1 has no leading zero (`.25`), and the group separator is always `,` (invariant
culture). .NET rounds half away from zero.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

WHOLE_PICTURE = "####,###"
TWO_DECIMALS_PICTURE = "####,###.##"


def format_number(value: int | float | Decimal | None, max_decimals: int) -> str:
    """Format `value` with comma groups and at most `max_decimals` decimals, zero as ''.

    None stands for a missing XML element, which .NET prints as `NaN`.
    """
    if value is None:
        return "NaN"
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    rounded = number.quantize(Decimal(1).scaleb(-max_decimals), rounding=ROUND_HALF_UP)
    if rounded == 0:
        return ""
    sign = "-" if rounded < 0 else ""
    whole_text, _, fraction = f"{abs(rounded):f}".partition(".")
    whole = int(whole_text)
    grouped = f"{whole:,}" if whole else ""
    fraction = fraction.rstrip("0")
    return f"{sign}{grouped}.{fraction}" if fraction else f"{sign}{grouped}"


def format_picture(value: int | float | Decimal | None, picture: str) -> str:
    """Format `value` with one of the site's pictures, `####,###` or `####,###.##`."""
    if picture == WHOLE_PICTURE:
        return format_number(value, 0)
    if picture == TWO_DECIMALS_PICTURE:
        return format_number(value, 2)
    raise ValueError(
        f"unsupported picture {picture!r}: expected {WHOLE_PICTURE!r} or {TWO_DECIMALS_PICTURE!r}"
    )
