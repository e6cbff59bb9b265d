"""Rate numbers: 8-digit text whose leading zeros matter (`00190534`)."""

from __future__ import annotations

import re

_RATE_NUMBER = re.compile(r"\d{8}")


def clean_rate_number(text: str) -> str:
    """Return the rate number as text, stripped of outer whitespace.

    Rate numbers stay text because their leading zeros are part of the number. A value that
    is not 8 digits, such as the empty rate number of a row that the site links as "Details",
    is kept as printed. Cleaning neither logs nor raises for it, so callers that need a valid
    number check `is_valid_rate_number`.
    """
    return text.strip()


def is_valid_rate_number(text: str) -> bool:
    """Return True when the text is exactly 8 digits."""
    return _RATE_NUMBER.fullmatch(text) is not None
