"""The API's database engine, created on first use so the app can start without one."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from fastapi import Request
from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from durban_valuations.config.settings import Settings
from durban_valuations.store.database import (
    make_engine,
    normalize_database_url,
    resolve_database_url,
)

Result = TypeVar("Result")


class EngineProvider:
    """Holds the engine given to `create_app`, or creates one from the settings on first use."""

    def __init__(self, engine_or_url: Engine | str | None, settings: Settings) -> None:
        self._settings = settings
        self._url = engine_or_url if isinstance(engine_or_url, str) else None
        self._engine = engine_or_url if isinstance(engine_or_url, Engine) else None
        self._owns_engine = self._engine is None
        self._lock = threading.Lock()

    def get(self) -> Engine:
        """Return the engine, creating it (and starting the embedded server) if needed."""
        with self._lock:
            if self._engine is None:
                url = (
                    normalize_database_url(self._url)
                    if self._url is not None
                    else resolve_database_url(self._settings)
                )
                self._engine = make_engine(url, pool_size=self._settings.api_database_pool_size)
            return self._engine

    def dispose(self) -> None:
        """Close the pooled connections of an engine this provider created."""
        with self._lock:
            if self._engine is not None and self._owns_engine:
                self._engine.dispose()
                self._engine = None


def get_connection(request: Request) -> Iterator[Connection]:
    """Yield a connection for one request; reads need no commit."""
    provider: EngineProvider = request.app.state.engine_provider
    with provider.get().connect() as connection:
        yield connection


async def with_connection(request: Request, work: Callable[[Connection], Result]) -> Result:
    """Run `work` on a pooled connection in a worker thread and return its result.

    The connection is taken, used and returned in one trip through the thread pool.
    Routes that await this, instead of depending on `get_connection`, keep the rest of
    the request on the event loop, and take no connection when they need none.
    """
    provider: EngineProvider = request.app.state.engine_provider

    def run() -> Result:
        with provider.get().connect() as connection:
            return work(connection)

    return await run_in_threadpool(run)
