"""The last complete run as an API process last read it, read again once it is older than a limit.

Every data response is dated by the roll year's last complete run (its ETag and
Last-Modified), and the statistics and response caches are keyed on it. Reading the run
costs one statement. At hundreds of requests a second, reading it once a second instead
of once a request saves a round trip to PostgreSQL on nearly every request. The price is
a bounded delay: a run that completes shows in responses after API_RUN_CACHE_SECONDS at
most.

`keep_fresh` reads the run again in the background, twice per API_RUN_CACHE_SECONDS, so
requests find a young reading and none waits for the read. Without it, all requests that
arrive while one reading is replaced would read the run too.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from durban_valuations.store import stats
from durban_valuations.store.stats import CompletedRun

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
# Key in the ASGI scope's "state" dict (request.state) for the run of the current request.
COMPLETED_RUN_STATE_KEY = "completed_run"


class CompletedRunCache:
    """Holds the last complete run of one roll year with the time it was read.

    Safe to share between the threads of one process. With `max_age` 0, `current`
    never has a value, so every request reads the run.
    """

    def __init__(self, roll_year: int, max_age: float, clock: Clock = time.monotonic) -> None:
        if max_age < 0:
            raise ValueError(f"invalid max_age {max_age}: expected 0 seconds or more")
        self._roll_year = roll_year
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._run: CompletedRun | None = None
        self._read_at: float | None = None

    def current(self) -> tuple[bool, CompletedRun | None]:
        """Return (True, run) while the stored run is younger than `max_age`, else (False, None)."""
        with self._lock:
            if self._read_at is None or self._clock() - self._read_at >= self._max_age:
                return False, None
            return True, self._run

    @property
    def max_age(self) -> float:
        return self._max_age

    def has_reading(self) -> bool:
        """Return True once a run has been read, whatever its age."""
        with self._lock:
            return self._read_at is not None

    def read(self, connection: Connection) -> CompletedRun | None:
        """Read the last complete run on `connection`, store it and return it."""
        read_at = self._clock()
        run = stats.last_completed_run(connection, self._roll_year)
        with self._lock:
            # A slower reader that started earlier must not replace a newer reading.
            if self._read_at is None or read_at >= self._read_at:
                self._run, self._read_at = run, read_at
        return run


async def keep_fresh(cache: CompletedRunCache, engine: Callable[[], Engine]) -> None:
    """Read the run again every `cache.max_age / 2` seconds, until cancelled.

    It starts reading only after a request has read the run, so an API that serves no
    data request opens no database connection. A failed read is logged once, until a
    read succeeds again. Meanwhile the reading ages, so requests read the run
    themselves and report the error to the client.
    """
    interval = max(cache.max_age / 2, 0.05)
    failing = False
    while True:
        await asyncio.sleep(interval)
        if not cache.has_reading():
            continue
        try:
            await run_in_threadpool(_read_with, cache, engine)
        except Exception as error:
            if not failing:
                logger.warning(
                    "could not read the last complete run in the background: %s; requests "
                    "read it themselves until this succeeds",
                    error,
                )
            failing = True
        else:
            if failing:
                logger.info("reading the last complete run in the background works again")
            failing = False


def _read_with(cache: CompletedRunCache, engine: Callable[[], Engine]) -> None:
    with engine().connect() as connection:
        cache.read(connection)
