"""A rate limiter that spaces the starts of requests shared by all concurrent callers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class RateLimiter:
    """Minimum interval of `1 / rate` seconds between consecutive request starts.

    Each caller reserves the next free start time and sleeps until it, so concurrent callers
    queue up in the order they call `wait`. Reserving takes no `await`, so no lock is needed
    within one event loop.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be a positive number of requests per second, got {rate}")
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next_start: float | None = None

    async def wait(self) -> None:
        """Sleep until this caller's reserved start time."""
        now = self._clock()
        start = now if self._next_start is None else max(now, self._next_start)
        self._next_start = start + self.interval
        if start > now:
            await self._sleep(start - now)
