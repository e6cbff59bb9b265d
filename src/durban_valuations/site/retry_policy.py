"""Retry decisions and backoff delays of the site client."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from durban_valuations.site.errors import SiteError


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter, in seconds.

    The n-th retry waits `min(maximum, initial * 2 ** (n - 1))` plus a random share of
    `jitter`. A Retry-After header replaces that delay, capped at `retry_after_cap`.
    """

    initial: float = 2.0
    maximum: float = 120.0
    jitter: float = 2.0
    retry_after_cap: float = 300.0

    def delay(
        self,
        retry_number: int,
        retry_after: float | None = None,
        uniform: Callable[[], float] = random.random,
    ) -> float:
        """Return the seconds to wait before retry `retry_number` (1 for the first retry)."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap)
        exponential = min(self.maximum, self.initial * 2.0 ** (retry_number - 1))
        return exponential + self.jitter * uniform()


class RetryableAttemptError(Exception):
    """A failed attempt that may be retried, wrapping the typed error raised when retries end."""

    def __init__(self, error: SiteError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Return the Retry-After header in seconds, or None when absent or invalid.

    The header is either a number of seconds or an HTTP-date (RFC 9110, section 10.2.3).
    A date is converted to the seconds from `now` (the current UTC time by default), and a
    date in the past gives 0. `Backoff.delay` caps both forms at `retry_after_cap`.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until_http_date(text, now)
    return seconds if seconds >= 0 and math.isfinite(seconds) else None


def _seconds_until_http_date(text: str, now: datetime | None) -> float | None:
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    # A date with the zone "-0000" parses as naive, and HTTP dates are always in GMT.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    return max(0.0, (moment - reference).total_seconds())


def is_permanent_server_error(message: str) -> bool:
    """Return True for ASP.NET errors that a retry cannot fix.

    ASP.NET rejects a query value that looks like markup (`<` followed by a letter, or `&#`)
    with HTTP 500 "A potentially dangerous Request.QueryString value was detected", and it
    does so on every attempt.
    """
    return "potentially dangerous" in message
