"""The crawl of one roll: a pool of workers takes searches, splits warned ones, keeps rows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from durban_valuations.clean import clean_row
from durban_valuations.clean.models import CleanProperty
from durban_valuations.crawl.coverage import FailedSearch, RollCoverage
from durban_valuations.crawl.planner import (
    Dimension,
    UnsplittableSearchError,
    initial_searches,
    split_search,
)
from durban_valuations.site.errors import SiteError
from durban_valuations.site.models import CriteriaOptions, ResultPage, SearchQuery

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000

RowSink = Callable[[list[CleanProperty]], Awaitable[None]]


class SearchClient(Protocol):
    """The part of the site client the crawl uses."""

    async def search(self, query: SearchQuery) -> ResultPage: ...


class ProgressListener(Protocol):
    """Receives a call after every search, for progress displays."""

    def searches_changed(self, coverage: RollCoverage, pending: int) -> None: ...


@dataclass(slots=True)
class _Task:
    query: SearchQuery
    dimension: Dimension


async def crawl_roll(
    client: SearchClient,
    options: CriteriaOptions,
    sink: RowSink,
    *,
    dimensions: list[Dimension],
    concurrency: int,
    suburb_values: list[str] | None = None,
    progress: ProgressListener | None = None,
) -> RollCoverage:
    """Run every search that covers `options.roll` and pass each new property to `sink` once.

    A search that still fails after the client's retries is recorded in the coverage report
    and never counted as an empty result.
    """
    coverage = RollCoverage(roll=options.roll, dimensions=list(dimensions))
    for dimension in dimensions:
        coverage.pins_by_dimension[dimension] = set()
    volumes = [option.value for option in options.volumes]
    queue: asyncio.Queue[_Task] = asyncio.Queue()
    for dimension in dimensions:
        for query in initial_searches(options, dimension, suburb_values):
            queue.put_nowait(_Task(query, dimension))

    found: set[int] = set()
    batch: list[CleanProperty] = []
    flush_lock = asyncio.Lock()

    async def flush(force: bool) -> None:
        if not batch or (len(batch) < BATCH_SIZE and not force):
            return
        async with flush_lock:
            pending_rows = batch.copy()
            batch.clear()
            await sink(pending_rows)

    async def run_one(task: _Task) -> None:
        coverage.searches += 1
        try:
            page = await client.search(task.query)
        except SiteError as error:
            _record_failure(coverage, task, error)
            return

        if page.has_warning:
            try:
                children = split_search(task.query, volumes)
            except UnsplittableSearchError as error:
                _record_failure(coverage, task, error)
                return
            coverage.splits += 1
            for child in children:
                queue.put_nowait(_Task(child, task.dimension))
            return

        # Clean the whole page before keeping any of it, so a cell the cleaning rejects
        # fails this search (and the run's completeness) instead of dropping one row.
        try:
            cleaned = [clean_row(options.roll, row) for row in page.rows if row.pin not in found]
        except ValueError as error:
            _record_failure(coverage, task, error)
            return

        coverage.rows_seen += len(page.rows)
        coverage.pins_by_dimension[task.dimension].update(row.pin for row in page.rows)
        for item in cleaned:
            if item.pin in found:
                continue
            found.add(item.pin)
            coverage.new_properties += 1
            batch.append(item)
        await flush(force=False)

    # An error outside the site (the database, a bug) stops the crawl: the remaining
    # searches are drained unrun and the error is raised after the workers stop.
    fatal: list[Exception] = []

    async def worker() -> None:
        while True:
            task = await queue.get()
            try:
                if not fatal:
                    await run_one(task)
            except Exception as error:
                fatal.append(error)
            finally:
                queue.task_done()
                if progress is not None:
                    progress.searches_changed(coverage, queue.qsize())

    workers = [asyncio.create_task(worker()) for _ in range(max(1, concurrency))]
    try:
        await queue.join()
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    if fatal:
        raise fatal[0]
    await flush(force=True)
    return coverage


def _record_failure(coverage: RollCoverage, task: _Task, error: Exception) -> None:
    logger.error(
        "search failed",
        extra={
            "search": task.query.describe(),
            "dimension": task.dimension.value,
            "error": str(error),
        },
    )
    coverage.failed.append(
        FailedSearch(search=task.query.describe(), dimension=task.dimension.value, error=str(error))
    )
