"""Query parameters of `GET /properties` and the exports, checked and turned into store filters."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from fastapi import Depends, Query

from durban_valuations.api.errors import ApiError
from durban_valuations.site.models import Roll
from durban_valuations.store.cursor import RELEVANCE, SORT_FIELDS, SortOrder, parse_sort
from durban_valuations.store.filters import PropertyFilters
from durban_valuations.store.value_limits import BIGINT_MAX, INTEGER_MAX

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
RATE_NUMBER_PATTERN = r"^[0-9]{8}$"
SORT_PATTERN = rf"^(-?({'|'.join(SORT_FIELDS)})|{RELEVANCE})$"

_TEXT = {"min_length": 1, "max_length": 200}

SortParameter = Annotated[
    str | None,
    Query(
        description=f"Sort field, one of {', '.join(SORT_FIELDS)}; a leading '-' sorts "
        f"descending. {RELEVANCE} (only with q) sorts the best matches first. "
        "Properties without a value come last; pin breaks ties. Default: "
        f"{RELEVANCE} with q, else rate_number.",
        pattern=SORT_PATTERN,
    ),
]


@dataclass(frozen=True, slots=True)
class ListRequest:
    """A checked `GET /properties` request; no sort means the default order."""

    filters: PropertyFilters
    sort: SortOrder | None
    cursor: str | None
    limit: int


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """A checked property export request: every matching property, in `sort` order."""

    filters: PropertyFilters
    sort: SortOrder | None


def check_range(low_name: str, low: float | None, high_name: str, high: float | None) -> None:
    if low is not None and high is not None and low > high:
        raise ApiError(
            422,
            f"invalid range: {low_name}={low:g} is greater than {high_name}={high:g}; "
            f"expected {low_name} <= {high_name}",
            low_name,
        )


# Parameter declarations shared by the listing, the exports and the compatibility route.
RateNumberContainsQuery = Annotated[
    str | None,
    Query(description="Rate numbers containing these 1 to 8 digits.", pattern=r"^[0-9]{1,8}$"),
]
OwnerQuery = Annotated[
    str | None,
    Query(description="Owner names containing this text, case-insensitive.", **_TEXT),
]
UseCodeQuery = Annotated[
    int | None,
    Query(description="Use code number, for example 47 for vacant land.", ge=0, le=INTEGER_MAX),
]
RatingCategoryQuery = Annotated[
    str | None, Query(description="Rating category, whole name, case-insensitive.", **_TEXT)
]
MinMarketValueQuery = Annotated[
    int | None,
    Query(description="Lowest market value in whole rands, inclusive.", ge=0, le=BIGINT_MAX),
]
MaxMarketValueQuery = Annotated[
    int | None,
    Query(description="Highest market value in whole rands, inclusive.", ge=0, le=BIGINT_MAX),
]
MinExtentQuery = Annotated[
    float | None,
    Query(description="Smallest registered extent in m², inclusive.", ge=0, allow_inf_nan=False),
]
MaxExtentQuery = Annotated[
    float | None,
    Query(description="Largest registered extent in m², inclusive.", ge=0, allow_inf_nan=False),
]


def _checked_sort(sort: str | None, filters: PropertyFilters) -> SortOrder | None:
    """Parse `sort`, and reject relevance without search text."""
    order = None if sort is None else parse_sort(sort)
    if order is not None and order.field == RELEVANCE and filters.q is None:
        raise ApiError(
            422, f"invalid sort {RELEVANCE!r}: it needs q; add q or sort by another field", "sort"
        )
    return order


async def filters_request(
    roll: Annotated[Roll | None, Query(description="Only this roll.")] = None,
    rate_number: Annotated[
        str | None,
        Query(description="Exact rate number, 8 digits.", pattern=RATE_NUMBER_PATTERN),
    ] = None,
    rate_number_contains: RateNumberContainsQuery = None,
    suburb: Annotated[
        str | None, Query(description="Suburb, whole name, case-insensitive.", **_TEXT)
    ] = None,
    street: Annotated[
        str | None,
        Query(description="Street names containing this text, case-insensitive.", **_TEXT),
    ] = None,
    street_prefix: Annotated[
        str | None,
        Query(
            description="Street names starting with this text, case-insensitive; "
            "an index serves it, unlike street.",
            **_TEXT,
        ),
    ] = None,
    deeds_town: Annotated[
        str | None, Query(description="Deeds town, whole name, case-insensitive.", **_TEXT)
    ] = None,
    use_code: UseCodeQuery = None,
    rating_category: RatingCategoryQuery = None,
    min_market_value: MinMarketValueQuery = None,
    max_market_value: MaxMarketValueQuery = None,
    min_extent: MinExtentQuery = None,
    max_extent: MaxExtentQuery = None,
    owner: OwnerQuery = None,
    q: Annotated[
        str | None,
        Query(
            description="Full-text search over the address, scheme name, owners and legal "
            "description. Words match whole and ignore case. All words must match, unless "
            "'or' stands between them; \"quoted words\" match as a phrase and a leading '-' "
            "excludes a word. The results are sorted by relevance unless sort is given.",
            **_TEXT,
        ),
    ] = None,
) -> PropertyFilters:
    """Check the filter parameters of the property listing and exports, and build the filters.

    FastAPI checks each parameter alone; this checks that each range has low <= high.
    """
    check_range("min_market_value", min_market_value, "max_market_value", max_market_value)
    check_range("min_extent", min_extent, "max_extent", max_extent)
    return PropertyFilters(
        roll=roll,
        rate_number=rate_number,
        rate_number_contains=rate_number_contains,
        suburb=suburb,
        street=street,
        street_prefix=street_prefix,
        deeds_town=deeds_town,
        use_code=use_code,
        rating_category=rating_category,
        min_market_value=min_market_value,
        max_market_value=max_market_value,
        min_extent=None if min_extent is None else Decimal(str(min_extent)),
        max_extent=None if max_extent is None else Decimal(str(max_extent)),
        owner=owner,
        q=q,
    )


async def list_request(
    filters: Annotated[PropertyFilters, Depends(filters_request)],
    sort: SortParameter = None,
    cursor: Annotated[
        str | None,
        Query(
            description="next_cursor of the previous page, with the same sort.",
            max_length=500,
        ),
    ] = None,
    limit: Annotated[
        int, Query(description="Maximum number of items per page.", ge=1, le=MAX_LIMIT)
    ] = DEFAULT_LIMIT,
) -> ListRequest:
    """Build a `GET /properties` request from its checked filters and paging parameters."""
    return ListRequest(
        filters=filters, sort=_checked_sort(sort, filters), cursor=cursor, limit=limit
    )


async def export_request(
    filters: Annotated[PropertyFilters, Depends(filters_request)],
    sort: SortParameter = None,
) -> ExportRequest:
    """Build a property export request from its checked filters and sort."""
    return ExportRequest(filters=filters, sort=_checked_sort(sort, filters))
