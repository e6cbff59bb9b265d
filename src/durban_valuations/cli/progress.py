"""Progress of a crawl: a live bar on a terminal, one log line per hundred searches otherwise."""

from __future__ import annotations

import logging
import sys
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from durban_valuations.crawl.coverage import RollProgress
from durban_valuations.site.models import Roll

logger = logging.getLogger(__name__)

LOG_EVERY_SEARCHES = 100


class CrawlProgress:
    """Shows searches done and left, properties found and searches per second for each roll."""

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(stderr=True)
        self._live = self._console.is_terminal and sys.stderr.isatty()
        self._progress = Progress(
            TextColumn("[bold]{task.fields[roll]}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} searches"),
            TextColumn("{task.fields[properties]} properties"),
            TextColumn("{task.fields[rate]:.1f} searches/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self._console,
            disable=not self._live,
        )
        self._tasks: dict[Roll, TaskID] = {}

    def __enter__(self) -> CrawlProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def listener(self, roll: Roll) -> _RollListener:
        """Return the listener the crawl of `roll` reports to."""
        self._tasks[roll] = self._progress.add_task(
            "crawl", total=None, roll=roll.value, properties=0, rate=0.0
        )
        return _RollListener(self, roll)

    def update(self, roll: Roll, progress: RollProgress) -> None:
        """Redraw the bar of `roll`, or log a line every LOG_EVERY_SEARCHES searches."""
        self._progress.update(
            self._tasks[roll],
            completed=progress.searches,
            total=progress.searches + progress.pending,
            properties=progress.new_properties,
            rate=progress.searches_per_second,
        )
        if not self._live and progress.searches % LOG_EVERY_SEARCHES == 0:
            left = progress.seconds_left
            logger.info(
                "crawl progress: %s searches done, %s left, %s rows, %.1f searches/s, "
                "about %s left",
                progress.searches,
                progress.pending,
                progress.rows_seen,
                progress.searches_per_second,
                _duration(left),
                extra={"roll": roll.value},
            )


class _RollListener:
    def __init__(self, display: CrawlProgress, roll: Roll) -> None:
        self._display = display
        self._roll = roll

    def searches_changed(self, progress: RollProgress) -> None:
        self._display.update(self._roll, progress)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"
