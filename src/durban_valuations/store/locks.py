"""A database lock that keeps two scrapes of one roll year from running at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

# Arbitrary constant that namespaces this project's advisory locks. The roll year is the
# second key, so scrapes of different roll years may run side by side.
_LOCK_NAMESPACE = 20_220_211
# Namespace of the lock that `lock_property_writes` takes. It differs from the scrape
# lock, which a scrape holds on another connection than the one that writes properties.
_WRITE_LOCK_NAMESPACE = 20_220_212


class ScrapeInProgressError(RuntimeError):
    """Another process holds the scrape lock of this roll year."""


@contextmanager
def scrape_lock(engine: Engine, roll_year: int) -> Iterator[None]:
    """Hold the scrape lock of `roll_year` for the `with` block, or raise ScrapeInProgressError.

    The lock is a PostgreSQL session advisory lock on a connection kept open for the
    block, so it is released when the block ends and also when the process is killed,
    because the server ends the session with the connection.
    """
    with _advisory_lock(
        engine,
        roll_year,
        shared=False,
        busy_message=f"another scrape of the {roll_year} roll is running; "
        "wait for it to finish or stop it first",
    ):
        yield


@contextmanager
def shared_scrape_lock(engine: Engine, roll_year: int) -> Iterator[None]:
    """Hold the scrape lock of `roll_year` in shared mode, or raise ScrapeInProgressError.

    The parts of a distributed run share the lock with each other, while `scrape_lock`
    (a whole scrape in one process, or the start of a distributed one) needs it alone.
    """
    with _advisory_lock(
        engine,
        roll_year,
        shared=True,
        busy_message=f"another scrape of the {roll_year} roll is running alone; "
        "this part retries after it finishes",
    ):
        yield


@contextmanager
def _advisory_lock(
    engine: Engine, roll_year: int, *, shared: bool, busy_message: str
) -> Iterator[None]:
    suffix = "_shared" if shared else ""
    keys = {"namespace": _LOCK_NAMESPACE, "year": roll_year}
    with engine.connect() as connection:
        acquired = connection.execute(
            text(f"SELECT pg_try_advisory_lock{suffix}(:namespace, :year)"), keys
        ).scalar_one()
        connection.commit()
        if not acquired:
            raise ScrapeInProgressError(busy_message)
        try:
            yield
        finally:
            connection.execute(text(f"SELECT pg_advisory_unlock{suffix}(:namespace, :year)"), keys)
            connection.commit()


def lock_property_writes(connection: Connection, roll_year: int) -> None:
    """Take the property write lock of `roll_year` until the caller's transaction ends.

    The call waits while another transaction holds the lock. Writers of one roll year's
    properties and sightings take it in turn, so a pin or sighting that one of them
    found missing cannot be inserted by another before it inserts it. This is true in
    READ COMMITTED transactions (PostgreSQL's default), whose statements see what the
    previous lock holder committed.
    """
    connection.execute(
        text("SELECT pg_advisory_xact_lock(:namespace, :year)"),
        {"namespace": _WRITE_LOCK_NAMESPACE, "year": roll_year},
    )
