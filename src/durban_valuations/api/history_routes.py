"""Routes over scrape runs and property history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy import Connection

from durban_valuations.api.caching import CACHED_RESPONSES, CONDITIONAL_GET
from durban_valuations.api.database import get_connection
from durban_valuations.api.errors import ERROR_RESPONSES, ApiError, problem_response
from durban_valuations.api.history_params import (
    ChangesRequest,
    RunsRequest,
    changes_request,
    runs_request,
)
from durban_valuations.api.history_schemas import (
    Change,
    ChangePage,
    PropertyHistory,
    RunDetail,
    RunPage,
    RunSummary,
)
from durban_valuations.api.paging import (
    bind_cursor,
    listing_fingerprint,
    reject_unknown_parameters,
    unbind_cursor,
)
from durban_valuations.api.params import RATE_NUMBER_PATTERN
from durban_valuations.config.settings import Settings
from durban_valuations.store import history, runs
from durban_valuations.store.cursor import InvalidCursorError
from durban_valuations.store.value_limits import INTEGER_MAX

router = APIRouter()

ConnectionDependency = Annotated[Connection, Depends(get_connection)]


def _roll_year(request: Request) -> int:
    settings: Settings = request.app.state.settings
    return settings.roll_year


@router.get(
    "/runs",
    response_model=RunPage,
    responses=ERROR_RESPONSES,
    summary="List scrape runs",
    dependencies=[Depends(reject_unknown_parameters(runs_request))],
)
def list_runs(
    connection: ConnectionDependency, params: Annotated[RunsRequest, Depends(runs_request)]
) -> RunPage:
    """List scrape runs of every roll year, newest first, one page at a time."""
    before_id = params.before_id
    if params.cursor is not None:
        try:
            before_id = runs.decode_run_cursor(params.cursor)
        except InvalidCursorError as error:
            raise ApiError(422, str(error), "cursor") from error
    # Fetching one run more than the page size shows whether another page follows.
    found = runs.list_runs(connection, limit=params.limit + 1, before_id=before_id)
    page = found[: params.limit]
    next_cursor = runs.encode_run_cursor(page[-1].id) if len(found) > params.limit else None
    return RunPage(
        items=[RunSummary.model_validate(run, from_attributes=True) for run in page],
        next_cursor=next_cursor,
        limit=params.limit,
    )


@router.get(
    "/runs/{run_id}",
    response_model=RunDetail,
    responses={404: problem_response("No run has this id."), **ERROR_RESPONSES},
    summary="Get one scrape run with its coverage report",
    dependencies=[Depends(reject_unknown_parameters(lambda: None))],
    # The report is returned as stored: a key it lacks is left out, not set to null.
    response_model_exclude_unset=True,
)
def get_run(
    connection: ConnectionDependency,
    run_id: Annotated[int, Path(description="Id of the scrape run.", ge=1, le=INTEGER_MAX)],
) -> RunDetail:
    """Return every column of one run, including the per-roll coverage report."""
    run = runs.get_run(connection, run_id)
    if run is None:
        raise ApiError(404, f"no scrape run has id {run_id}", "run_id")
    return RunDetail.model_validate(run, from_attributes=True)


@router.get(
    "/properties/{rate_number}/history",
    response_model=PropertyHistory,
    responses={
        **CACHED_RESPONSES,
        404: problem_response("No property has this rate number."),
        **ERROR_RESPONSES,
    },
    summary="Get the change history of the properties with one rate number",
    dependencies=[Depends(reject_unknown_parameters(lambda: None)), CONDITIONAL_GET],
)
def get_property_history(
    request: Request,
    connection: ConnectionDependency,
    rate_number: Annotated[
        str, Path(description="Rate number, 8 digits.", pattern=RATE_NUMBER_PATTERN)
    ],
) -> PropertyHistory:
    """Return every change of every property with this rate number, both rolls, oldest first."""
    roll_year = _roll_year(request)
    if not history.rate_number_exists(connection, rate_number, roll_year):
        raise ApiError(
            404, f"no property has rate number {rate_number} in the {roll_year} roll", "rate_number"
        )
    changes = history.property_history(connection, rate_number, roll_year)
    return PropertyHistory(
        rate_number=rate_number, changes=[Change.model_validate(item) for item in changes]
    )


@router.get(
    "/changes",
    response_model=ChangePage,
    responses={**CACHED_RESPONSES, **ERROR_RESPONSES},
    summary="List property changes recorded after a time",
    dependencies=[Depends(reject_unknown_parameters(changes_request)), CONDITIONAL_GET],
)
def list_changes(
    request: Request,
    connection: ConnectionDependency,
    params: Annotated[ChangesRequest, Depends(changes_request)],
) -> ChangePage:
    """List the changes of the roll year recorded after `since`, oldest first, one page at a time.

    Pages follow (changed_at, id), so walking the cursors returns each matching change once.
    """
    fingerprint = listing_fingerprint(request)
    cursor = None if params.cursor is None else unbind_cursor(params.cursor, fingerprint)
    try:
        page = history.list_changes(
            connection,
            since=params.since,
            roll_year=_roll_year(request),
            kind=params.kind,
            roll=params.roll,
            cursor=cursor,
            limit=params.limit,
        )
    except InvalidCursorError as error:
        raise ApiError(422, str(error), "cursor") from error
    return ChangePage(
        items=[Change.model_validate(item) for item in page.items],
        next_cursor=bind_cursor(page.next_cursor, fingerprint),
        limit=params.limit,
    )
