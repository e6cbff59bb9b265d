"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy import Engine

from durban_valuations import __version__
from durban_valuations.api.database import EngineProvider
from durban_valuations.api.errors import install_error_handler
from durban_valuations.api.export_routes import router as export_router
from durban_valuations.api.history_routes import router as history_router
from durban_valuations.api.paging import reject_nul_characters
from durban_valuations.api.routes import router
from durban_valuations.api.stats_cache import RunCache
from durban_valuations.api.stats_routes import router as stats_router
from durban_valuations.api.stats_schemas import Statistics
from durban_valuations.config.settings import Settings, get_settings

DESCRIPTION = """\
Read API over eThekwini Municipality's (Durban) General Valuation Roll.

Every error response has the body
`{"error": {"status": 422, "message": "...", "parameter": "min_market_value"}}`,
where `parameter` names the request parameter at fault, or is null.
Market values are whole rands (integers); registered extents are square metres (numbers).
"""


def create_app(
    engine_or_url: Engine | str | None = None, settings: Settings | None = None
) -> FastAPI:
    """Create the API app.

    `engine_or_url` is an engine, which the caller keeps and disposes, or a PostgreSQL URL.
    Without one, the app resolves the database from `settings` (DATABASE_URL, or the
    embedded server) on the first request that needs it, not at creation.
    """
    settings = settings or get_settings()
    provider = EngineProvider(engine_or_url, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        provider.dispose()

    app = FastAPI(
        title="durban-valuations",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(reject_nul_characters)],
    )
    app.state.settings = settings
    app.state.engine_provider = provider
    app.state.statistics_cache = RunCache[Statistics]()
    install_error_handler(app)
    app.include_router(router)
    app.include_router(export_router)
    app.include_router(history_router)
    app.include_router(stats_router)
    # Imported here, not at the top: Gunicorn's master imports this package (for the
    # worker class) before it sets PROMETHEUS_MULTIPROC_DIR, and prometheus-client
    # chooses between in-process and multiprocess values when it is first imported.
    from durban_valuations.api.ops_routes import install_operations

    install_operations(app, settings, provider)
    return app
