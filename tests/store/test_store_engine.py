"""The engine's connection pool: pings only for connections that sat idle."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from durban_valuations.store import database
from durban_valuations.store.database import make_engine


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        pid: int = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    return pid


def _terminate(database_url: str, pid: int) -> None:
    other = make_engine(database_url)
    try:
        with other.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        other.dispose()


def test_idle_connection_that_was_closed_is_replaced(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "IDLE_PING_SECONDS", 0.0)
    engine = make_engine(database_url)
    try:
        first_pid = _backend_pid(engine)
        _terminate(database_url, first_pid)

        second_pid = _backend_pid(engine)
    finally:
        engine.dispose()

    assert second_pid != first_pid


def test_recently_used_connection_is_not_pinged(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The price of skipping the ping: a connection closed by the server within
    # IDLE_PING_SECONDS of its last use fails its next statement, and the pool drops it.
    monkeypatch.setattr(database, "IDLE_PING_SECONDS", 3600.0)
    engine = make_engine(database_url)
    try:
        first_pid = _backend_pid(engine)
        _terminate(database_url, first_pid)

        with pytest.raises(OperationalError):
            _backend_pid(engine)
        second_pid = _backend_pid(engine)
    finally:
        engine.dispose()

    assert second_pid != first_pid


def test_pool_keeps_the_requested_number_of_connections(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=3)
    try:
        assert engine.pool.size() == 3  # type: ignore[attr-defined]
        assert engine.pool._max_overflow == 3  # type: ignore[attr-defined]
    finally:
        engine.dispose()
