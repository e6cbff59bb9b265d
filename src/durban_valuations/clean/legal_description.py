"""Legal descriptions: the erf, portion and deeds town of full title properties, or the
section and scheme of sectional title units."""

from __future__ import annotations

import re
from typing import NamedTuple

from durban_valuations.clean.text import collapse_whitespace

# Live forms, matched without regard to case: `ERF 18288 of PINETOWN`,
# `Portion 16 of ERF 74 of AMANZIMTOTI`, `REM of ERF 4418 of RESERVOIR HILLS`,
# `REM of Portion 2 of ERF 335 of SEA VIEW`, and upper-case `REM OF ERF 2 OF CATO MANOR`.
_ERF = re.compile(
    r"(?P<remainder>REM\s+of\s+)?"
    r"(?:Portion\s+(?P<portion>\S+)\s+of\s+)?"
    r"ERF\s+(?P<erf>\S+)\s+of\s+(?P<town>.+)",
    re.IGNORECASE,
)

# NOTE: no live sectional result row has been seen. This is the form the project's replica
# prints (`Section 12 of SS SUN & SAND`), so the live format may differ.
_SECTION = re.compile(r"Section\s+(?P<section>\S+)\s+of\s+(?P<scheme>.+)", re.IGNORECASE)


class LegalDescription(NamedTuple):
    """Parts of a legal description, each None when the description does not name it."""

    erf: str | None
    portion: str | None
    is_remainder: bool
    deeds_town: str | None
    section_number: str | None
    scheme_name: str | None


NO_PARTS = LegalDescription(None, None, False, None, None, None)


def parse_legal_description(text: str) -> LegalDescription:
    """Parse the erf, portion, remainder flag and deeds town, or the section and scheme.

    `REM` marks the remainder of an erf or portion after parts were subdivided from it.
    A description in neither form gives every part None.
    """
    value = collapse_whitespace(text)

    erf = _ERF.fullmatch(value)
    if erf is not None:
        return LegalDescription(
            erf=erf.group("erf"),
            portion=erf.group("portion"),
            is_remainder=erf.group("remainder") is not None,
            deeds_town=erf.group("town"),
            section_number=None,
            scheme_name=None,
        )

    section = _SECTION.fullmatch(value)
    if section is not None:
        return NO_PARTS._replace(
            section_number=section.group("section"), scheme_name=section.group("scheme")
        )
    return NO_PARTS
