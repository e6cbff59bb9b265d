"""The crawl of one roll: workers take pending searches, split warned ones, save outcomes.

Outcomes are handed to a sink in batches. The sink saves each batch in one transaction
(rows, sightings and search statuses together). A killed crawl therefore loses nothing,
and a resumed one repeats at most the searches of one unsaved batch.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from durban_valuations.clean import clean_row
from durban_valuations.crawl.coverage import RollProgress
from durban_valuations.crawl.planner import (
    Dimension,
    UnsplittableSearchError,
    query_from_key,
    search_key,
    split_search,
)
from durban_valuations.site.errors import (
    DeadlineReachedError,
    LayoutChangedError,
    PageTooLargeError,
    RequestTimeoutError,
    SiteError,
)
from durban_valuations.site.models import CriteriaOptions, ResultPage, SearchQuery
from durban_valuations.store.crawl_state import Outcomes, SearchRecord

logger = logging.getLogger(__name__)

# Bits of run_sightings.dimensions; stored in the database, so never renumber them.
DIMENSION_BITS = {Dimension.SUBURB: 1, Dimension.VOLUME: 2, Dimension.RATE_NUMBER: 4}
FLUSH_ROWS = 2000
FLUSH_SEARCHES = 100
# Overlapping searches (rate-number substrings) see each property several times, so
# sightings pile up faster than new properties.
FLUSH_SIGHTINGS = 50_000

OutcomeSink = Callable[[Outcomes], Awaitable[None]]


class SplitPolicy(enum.StrEnum):
    """When a search that shows the 1,000-row warning is replaced by narrower searches.

    `always` splits every warned search. `evidence` keeps a warned search whose row
    count is below the largest count any search of the run returned: a hard cap would
    cut every capped search to the same count, so a smaller count cannot be a capped one.
    Searches at the largest count are split in both policies.
    """

    ALWAYS = "always"
    EVIDENCE = "evidence"


class SearchClient(Protocol):
    """The part of the site client the crawl uses."""

    async def search(self, query: SearchQuery) -> ResultPage: ...


class ProgressListener(Protocol):
    """Receives the counters after every finished search."""

    def searches_changed(self, progress: RollProgress) -> None: ...


@dataclass(slots=True)
class _Crawl:
    client: SearchClient
    options: CriteriaOptions
    sink: OutcomeSink
    policy: SplitPolicy
    largest: int
    known: set[SearchRecord]
    progress: RollProgress
    listener: ProgressListener | None
    queue: asyncio.Queue[SearchRecord] = field(default_factory=asyncio.Queue)
    outcomes: Outcomes = field(default_factory=Outcomes)
    deferred: list[tuple[SearchRecord, ResultPage]] = field(default_factory=list)
    # PIN -> bits of the dimensions whose sightings of it are already in a batch. Overlapping
    # searches return a property many times; each is cleaned and sighted once per dimension.
    found: dict[int, int] = field(default_factory=dict)
    flush_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    stopped: bool = False
    fatal: list[Exception] = field(default_factory=list)

    @property
    def volumes(self) -> list[str]:
        return [option.value for option in self.options.volumes]

    async def run_one(self, task: SearchRecord) -> None:
        query = query_from_key(self.options.roll, task.key)
        try:
            page = await self.client.search(query)
        except DeadlineReachedError:
            # The search stays pending in the database for the next run to resume.
            if not self.stopped:
                logger.warning(
                    "deadline reached or stop requested: the remaining searches stay "
                    "pending for the next run",
                    extra={"roll": self.options.roll.value},
                )
            self.stopped = True
            return
        except (RequestTimeoutError, PageTooLargeError) as error:
            # The site times out on broad searches, so a search that kept timing out
            # through every retry is narrowed instead of failing, when it can be. The
            # same goes for a search whose page is too large to read.
            self.progress.searches += 1
            self.split(task, query, None, cause=error)
            return
        except SiteError as error:
            self.fail(task, error)
            return

        self.progress.searches += 1
        count = len(page.rows)
        if page.has_warning and self.policy is SplitPolicy.EVIDENCE:
            if count > self.largest:
                self.largest = count
                self.accept_deferred_below_largest()
            if count >= self.largest:
                self.deferred.append((task, page))
                return
        elif page.has_warning:
            self.largest = max(self.largest, count)
            self.split(task, query, count)
            return
        else:
            self.largest = max(self.largest, count)
        self.accept(task, page)

    def accept_deferred_below_largest(self) -> None:
        keep = []
        for task, page in self.deferred:
            if len(page.rows) < self.largest:
                self.accept(task, page)
            else:
                keep.append((task, page))
        self.deferred = keep

    def split(
        self,
        task: SearchRecord,
        query: SearchQuery,
        count: int | None,
        cause: Exception | None = None,
    ) -> None:
        try:
            children = split_search(query, self.volumes)
        except UnsplittableSearchError as error:
            self.fail(task, cause or error)
            return
        records = [SearchRecord(task.roll, task.dimension, search_key(child)) for child in children]
        new_records = [record for record in records if record not in self.known]
        self.known.update(new_records)
        self.outcomes.split.append((task, count, new_records))
        self.progress.splits += 1
        for record in new_records:
            self.queue.put_nowait(record)

    def accept(self, task: SearchRecord, page: ResultPage) -> None:
        # Clean the whole page before keeping any of it, so a cell the cleaning rejects
        # fails this search (and the run's completeness) instead of dropping one row.
        try:
            cleaned = [
                clean_row(self.options.roll, row) for row in page.rows if row.pin not in self.found
            ]
        except ValueError as error:
            self.fail(task, error)
            return

        bit = DIMENSION_BITS[Dimension(task.dimension)]
        found = self.found
        sighted = [row.pin for row in page.rows if not found.get(row.pin, 0) & bit]
        self.outcomes.sightings.setdefault(bit, []).extend(sighted)
        for item in cleaned:
            if item.pin not in found:
                found[item.pin] = 0
                self.outcomes.properties.append(item)
                self.progress.new_properties += 1
        for pin in sighted:
            found[pin] |= bit
        self.outcomes.done.append((task, len(page.rows)))
        self.progress.rows_seen += len(page.rows)

    def fail(self, task: SearchRecord, error: Exception) -> None:
        logger.error(
            "search failed",
            extra={"search": task.key, "dimension": task.dimension, "error": str(error)},
        )
        self.progress.failed += 1
        if isinstance(error, LayoutChangedError | ValueError):
            self.progress.parse_failures += 1
        self.outcomes.failed.append((task, str(error)))

    async def flush(self, force: bool) -> None:
        sightings = sum(map(len, self.outcomes.sightings.values()))
        big_enough = (
            len(self.outcomes.properties) >= FLUSH_ROWS
            or len(self.outcomes) >= FLUSH_SEARCHES
            or sightings >= FLUSH_SIGHTINGS
        )
        if not len(self.outcomes) or not (force or big_enough):
            return
        async with self.flush_lock:
            batch, self.outcomes = self.outcomes, Outcomes()
            await self.sink(batch)

    async def worker(self) -> None:
        while True:
            task = await self.queue.get()
            try:
                if not self.fatal and not self.stopped:
                    await self.run_one(task)
                    await self.flush(force=False)
            except Exception as error:
                # An error outside the site (the database, a bug) stops the crawl: the
                # remaining searches drain unrun and the error is raised afterwards.
                self.fatal.append(error)
            finally:
                self.queue.task_done()
                self.progress.pending = self.queue.qsize() + len(self.deferred)
                if self.listener is not None:
                    self.listener.searches_changed(self.progress)

    def resolve_deferred(self) -> None:
        """Keep deferred searches below the largest count and split the rest."""
        deferred, self.deferred = self.deferred, []
        for task, page in deferred:
            if len(page.rows) < self.largest:
                self.accept(task, page)
            else:
                self.split(task, query_from_key(self.options.roll, task.key), len(page.rows))


async def crawl_roll(
    client: SearchClient,
    options: CriteriaOptions,
    sink: OutcomeSink,
    *,
    pending: list[SearchRecord],
    known: set[SearchRecord],
    largest: int = 0,
    policy: SplitPolicy = SplitPolicy.EVIDENCE,
    concurrency: int = 2,
    listener: ProgressListener | None = None,
) -> RollProgress:
    """Run the pending searches of `options.roll`, and every split they cause, to the end.

    Returns early, leaving searches pending, when the client reports its deadline. A
    search that still fails after the client's retries is saved as failed, never as an
    empty result.
    """
    crawl = _Crawl(
        client=client,
        options=options,
        sink=sink,
        policy=policy,
        largest=largest,
        known=set(known),
        progress=RollProgress(roll=options.roll, pending=len(pending)),
        listener=listener,
    )
    for task in pending:
        crawl.queue.put_nowait(task)

    workers = [asyncio.create_task(crawl.worker()) for _ in range(max(1, concurrency))]
    try:
        while True:
            await crawl.queue.join()
            if crawl.fatal or crawl.stopped or not crawl.deferred:
                break
            crawl.resolve_deferred()
            if crawl.queue.empty():
                break
    finally:
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    if crawl.fatal:
        raise crawl.fatal[0]
    await crawl.flush(force=True)
    return crawl.progress


def initial_records(searches: list[SearchQuery], dimension: Dimension) -> list[SearchRecord]:
    """Return the records of a dimension's initial searches."""
    return [
        SearchRecord(query.roll.value, dimension.value, search_key(query)) for query in searches
    ]
