"""A rate limiter that spaces the starts of requests shared by all concurrent callers."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable

# After blocks the rate never drops below this share of the configured rate.
MIN_RATE_SHARE = 1 / 16
# Each success after a slow-down adds this share of the configured rate back, so a
# halved rate is fully restored after 10 successes.
RECOVERY_STEP = 0.05


class RateLimiter:
    """Minimum interval of `1 / current_rate` seconds between consecutive request starts.

    Each caller reserves the next free start time, one interval after the last reserved
    start, and sleeps until it, so concurrent callers
    queue up in the order they call `wait`. Reserving takes no `await`, so no lock is needed
    within one event loop.

    The current rate follows additive increase, multiplicative decrease: `slow_down` halves
    it (down to `MIN_RATE_SHARE` of the configured rate) and `speed_up` adds
    `RECOVERY_STEP` of the configured rate (up to the configured rate). `pause` holds every
    caller, including those already sleeping, until the pause ends.
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
        self.rate = rate
        self.current_rate = rate
        self._clock = clock
        self._sleep = sleep
        self._last_start: float | None = None
        self._paused_until = -math.inf

    @property
    def interval(self) -> float:
        """Seconds between consecutive request starts at the current rate."""
        return 1.0 / self.current_rate

    @property
    def paused_until(self) -> float:
        """Clock time at which the latest pause ends; in the past when no pause is on."""
        return self._paused_until

    def is_paused(self) -> bool:
        """Return True while a pause is on."""
        return self._clock() < self._paused_until

    def pause(self, seconds: float) -> None:
        """Hold every caller for `seconds` from now; a longer pause already on is kept."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def slow_down(self) -> None:
        """Halve the current rate, down to `MIN_RATE_SHARE` of the configured rate."""
        self.current_rate = max(self.current_rate / 2, self.rate * MIN_RATE_SHARE)

    def speed_up(self) -> None:
        """Add `RECOVERY_STEP` of the configured rate, up to the configured rate."""
        self.current_rate = min(self.rate, self.current_rate + self.rate * RECOVERY_STEP)

    async def wait(self) -> None:
        """Sleep until this caller's reserved start time, and past any pause."""
        while True:
            now = self._clock()
            start = max(now, self._paused_until)
            # The interval is read now, so a slow-down also spaces the next start.
            if self._last_start is not None:
                start = max(start, self._last_start + self.interval)
            self._last_start = start
            if start > now:
                await self._sleep(start - now)
            # A pause that began while this caller slept voids its slot, so it queues again.
            if not self.is_paused():
                return
