"""Live counters of a roll's crawl for progress displays; the saved report is in the database."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from durban_valuations.site.models import Roll


@dataclass(slots=True)
class RollProgress:
    """Counters of this process's crawl of one roll so far."""

    roll: Roll
    searches: int = 0
    splits: int = 0
    failed: int = 0
    parse_failures: int = 0
    rows_seen: int = 0
    new_properties: int = 0
    pending: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def searches_per_second(self) -> float:
        """Searches finished per second since the crawl of this roll started."""
        return self.searches / max(time.monotonic() - self.started, 1e-6)

    @property
    def seconds_left(self) -> float | None:
        """Estimate of the time left at the current rate; splits can add searches later."""
        rate = self.searches_per_second
        return None if rate <= 0 else self.pending / rate
