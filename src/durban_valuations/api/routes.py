"""The read-only routes of the API."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import Connection

from durban_valuations.api.caching import CACHED_RESPONSES, CONDITIONAL_GET
from durban_valuations.api.database import with_connection
from durban_valuations.api.errors import ERROR_RESPONSES, ApiError, problem_response
from durban_valuations.api.paging import (
    bind_cursor,
    listing_fingerprint,
    reject_unknown_parameters,
    unbind_cursor,
)
from durban_valuations.api.params import RATE_NUMBER_PATTERN, ListRequest, list_request
from durban_valuations.api.schemas import (
    Health,
    PropertyDetail,
    PropertyPage,
    PropertySummary,
    RateNumberProperties,
    Suburb,
)
from durban_valuations.config.settings import Settings
from durban_valuations.site.models import Roll
from durban_valuations.store import queries
from durban_valuations.store.cursor import InvalidCursorError
from durban_valuations.store.search import InvalidSearchError

router = APIRouter()
# Routes that stay unversioned and out of the /v1 prefix.
health_router = APIRouter()


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.get(
    "/properties",
    response_model=PropertyPage,
    responses={**CACHED_RESPONSES, **ERROR_RESPONSES},
    summary="List properties",
    dependencies=[Depends(reject_unknown_parameters(list_request)), CONDITIONAL_GET],
)
async def list_properties(
    request: Request, params: Annotated[ListRequest, Depends(list_request)]
) -> PropertyPage:
    """List the properties of the roll year that match every given filter, one page at a time."""
    filters = dataclasses.replace(params.filters, roll_year=_settings(request).roll_year)
    fingerprint = listing_fingerprint(request)
    cursor = None if params.cursor is None else unbind_cursor(params.cursor, fingerprint)

    def read(connection: Connection) -> queries.PropertyPage:
        return queries.list_properties(
            connection, filters, sort=params.sort, cursor=cursor, limit=params.limit
        )

    try:
        page = await with_connection(request, read)
    except InvalidCursorError as error:
        raise ApiError(422, str(error), "cursor") from error
    except InvalidSearchError as error:
        raise ApiError(422, str(error), "q") from error
    return PropertyPage(
        items=[PropertySummary.model_validate(item) for item in page.items],
        next_cursor=bind_cursor(page.next_cursor, fingerprint),
        limit=params.limit,
    )


@router.get(
    "/properties/{rate_number}",
    response_model=RateNumberProperties,
    responses={
        **CACHED_RESPONSES,
        404: problem_response("No property has this rate number."),
        **ERROR_RESPONSES,
    },
    summary="Get the properties with one rate number",
    dependencies=[CONDITIONAL_GET],
)
async def get_property(
    request: Request,
    rate_number: Annotated[
        str, Path(description="Rate number, 8 digits.", pattern=RATE_NUMBER_PATTERN)
    ],
) -> RateNumberProperties:
    """Return every property with this rate number: one per roll, so at most two."""
    roll_year = _settings(request).roll_year
    found = await with_connection(
        request,
        lambda connection: queries.get_properties_by_rate_number(
            connection, rate_number, roll_year
        ),
    )
    if not found:
        raise ApiError(
            404, f"no property has rate number {rate_number} in the {roll_year} roll", "rate_number"
        )
    return RateNumberProperties(
        rate_number=rate_number,
        properties=[PropertyDetail.model_validate(item) for item in found],
    )


@router.get(
    "/suburbs",
    response_model=list[Suburb],
    responses={**CACHED_RESPONSES, **ERROR_RESPONSES},
    summary="List suburbs",
    dependencies=[Depends(reject_unknown_parameters(lambda roll: None)), CONDITIONAL_GET],
)
async def list_suburbs(
    request: Request,
    roll: Annotated[Roll | None, Query(description="Count only this roll.")] = None,
) -> list[Suburb]:
    """List suburbs by name with their property count and median market value."""
    roll_year = _settings(request).roll_year
    rows = await with_connection(
        request,
        lambda connection: queries.list_suburbs(connection, roll=roll, roll_year=roll_year),
    )
    return [
        Suburb(
            name=name,
            property_count=count,
            median_market_value=None if median is None else round(median),
        )
        for name, count, median in rows
    ]


@health_router.get(
    "/health",
    response_model=Health,
    summary="Check that the service process is alive",
)
async def health() -> Health:
    """Return ok while the process responds; GET /ready also checks the database."""
    return Health(status="ok")
