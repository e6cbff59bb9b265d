"""The embedded PostgreSQL default when DATABASE_URL is unset."""

from __future__ import annotations

from pathlib import Path

from pgserver.postgres_server import get_server
from sqlalchemy import text

from durban_valuations.config.settings import Settings
from durban_valuations.store.database import make_engine, resolve_database_url


def test_resolve_starts_embedded_server(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, database_url=None, data_dir=tmp_path / "var")
    pgdata = (tmp_path / "var" / "postgres").resolve()
    try:
        url = resolve_database_url(settings)

        assert url.startswith("postgresql+psycopg://")
        assert (pgdata / "PG_VERSION").exists()
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                assert connection.execute(text("SELECT 1")).scalar_one() == 1
        finally:
            engine.dispose()
        assert resolve_database_url(settings) == url
    finally:
        # The app leaves the server running on purpose; this test stops its own copy.
        server = get_server(pgdata)
        server.cleanup_mode = "stop"
        server.cleanup()
