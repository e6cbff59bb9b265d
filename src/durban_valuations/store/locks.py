"""A database lock that keeps two scrapes of one roll year from running at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

# Arbitrary constant that namespaces this project's advisory locks. The roll year is the
# second key, so scrapes of different roll years may run side by side.
_LOCK_NAMESPACE = 20_220_211


class ScrapeInProgressError(RuntimeError):
    """Another process holds the scrape lock of this roll year."""


@contextmanager
def scrape_lock(engine: Engine, roll_year: int) -> Iterator[None]:
    """Hold the scrape lock of `roll_year` for the `with` block, or raise ScrapeInProgressError.

    The lock is a PostgreSQL session advisory lock on a connection kept open for the
    block, so it is released when the block ends and also when the process is killed,
    because the server ends the session with the connection.
    """
    with engine.connect() as connection:
        acquired = connection.execute(
            text("SELECT pg_try_advisory_lock(:namespace, :year)"),
            {"namespace": _LOCK_NAMESPACE, "year": roll_year},
        ).scalar_one()
        connection.commit()
        if not acquired:
            raise ScrapeInProgressError(
                f"another scrape of the {roll_year} roll is running; "
                "wait for it to finish or stop it first"
            )
        try:
            yield
        finally:
            connection.execute(
                text("SELECT pg_advisory_unlock(:namespace, :year)"),
                {"namespace": _LOCK_NAMESPACE, "year": roll_year},
            )
            connection.commit()
