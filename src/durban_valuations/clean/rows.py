"""Clean a parsed result row into a typed property."""

from __future__ import annotations

from durban_valuations.clean.address import split_address
from durban_valuations.clean.legal_description import parse_legal_description
from durban_valuations.clean.models import CleanProperty
from durban_valuations.clean.numbers import parse_extent, parse_market_value
from durban_valuations.clean.rate_number import clean_rate_number
from durban_valuations.clean.text import clean_address_text, clean_text, collapse_whitespace
from durban_valuations.clean.use_code import split_use_code
from durban_valuations.site.models import ResultRow, Roll


def clean_row(roll: Roll, row: ResultRow) -> CleanProperty:
    """Build the typed property of one result row, keeping the printed text in `raw_*` fields.

    Raises:
        ValueError: the market value or extent is not a number in the site's format.
    """
    address = split_address(row.address)
    use_code = split_use_code(row.use_code)
    legal = parse_legal_description(row.legal_description)

    return CleanProperty(
        roll=roll,
        pin=row.pin,
        ptype=row.ptype,
        ftype=row.ftype,
        details_href=row.details_href,
        rate_number=clean_rate_number(row.rate_number),
        legal_description=collapse_whitespace(row.legal_description),
        address=clean_address_text(row.address),
        street_number=address.street_number,
        street_name=address.street_name,
        suburb=address.suburb,
        first_owner=clean_text(row.first_owner),
        use_code=clean_text(row.use_code),
        use_code_description=use_code.description,
        use_code_number=use_code.number,
        rating_category=clean_text(row.rating_category),
        market_value=parse_market_value(row.market_value),
        registered_extent=parse_extent(row.registered_extent),
        erf=legal.erf,
        portion=legal.portion,
        is_remainder=legal.is_remainder,
        deeds_town=legal.deeds_town,
        section_number=legal.section_number,
        scheme_name=legal.scheme_name,
        raw_rate_number=row.rate_number,
        raw_legal_description=row.legal_description,
        raw_address=row.address,
        raw_first_owner=row.first_owner,
        raw_use_code=row.use_code,
        raw_rating_category=row.rating_category,
        raw_market_value=row.market_value,
        raw_registered_extent=row.registered_extent,
    )
