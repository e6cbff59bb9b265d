"""Database URL resolution and engine creation, with an embedded PostgreSQL as the default."""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from durban_valuations.config.settings import Settings

with warnings.catch_warnings():
    # pgserver requests a runtime folder from platformdirs when it is imported. Without
    # XDG_RUNTIME_DIR (containers, CI) platformdirs warns and falls back to /tmp, which is fine.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", category=UserWarning)
    from pgserver.postgres_server import get_server

logger = logging.getLogger(__name__)

SQLALCHEMY_SCHEME = "postgresql+psycopg"
_ACCEPTED_SCHEMES = ("postgresql", "postgres", SQLALCHEMY_SCHEME)


class DatabaseUrlError(ValueError):
    """DATABASE_URL is set to a URL this project cannot use."""


def normalize_database_url(url: str) -> str:
    """Rewrite a `postgresql://` or `postgres://` URL to the SQLAlchemy psycopg 3 form.

    Raises DatabaseUrlError for any other scheme; the message shows only the scheme,
    never the rest of the URL, because the URL can contain a password.
    """
    scheme, separator, rest = url.partition("://")
    if not separator or scheme not in _ACCEPTED_SCHEMES:
        scheme_text = scheme if separator else "(no scheme)"
        raise DatabaseUrlError(
            f"DATABASE_URL has the unsupported scheme {scheme_text!r}; set it to a PostgreSQL URL "
            "such as postgresql://user:password@localhost:5432/durban_valuations, "
            "or unset it to use the embedded PostgreSQL in DATA_DIR"
        )
    return f"{SQLALCHEMY_SCHEME}://{rest}"


def start_embedded_server(settings: Settings) -> str:
    """Start (or reuse) the embedded PostgreSQL 16 in `DATA_DIR/postgres` and return its URI.

    Processes that use the same folder at the same time (a scrape beside the API) share
    one server, and pgserver stops it when the last of them exits (`cleanup_mode="stop"`).
    It listens on a unix socket only.
    """
    data_dir = settings.data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "postgres"
    logger.info("starting embedded PostgreSQL in %s", pgdata)
    server = get_server(pgdata, cleanup_mode="stop")
    uri: str = server.get_uri()
    return uri


def resolve_database_url(settings: Settings) -> str:
    """Return the SQLAlchemy URL of DATABASE_URL, or of the embedded server when it is unset."""
    if settings.database_url:
        return normalize_database_url(settings.database_url)
    return normalize_database_url(start_embedded_server(settings))


# A pooled connection unused for longer than this is checked with a ping before it is
# handed out. A busy API reuses its connections within milliseconds, so it pays for no
# pings. A connection that sat idle through a database restart or failover is replaced.
IDLE_PING_SECONDS = 10.0
_CHECKED_IN_AT = "durban_valuations_checked_in_at"


def make_engine(url: str, pool_size: int = 5) -> Engine:
    """Create an engine that checks a pooled connection before reuse after IDLE_PING_SECONDS.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: one more round trip on every
    API request. A connection that fails the ping is discarded and replaced, as with
    `pool_pre_ping`. The pool keeps `pool_size` connections open and opens up to as
    many more while they are all in use, closing those again when they are returned.
    """
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size)
    event.listen(engine.pool, "checkin", _note_checkin)
    event.listen(engine.pool, "checkout", _ping_if_idle)
    return engine


def _note_checkin(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info[_CHECKED_IN_AT] = time.monotonic()


def _ping_if_idle(
    dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
) -> None:
    checked_in_at = record.info.get(_CHECKED_IN_AT)
    if checked_in_at is None or time.monotonic() - checked_in_at < IDLE_PING_SECONDS:
        return
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_connection.rollback()
    except Exception as error:
        # The pool discards this connection and hands out another one (SQLAlchemy's
        # documented pattern for pessimistic disconnect handling).
        raise DisconnectionError(f"pooled connection failed its ping: {error}") from error
