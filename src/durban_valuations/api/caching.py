"""HTTP caching of the data routes: validators tied to the last complete run, 304 responses.

A data route takes the roll year's last complete run from the process's
CompletedRunCache, which reads it again (one small query on `scrape_runs`) once the
reading is older than API_RUN_CACHE_SECONDS. The run is kept in `request.state` for the
statistics routes. From it come a weak ETag and a Last-Modified date, so a client that
revalidates gets 304 Not Modified until a newer run completes. Every other response
gets `Cache-Control: no-store`.

NOTE: a running scrape writes properties and changes before it completes, so during a
scrape /properties and /changes may differ from what a 304 confirms, until the run
completes and the ETag changes. The statistics follow complete runs only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from durban_valuations import __version__
from durban_valuations.api.database import EngineProvider
from durban_valuations.api.run_cache import COMPLETED_RUN_STATE_KEY, CompletedRunCache
from durban_valuations.config.settings import Settings
from durban_valuations.store.stats import CompletedRun

# Five minutes: a client or shared cache may reuse a data response this long without
# asking. A run completes about once a day, so a longer age would not save many requests,
# while five minutes bounds how long a client keeps data that a newly completed run replaced.
DATA_CACHE_CONTROL = "public, max-age=300"
NO_STORE = "no-store"
# Key in the ASGI scope's "state" dict (request.state) for the headers of a data response.
CACHE_HEADERS_KEY = "cache_headers"


_HEADER_DOCS = {
    "ETag": "Weak tag of this response under the last complete run; absent before the "
    "first complete run.",
    "Last-Modified": "When the last complete run finished; absent before the first one.",
    "Cache-Control": "public, max-age=300 after a complete run, else no-store.",
}
_HEADERS = {
    name: {"description": description, "schema": {"type": "string"}}
    for name, description in _HEADER_DOCS.items()
}
# OpenAPI entries of the data routes: the caching headers of 200 responses, and 304.
CACHED_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"headers": _HEADERS},
    304: {
        "description": "Not Modified: the copy that If-None-Match or If-Modified-Since "
        "names is current. No body.",
        "headers": _HEADERS,
    },
}


class NotModifiedError(Exception):
    """The client's copy of a data response is current, so the response is 304 Not Modified."""


def completed_run(request: Request, connection: Connection) -> CompletedRun | None:
    """Return the last complete run of the roll year, the same one for the whole request.

    It comes from the process's CompletedRunCache, or from `connection` when the
    cached reading is too old.
    """
    state = request.scope.setdefault("state", {})
    if COMPLETED_RUN_STATE_KEY not in state:
        cache: CompletedRunCache = request.app.state.completed_run_cache
        fresh, run = cache.current()
        state[COMPLETED_RUN_STATE_KEY] = run if fresh else cache.read(connection)
    stored: CompletedRun | None = state[COMPLETED_RUN_STATE_KEY]
    return stored


def request_completed_run(request: Request) -> CompletedRun | None:
    """Return the run that `conditional_get` found for this request.

    Raises RuntimeError on a route without the CONDITIONAL_GET dependency.
    """
    state = request.scope.get("state", {})
    if COMPLETED_RUN_STATE_KEY not in state:
        raise RuntimeError(f"{request.url.path} has no CONDITIONAL_GET dependency")
    run: CompletedRun | None = state[COMPLETED_RUN_STATE_KEY]
    return run


def _read_completed_run(request: Request) -> CompletedRun | None:
    """Read the last complete run on a connection of its own (for the async dependency)."""
    provider: EngineProvider = request.app.state.engine_provider
    with provider.get().connect() as connection:
        return completed_run(request, connection)


def entity_tag(run: CompletedRun, roll_year: int, target: str) -> str:
    """Return the weak ETag of the response to `target` (path and query) under `run`.

    Weak, because the body bytes differ with gzip; the data is the same. The app version
    is part of it, so a new release that changes the response shape changes the tag.
    """
    finished_at = None if run.finished_at is None else run.finished_at.isoformat()
    parts = [run.id, finished_at, run.complete_runs, __version__, roll_year, target]
    digest = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]
    return f'W/"{digest}"'


def caching_headers(request: Request, run: CompletedRun | None) -> dict[str, str]:
    """Return Cache-Control, ETag and Last-Modified of a data response.

    Without a complete run the data may still be changing, so the response is not stored.
    """
    if run is None:
        return {"Cache-Control": NO_STORE}
    settings: Settings = request.app.state.settings
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    headers = {
        "Cache-Control": DATA_CACHE_CONTROL,
        "ETag": entity_tag(run, settings.roll_year, target),
    }
    if run.finished_at is not None:
        headers["Last-Modified"] = format_datetime(run.finished_at.astimezone(UTC), usegmt=True)
    return headers


def _opaque_tag(tag: str) -> str:
    return tag.strip().removeprefix("W/")


def is_not_modified(request_headers: Mapping[str, str], headers: Mapping[str, str]) -> bool:
    """Return True when the request's preconditions show that its copy is current.

    Follows RFC 9110, section 13.2.2: If-None-Match, with weak comparison, is evaluated
    when present and If-Modified-Since only without it. An invalid date is ignored.
    """
    etag = headers.get("ETag")
    if_none_match = request_headers.get("if-none-match")
    if if_none_match is not None:
        if etag is None:
            return False
        offered = [_opaque_tag(tag) for tag in if_none_match.split(",")]
        return "*" in offered or _opaque_tag(etag) in offered

    last_modified = headers.get("Last-Modified")
    if_modified_since = request_headers.get("if-modified-since")
    if last_modified is None or if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        return False
    return parsedate_to_datetime(last_modified) <= since


def check_conditional_request(request: Request, connection: Connection) -> None:
    """Store the caching headers of this data response; raise NotModifiedError if it is current."""
    _check_run(request, completed_run(request, connection))


def _check_run(request: Request, run: CompletedRun | None) -> None:
    headers = caching_headers(request, run)
    request.scope.setdefault("state", {})[CACHE_HEADERS_KEY] = headers
    if is_not_modified(request.headers, headers):
        raise NotModifiedError


async def conditional_get(request: Request) -> None:
    """Dependency of the JSON data routes: caching headers, and 304 when the copy is current.

    Runs on the event loop. Only a cached run that is too old costs a database read, in
    a worker thread.
    """
    cache: CompletedRunCache = request.app.state.completed_run_cache
    fresh, run = cache.current()
    if fresh:
        request.scope.setdefault("state", {})[COMPLETED_RUN_STATE_KEY] = run
    else:
        run = await run_in_threadpool(_read_completed_run, request)
    _check_run(request, run)


async def _not_modified(request: Request, error: Exception) -> Response:
    # CacheHeadersMiddleware adds ETag, Last-Modified and Cache-Control.
    return Response(status_code=304)


class CacheHeadersMiddleware:
    """Adds the caching headers that a data route stored, or `Cache-Control: no-store`.

    Successful (200) and 304 responses of data routes get their ETag, Last-Modified and
    Cache-Control. Every other response without a Cache-Control header gets no-store:
    /health, /ready, /metrics and /runs change at any time, and errors are not cached.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_cache_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                stored: dict[str, str] | None = state.get(CACHE_HEADERS_KEY)
                if stored is not None and message["status"] in (200, 304):
                    headers.update(stored)
                elif "cache-control" not in headers:
                    headers["Cache-Control"] = NO_STORE
            await send(message)

        await self.app(scope, receive, send_with_cache_headers)


def install_caching(app: FastAPI) -> None:
    """Return 304 for NotModifiedError and add the caching headers to every response."""
    app.add_exception_handler(NotModifiedError, _not_modified)
    app.add_middleware(CacheHeadersMiddleware)


CONDITIONAL_GET = Depends(conditional_get)
