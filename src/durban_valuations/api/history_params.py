"""Query parameters of `GET /runs` and `GET /changes`, checked by FastAPI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Query
from pydantic import AwareDatetime

from durban_valuations.api.errors import ApiError
from durban_valuations.site.models import Roll
from durban_valuations.store.history import ChangeKind
from durban_valuations.store.value_limits import INTEGER_MAX

RUNS_DEFAULT_LIMIT = 20
RUNS_MAX_LIMIT = 100
CHANGES_DEFAULT_LIMIT = 100
CHANGES_MAX_LIMIT = 1000

_CURSOR_DESCRIPTION = "next_cursor of the previous page."


@dataclass(frozen=True, slots=True)
class RunsRequest:
    """A checked `GET /runs` request; at most one of `cursor` and `before_id` is set."""

    limit: int
    cursor: str | None
    before_id: int | None


@dataclass(frozen=True, slots=True)
class ChangesRequest:
    """A checked `GET /changes` request."""

    since: AwareDatetime
    kind: ChangeKind | None
    roll: Roll | None
    cursor: str | None
    limit: int


async def runs_request(
    limit: Annotated[
        int, Query(description="Maximum number of runs per page.", ge=1, le=RUNS_MAX_LIMIT)
    ] = RUNS_DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(description=f"{_CURSOR_DESCRIPTION} Not together with before_id.", max_length=200),
    ] = None,
    before_id: Annotated[
        int | None,
        Query(
            description="Only runs with an id below this one. Not together with cursor.",
            ge=1,
            le=INTEGER_MAX,
        ),
    ] = None,
) -> RunsRequest:
    """Build the request, rejecting `cursor` and `before_id` together."""
    if cursor is not None and before_id is not None:
        raise ApiError(
            422,
            "invalid before_id: cursor and before_id both set the start of the page; "
            "send only one of them",
            "before_id",
        )
    return RunsRequest(limit=limit, cursor=cursor, before_id=before_id)


async def changes_request(
    since: Annotated[
        AwareDatetime,
        Query(
            description="Only changes recorded after this time: an ISO 8601 datetime with a "
            "time zone, for example 2024-07-01T00:00:00Z or 2024-07-01T02:00:00+02:00.",
        ),
    ],
    kind: Annotated[ChangeKind | None, Query(description="Only changes of this kind.")] = None,
    roll: Annotated[Roll | None, Query(description="Only changes of this roll.")] = None,
    cursor: Annotated[
        str | None,
        Query(
            description=f"{_CURSOR_DESCRIPTION} With the same since, kind and roll.", max_length=500
        ),
    ] = None,
    limit: Annotated[
        int,
        Query(description="Maximum number of changes per page.", ge=1, le=CHANGES_MAX_LIMIT),
    ] = CHANGES_DEFAULT_LIMIT,
) -> ChangesRequest:
    """Build the request from the parameters FastAPI has checked."""
    return ChangesRequest(since=since, kind=kind, roll=roll, cursor=cursor, limit=limit)
