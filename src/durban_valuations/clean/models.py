"""The typed property row that cleaning produces from a result row."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from durban_valuations.site.models import Roll


@dataclass(frozen=True, slots=True)
class CleanProperty:
    """One property with typed fields; each `raw_*` field is the cell text as printed."""

    roll: Roll
    pin: int
    ptype: str
    ftype: str
    details_href: str
    rate_number: str
    legal_description: str
    address: str
    street_number: str | None
    street_name: str | None
    suburb: str | None
    first_owner: str | None
    use_code: str | None
    use_code_description: str | None
    use_code_number: int | None
    rating_category: str | None
    market_value: int | None
    registered_extent: Decimal | None
    erf: str | None
    portion: str | None
    is_remainder: bool
    deeds_town: str | None
    section_number: str | None
    scheme_name: str | None
    raw_rate_number: str
    raw_legal_description: str
    raw_address: str
    raw_first_owner: str
    raw_use_code: str
    raw_rating_category: str
    raw_market_value: str
    raw_registered_extent: str
