"""The ASGI app of the production server: `gunicorn durban_valuations.api.server:app`.

Importing this module builds the app from the process settings (environment and
`.env`). It needs DATABASE_URL: every Gunicorn worker imports the module, and starting
an embedded PostgreSQL in each of them is never wanted. The database engine is
created on the first request of each worker, after Gunicorn forked it.
"""

from __future__ import annotations

import logging
import sys

from fastapi import FastAPI
from pydantic import ValidationError

from durban_valuations.api.app import create_app
from durban_valuations.config.log_setup import configure_logging, log_level_from_environment
from durban_valuations.config.settings import Settings, get_settings
from durban_valuations.store.database import DatabaseUrlError, normalize_database_url

logger = logging.getLogger(__name__)


class ServerConfigError(RuntimeError):
    """A setting the production server needs is missing or invalid."""


def load_server_settings() -> Settings:
    """Read the process settings, turning a validation error into one message per variable."""
    try:
        return get_settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{str(problem['loc'][0]).upper() if problem['loc'] else '?'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise ServerConfigError(
            f"invalid settings ({problems}); fix them in the environment or in .env"
        ) from None


def production_database_url(settings: Settings) -> str:
    """Return the SQLAlchemy URL of DATABASE_URL.

    Raises ServerConfigError when DATABASE_URL is unset or not a PostgreSQL URL.
    """
    if not settings.database_url:
        raise ServerConfigError(
            "DATABASE_URL is not set: the production server does not start the embedded "
            "PostgreSQL. Set DATABASE_URL=postgresql://user:password@host:5432/database "
            "(in the environment or .env), or run `durban-valuations serve` for a local "
            "server on the embedded database"
        )
    try:
        return normalize_database_url(settings.database_url)
    except DatabaseUrlError as error:
        raise ServerConfigError(str(error)) from None


def create_server_app(settings: Settings | None = None) -> FastAPI:
    """Create the API app on DATABASE_URL without connecting to it.

    Sets up logging on standard output (LOG_LEVEL, default INFO) when no handler is
    configured yet, as under `uvicorn durban_valuations.api.server:app`. Under
    Gunicorn, `logconfig_dict` has done that already.
    """
    settings = settings or load_server_settings()
    if not logging.getLogger().handlers:
        configure_logging(log_level_from_environment(), stream=sys.stdout, settings=settings)
    url = production_database_url(settings)
    app = create_app(url, settings=settings)
    logger.info("API app created", extra={"event": "app_created", "roll_year": settings.roll_year})
    return app


app = create_server_app()
