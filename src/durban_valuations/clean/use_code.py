"""Use codes, printed as `Description (NN)`, such as `Single Residential (15)`."""

from __future__ import annotations

import re
from typing import NamedTuple

from durban_valuations.clean.text import collapse_whitespace

# Non-greedy, so a description with its own brackets keeps them:
# `Durban Corporation (Rates in Rent) (71)`.
_USE_CODE = re.compile(r"(?P<description>.*?)\s*\((?P<number>\d+)\)")


class UseCode(NamedTuple):
    """A use code's description and number."""

    description: str | None
    number: int | None


def split_use_code(text: str) -> UseCode:
    """Split a use code into its description and number.

    An empty cell gives (None, None). Text without a trailing `(NN)` is kept whole as the
    description, with no number.
    """
    value = collapse_whitespace(text)
    if not value:
        return UseCode(None, None)

    match = _USE_CODE.fullmatch(value)
    if match is None:
        return UseCode(value, None)
    return UseCode(match.group("description") or None, int(match.group("number")))
