"""`GET /get_properties/property_type/{FULL|SECT}`: the listing for clients of the older API.

Its query parameters and item fields are named after the columns of the municipal
site's result table (Rate Number, Legal Description, Address, First Owner, Use Code,
Rating Category, Market Value, Registered Extent). It runs the query of `GET /properties`.
"""

from __future__ import annotations

import dataclasses
import enum
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from durban_valuations.api.caching import CACHED_RESPONSES, CONDITIONAL_GET
from durban_valuations.api.database import with_connection
from durban_valuations.api.errors import ERROR_RESPONSES, ApiError
from durban_valuations.api.paging import (
    bind_cursor,
    listing_fingerprint,
    reject_unknown_parameters,
    unbind_cursor,
)
from durban_valuations.api.params import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MaxExtentQuery,
    MaxMarketValueQuery,
    MinExtentQuery,
    MinMarketValueQuery,
    OwnerQuery,
    RateNumberContainsQuery,
    RatingCategoryQuery,
    UseCodeQuery,
    check_range,
)
from durban_valuations.config.settings import Settings
from durban_valuations.site.models import Roll
from durban_valuations.store import queries
from durban_valuations.store.cursor import InvalidCursorError
from durban_valuations.store.filters import PropertyFilters

router = APIRouter()

_TEXT = {"min_length": 1, "max_length": 200}


class PropertyType(enum.StrEnum):
    """Roll names of the older API: FULL for full title, SECT for sectional title."""

    FULL = "FULL"
    SECT = "SECT"


ROLLS = {PropertyType.FULL: Roll.FULL, PropertyType.SECT: Roll.SECTIONAL}


class ResultRow(BaseModel):
    """One property with the columns of the site's result table, in snake case."""

    rate_number: str = Field(description="Rate Number: municipal rate number, 8 digits.")
    legal_description: str = Field(description="Legal Description, as printed.")
    address: str = Field(description="Address, as printed.")
    first_owner: str | None = Field(description="First Owner, as printed.")
    use_code: str | None = Field(
        description="Use Code, as printed, for example 'Vacant Land (47)'."
    )
    rating_category: str | None = Field(description="Rating Category, as printed.")
    market_value: int | None = Field(description="Market Value in whole rands.")
    registered_extent: float | None = Field(description="Registered Extent in square metres.")


class ResultPage(BaseModel):
    """One page of result rows."""

    items: list[ResultRow]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )
    limit: int = Field(description="Maximum number of items per page that this request used.")


async def compat_filters(
    rate_number: RateNumberContainsQuery = None,
    street: Annotated[
        str | None,
        Query(description="Street names (of the Address) containing this text.", **_TEXT),
    ] = None,
    suburb: Annotated[
        str | None,
        Query(description="Suburb (of the Address), whole name, case-insensitive.", **_TEXT),
    ] = None,
    first_owner: OwnerQuery = None,
    use_code: UseCodeQuery = None,
    rating_category: RatingCategoryQuery = None,
    min_market_value: MinMarketValueQuery = None,
    max_market_value: MaxMarketValueQuery = None,
    min_registered_extent: MinExtentQuery = None,
    max_registered_extent: MaxExtentQuery = None,
) -> PropertyFilters:
    """Build the store filters from the parameters named after the result columns."""
    check_range("min_market_value", min_market_value, "max_market_value", max_market_value)
    check_range(
        "min_registered_extent", min_registered_extent, "max_registered_extent",
        max_registered_extent,
    )  # fmt: skip
    return PropertyFilters(
        rate_number_contains=rate_number,
        street=street,
        suburb=suburb,
        owner=first_owner,
        use_code=use_code,
        rating_category=rating_category,
        min_market_value=min_market_value,
        max_market_value=max_market_value,
        min_extent=None if min_registered_extent is None else _decimal(min_registered_extent),
        max_extent=None if max_registered_extent is None else _decimal(max_registered_extent),
    )


def _decimal(value: float) -> Decimal:
    return Decimal(str(value))


async def compat_paging(
    cursor: Annotated[
        str | None,
        Query(
            description="next_cursor of the previous page, with the same filters.", max_length=500
        ),
    ] = None,
    limit: Annotated[
        int, Query(description="Maximum number of items per page.", ge=1, le=MAX_LIMIT)
    ] = DEFAULT_LIMIT,
) -> tuple[str | None, int]:
    """Return the cursor and page size."""
    return cursor, limit


_DESCRIPTION = """\
The property listing of the older API, ordered by rate number. `FULL` lists the
full-title roll and `SECT` the sectional-title roll; any other type is a 422 error.

The query parameters and item fields are named after the columns of the municipal
site's result table:

| Site column       | Item field          | Query parameters                                   |
|-------------------|---------------------|----------------------------------------------------|
| Rate Number       | `rate_number`       | `rate_number` (rate numbers containing the digits) |
| Legal Description | `legal_description` | none                                               |
| Address           | `address`           | `street` (street name contains), `suburb`          |
| First Owner       | `first_owner`       | `first_owner` (any owner's name contains)          |
| Use Code          | `use_code`          | `use_code` (the number, for example 47)            |
| Rating Category   | `rating_category`   | `rating_category`                                  |
| Market Value      | `market_value`      | `min_market_value`, `max_market_value` (rands)     |
| Registered Extent | `registered_extent` | `min_registered_extent`, `max_registered_extent` (m²) |

Pages follow `next_cursor` as in `GET /v1/properties`, which has more filters and fields.
"""


@router.get(
    "/get_properties/property_type/{property_type}",
    response_model=ResultPage,
    responses={**CACHED_RESPONSES, **ERROR_RESPONSES},
    summary="List properties of one roll with the site's column names",
    description=_DESCRIPTION,
    dependencies=[
        Depends(reject_unknown_parameters(compat_filters, compat_paging)),
        CONDITIONAL_GET,
    ],
)
async def get_properties(
    request: Request,
    property_type: Annotated[
        PropertyType, Path(description="FULL (full title) or SECT (sectional title).")
    ],
    filters: Annotated[PropertyFilters, Depends(compat_filters)],
    paging: Annotated[tuple[str | None, int], Depends(compat_paging)],
) -> ResultPage:
    """List the properties of one roll that match every given filter, one page at a time."""
    cursor, limit = paging
    settings: Settings = request.app.state.settings
    roll = ROLLS[property_type]
    filters = dataclasses.replace(filters, roll=roll, roll_year=settings.roll_year)
    fingerprint = listing_fingerprint(request, listing=roll.value)
    store_cursor = None if cursor is None else unbind_cursor(cursor, fingerprint)

    def read(connection: Connection) -> queries.PropertyPage:
        return queries.list_properties(connection, filters, cursor=store_cursor, limit=limit)

    try:
        page = await with_connection(request, read)
    except InvalidCursorError as error:
        raise ApiError(422, str(error), "cursor") from error
    return ResultPage(
        items=[ResultRow.model_validate(item, from_attributes=True) for item in page.items],
        next_cursor=bind_cursor(page.next_cursor, fingerprint),
        limit=limit,
    )
