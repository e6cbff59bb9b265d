"""Routes of market value statistics, cached until the next complete run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import Connection

from durban_valuations.api.caching import (
    CACHED_RESPONSES,
    CONDITIONAL_GET,
    request_completed_run,
)
from durban_valuations.api.database import with_connection
from durban_valuations.api.errors import ERROR_RESPONSES, ApiError, problem_response
from durban_valuations.api.paging import reject_unknown_parameters
from durban_valuations.api.per_run_cache import RunCache
from durban_valuations.api.stats_schemas import (
    CategoryStatistics,
    GroupStatistics,
    RollStatistics,
    Statistics,
    StatisticsRun,
    UseCodeStatistics,
)
from durban_valuations.config.settings import Settings
from durban_valuations.site.models import Roll
from durban_valuations.store import stats

router = APIRouter()

RollQuery = Annotated[Roll | None, Query(description="Only this roll.")]


def _group_fields(group: stats.GroupStatistics) -> dict[str, object]:
    return GroupStatistics.model_validate(group, from_attributes=True).model_dump()


def _roll_response(roll: stats.RollStatistics) -> RollStatistics:
    return RollStatistics(
        roll=roll.roll,
        **_group_fields(roll.statistics),
        by_rating_category=[
            CategoryStatistics(
                rating_category=item.rating_category, **_group_fields(item.statistics)
            )
            for item in roll.by_rating_category
        ],
        by_use_code=[
            UseCodeStatistics(
                use_code_number=item.use_code_number,
                use_code_description=item.use_code_description,
                **_group_fields(item.statistics),
            )
            for item in roll.by_use_code
        ],
    )


async def _statistics(request: Request, roll: Roll | None, suburb: str | None) -> Statistics:
    """Return the cached statistics, or compute them when a newer run has completed."""
    settings: Settings = request.app.state.settings
    cache: RunCache[Statistics] = request.app.state.statistics_cache
    roll_year = settings.roll_year
    run = request_completed_run(request)
    # The name as sent, not folded to one case, because the response repeats it.
    key = (roll_year, roll, suburb)
    found, cached = cache.lookup(key, run)
    if found and cached is not None:
        return cached

    def compute(connection: Connection) -> Statistics:
        rolls = stats.compute_statistics(connection, roll_year, roll=roll, suburb=suburb)
        return Statistics(
            roll_year=roll_year,
            suburb=suburb,
            run=None if run is None else StatisticsRun(id=run.id, finished_at=run.finished_at),
            computed_at=datetime.now(UTC),
            rolls=[_roll_response(item) for item in rolls],
        )

    result = await with_connection(request, compute)
    cache.store(key, run, result)
    return result


@router.get(
    "/stats",
    response_model=Statistics,
    responses={**CACHED_RESPONSES, **ERROR_RESPONSES},
    summary="Get market value statistics of the roll",
    dependencies=[Depends(reject_unknown_parameters(lambda roll: None)), CONDITIONAL_GET],
)
async def get_statistics(request: Request, roll: RollQuery = None) -> Statistics:
    """Return property counts and market value statistics per roll, rating category and use code.

    The statistics are computed once per complete run and reused until a newer complete
    run is recorded, so properties that a later, unfinished run wrote show up only after
    a run completes. `run` names the run that the statistics follow. Before the first
    complete run of the roll year, every request computes them.
    """
    return await _statistics(request, roll, suburb=None)


# The path converter lets a name contain '/', as some suburb names of the roll do
# (for example "L/LUCIA RIDGE OFFICE PARK PH I"), sent plain or as %2F.
@router.get(
    "/suburbs/{name:path}/stats",
    response_model=Statistics,
    responses={
        **CACHED_RESPONSES,
        404: problem_response(
            "No property of the roll year, or of the requested roll, is in this suburb."
        ),
        **ERROR_RESPONSES,
    },
    summary="Get market value statistics of one suburb",
    dependencies=[Depends(reject_unknown_parameters(lambda roll: None)), CONDITIONAL_GET],
)
async def get_suburb_statistics(
    request: Request,
    name: Annotated[
        str,
        Path(
            description="Suburb name as GET /suburbs lists it, in any case.",
            min_length=1,
            max_length=200,
        ),
    ],
    roll: RollQuery = None,
) -> Statistics:
    """Return the statistics of GET /stats for the properties of one suburb.

    The statistics of a suburb without properties are cached like any other, so
    repeated requests for it cost no more than other cached requests.
    """
    result = await _statistics(request, roll, suburb=name)
    if all(item.property_count == 0 for item in result.rolls):
        roll_year = result.roll_year
        scope = f"the {roll_year} roll" if roll is None else f"the {roll_year} {roll} roll"
        raise ApiError(
            404,
            f"no property in suburb {name!r} in {scope}; GET /suburbs lists the suburb names "
            "with their property counts",
            "name",
        )
    return result
