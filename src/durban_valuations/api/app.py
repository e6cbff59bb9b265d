"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from sqlalchemy import Engine
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from durban_valuations import __version__
from durban_valuations.api.caching import install_caching
from durban_valuations.api.compat_routes import router as compat_router
from durban_valuations.api.database import EngineProvider
from durban_valuations.api.errors import add_error_schema, install_error_handler
from durban_valuations.api.export_formats import ExportFormat
from durban_valuations.api.export_routes import router as export_router
from durban_valuations.api.history_routes import router as history_router
from durban_valuations.api.paging import reject_nul_characters
from durban_valuations.api.per_run_cache import RunCache
from durban_valuations.api.response_cache import ResponseCacheMiddleware, response_cache
from durban_valuations.api.routes import health_router, router
from durban_valuations.api.run_cache import CompletedRunCache, keep_fresh
from durban_valuations.api.stats_routes import router as stats_router
from durban_valuations.api.stats_schemas import Statistics
from durban_valuations.config.settings import Settings, get_settings

DESCRIPTION = """\
Read API over eThekwini Municipality's (Durban) General Valuation Roll.

The routes live under `/v1`. The same routes without the prefix (such as `/properties`)
still work and respond the same way, but are left out of this document. `/health`,
`/ready` and `/metrics` have no prefix.

Every error response is an RFC 9457 problem details object with the media type
`application/problem+json`, for example
`{"type": "about:blank", "title": "Unprocessable Entity", "status": 422,
"detail": "invalid min_market_value 'cheap': ...", "instance": "/v1/properties",
"parameter": "min_market_value"}`, where `parameter` names the request parameter at
fault, or is null.

Data responses carry a weak ETag and a Last-Modified date that change when a scrape run
completes, and `Cache-Control: public, max-age=300`. A request with If-None-Match or
If-Modified-Since gets 304 Not Modified while its copy is current. Responses of at
least 1,000 bytes are gzip-compressed for clients that accept it, except Parquet files.

Market values are whole rands (integers); registered extents are square metres (numbers).
"""

API_PREFIX = "/v1"
# Smaller bodies gain little from gzip. Level 6 (zlib's default) compresses a CSV export
# about as well as the maximum level 9 at a fraction of the CPU time.
GZIP_MINIMUM_SIZE = 1000
GZIP_LEVEL = 6
# Parquet pages are compressed already.
GZIP_EXCLUDED_TYPES = (*DEFAULT_EXCLUDED_CONTENT_TYPES, ExportFormat.PARQUET.value.media_type)
DATA_ROUTERS = (router, export_router, history_router, stats_router)


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

    run_cache = CompletedRunCache(settings.roll_year, settings.api_run_cache_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        refresher = None
        if run_cache.max_age > 0:
            refresher = asyncio.create_task(keep_fresh(run_cache, provider.get))
        try:
            yield
        finally:
            if refresher is not None:
                refresher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await refresher
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
    app.state.completed_run_cache = run_cache
    install_error_handler(app)
    install_openapi(app)
    # The /v1 routes are the documented ones. The unversioned copies serve the clients
    # written before the prefix existed; one path per operation keeps operation ids unique.
    for data_router in DATA_ROUTERS:
        app.include_router(data_router, prefix=API_PREFIX)
    for data_router in DATA_ROUTERS:
        app.include_router(data_router, include_in_schema=False)
    app.include_router(health_router)
    app.include_router(compat_router)
    # Added before the request middleware of install_operations, so they run inside it.
    install_caching(app)
    app.add_middleware(
        GZipMiddleware,
        minimum_size=GZIP_MINIMUM_SIZE,
        compresslevel=GZIP_LEVEL,
        exclude_content_types=GZIP_EXCLUDED_TYPES,
    )
    if settings.api_response_cache_mb > 0:
        # Outside gzip: a stored response is the compressed or the plain one.
        app.add_middleware(
            ResponseCacheMiddleware,
            cache=response_cache(int(settings.api_response_cache_mb * 1024 * 1024)),
            runs=app.state.completed_run_cache,
        )
    # Imported here, not at the top: Gunicorn's master imports this package (for the
    # worker class) before it sets PROMETHEUS_MULTIPROC_DIR, and prometheus-client
    # chooses between in-process and multiprocess values when it is first imported.
    from durban_valuations.api.ops_routes import install_operations

    install_operations(app, settings, provider)
    return app


def install_openapi(app: FastAPI) -> None:
    """Make the app's OpenAPI document include the Error schema of problem responses."""
    build_document = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            add_error_schema(build_document())
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
