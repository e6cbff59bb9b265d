"""Routes for operators: GET /ready for load balancers and GET /metrics for Prometheus.

Both are left out of the OpenAPI document, which describes the data API;
docs/operations.md describes them.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel, Field

from durban_valuations.api.database import EngineProvider
from durban_valuations.api.metrics import (
    RollCollector,
    cache_seconds_from_environment,
    render_metrics,
)
from durban_valuations.api.middleware import RequestObservationMiddleware
from durban_valuations.config.settings import Settings
from durban_valuations.store import queries
from durban_valuations.store.migrations import head_revision

router = APIRouter()


class Readiness(BaseModel):
    """Body of GET /ready when the service can serve requests."""

    status: str = Field(description="'ready'.")
    database: str = Field(description="'ok': the database responds.")
    revision: str = Field(description="Alembic revision of the database, the newest one known.")


@router.get("/ready", response_model=Readiness, include_in_schema=False)
def ready(request: Request) -> Readiness:
    """Return 200 when the database responds and its schema is at the newest migration.

    Otherwise the error handler returns 503 with the reason: the database is
    unreachable, DATABASE_URL is invalid, or the schema is at another revision.
    """
    provider: EngineProvider = request.app.state.engine_provider
    with provider.get().connect() as connection:
        queries.check_health(connection)
    return Readiness(status="ready", database="ok", revision=head_revision())


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Return every metric in the Prometheus text format."""
    collector: RollCollector = request.app.state.roll_collector
    body, content_type = render_metrics(collector)
    return Response(content=body, media_type=content_type)


def install_operations(app: FastAPI, settings: Settings, provider: EngineProvider) -> None:
    """Add /ready, /metrics and the request middleware (id, access log, metrics) to `app`.

    Raises ValueError when METRICS_CACHE_SECONDS is invalid.
    """
    app.state.roll_collector = RollCollector(
        provider.get, settings.roll_year, cache_seconds_from_environment()
    )
    app.add_middleware(RequestObservationMiddleware)
    app.include_router(router)
