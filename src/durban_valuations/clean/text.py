"""Whitespace cleaning of the site's text cells."""

from __future__ import annotations

import re

_SPACE_BEFORE_COMMA = re.compile(r"\s+,")


def collapse_whitespace(text: str) -> str:
    """Return the text with outer whitespace removed and inner runs of whitespace as one space."""
    return " ".join(text.split())


def clean_text(text: str) -> str | None:
    """Return the collapsed text, or None when the site printed an empty cell."""
    collapsed = collapse_whitespace(text)
    return collapsed or None


def clean_address_text(text: str) -> str:
    """Return the collapsed address without the spaces that pad the street before its comma.

    The site pads some street names to a fixed width (`YACHT MOLE` then 22 spaces, then
    `, ESPLANADE`), so the cleaned address reads `YACHT MOLE, ESPLANADE`.
    """
    return _SPACE_BEFORE_COMMA.sub(",", collapse_whitespace(text))
