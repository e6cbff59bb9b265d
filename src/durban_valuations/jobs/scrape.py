"""The one "run a scrape" entry point shared by the CLI, the scheduler and the workers."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from durban_valuations.config import Settings
from durban_valuations.config.log_setup import bind_run_id
from durban_valuations.crawl.coverage import RollProgress
from durban_valuations.crawl.planner import Dimension, initial_searches
from durban_valuations.crawl.runner import (
    DIMENSION_BITS,
    ProgressListener,
    SplitPolicy,
    crawl_roll,
    initial_records,
)
from durban_valuations.jobs import events
from durban_valuations.jobs.details import fetch_missing_details
from durban_valuations.jobs.guard import check_run
from durban_valuations.jobs.suburbs import match_suburbs
from durban_valuations.site.client import SiteClient
from durban_valuations.site.errors import SiteError
from durban_valuations.site.models import CriteriaOptions, Roll
from durban_valuations.store import crawl_state
from durban_valuations.store.crawl_state import Outcomes
from durban_valuations.store.locks import scrape_lock
from durban_valuations.store.runs import finish_run
from durban_valuations.store.sightings import mark_not_seen

logger = logging.getLogger(__name__)

# How often a running scrape looks at its stop event.
STOP_POLL_SECONDS = 0.2


@dataclass(slots=True)
class ScrapeResult:
    """Outcome of one run: its id, final status, coverage per roll and database counts."""

    run_id: int
    status: str
    scope: str = "all"
    resumed: bool = False
    reports: list[dict[str, Any]] = field(default_factory=list)
    progress: list[RollProgress] = field(default_factory=list)
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    not_seen: int = 0
    details_fetched: int = 0
    details_failed: int = 0
    deadline_reached: bool = False
    requests: int = 0
    retries: int = 0
    blocks: int = 0
    suspect_reason: str | None = None
    error: str | None = None

    def report(self, roll: Roll) -> dict[str, Any]:
        """Return the coverage report of `roll`; raises KeyError when it was not crawled."""
        for item in self.reports:
            if item["roll"] == roll.value:
                return item
        raise KeyError(roll.value)

    def rows(self, roll: Roll) -> int:
        """Distinct properties of `roll` found in this run (0 when the roll was not crawled)."""
        return sum(item["properties"] for item in self.reports if item["roll"] == roll.value)

    @property
    def failed_searches(self) -> int:
        """Searches that still failed after their retries, over every roll."""
        return sum(len(item["failed_searches"]) for item in self.reports)


ProgressFactory = Callable[[Roll], ProgressListener | None]


@dataclass(frozen=True, slots=True)
class ScrapeRequest:
    """Scope of one scrape: rolls, an optional suburb filter, the site, details, a deadline."""

    rolls: list[Roll]
    suburb_names: list[str] | None = None
    source_url: str | None = None
    fetch_details: bool = False
    deadline_seconds: float | None = None
    dimensions: tuple[Dimension, ...] = (Dimension.VOLUME, Dimension.RATE_NUMBER)
    stop: threading.Event | None = None

    @property
    def scope(self) -> str:
        """Label that separates runs of different scope, so one never resumes the other."""
        if not self.suburb_names:
            return "all"
        return "suburbs:" + ",".join(sorted(name.casefold() for name in self.suburb_names))


def run_scrape(
    settings: Settings,
    engine: Engine,
    *,
    rolls: list[Roll],
    suburb_names: list[str] | None = None,
    source_url: str | None = None,
    fetch_details: bool = False,
    deadline_seconds: float | None = None,
    progress: ProgressFactory | None = None,
    stop: threading.Event | None = None,
) -> ScrapeResult:
    """Scrape `rolls` into the database, resuming the last unfinished run of the same scope.

    The final status is "complete" when every search succeeded and "incomplete" when
    some still failed after their retries. It is "interrupted" when the deadline passed
    or the process was stopped, or when `stop` was set (from another thread, for example
    a SIGTERM handler), and the next run resumes it. It is "failed" when the
    crawl could not go on. Raises ScrapeInProgressError when another scrape of the roll
    year is running.
    """
    dimensions = tuple(Dimension(name) for name in settings.crawl_dimensions)
    if suburb_names:
        # A suburb-limited run covers those suburbs only; volumes and rate numbers span
        # every suburb.
        dimensions = (Dimension.SUBURB,)
    request = ScrapeRequest(
        rolls, suburb_names, source_url, fetch_details, deadline_seconds, dimensions, stop
    )
    base_url = (source_url or settings.site_url).rstrip("/")
    rolls_label = "all" if len(rolls) > 1 else rolls[0].value
    with scrape_lock(engine, settings.roll_year):
        with engine.begin() as connection:
            run_id, resumed = crawl_state.start_or_resume_run(
                connection, settings.roll_year, rolls_label, base_url, request.scope
            )
        logger.info(
            "scrape %s",
            "resumed" if resumed else "started",
            extra={"run_id": run_id, "rolls": rolls_label, "source": base_url},
        )
        result = ScrapeResult(run_id=run_id, status="running", scope=request.scope, resumed=resumed)
        try:
            with bind_run_id(run_id):
                asyncio.run(_scrape(settings, engine, result, request, base_url, progress))
        except BaseException as error:
            result.status = "interrupted" if _is_stop(error) else "failed"
            result.error = str(error) or type(error).__name__
            _finish(engine, settings, result, rolls)
            if not isinstance(error, SiteError | ValueError | OSError):
                if not _is_stop(error):
                    # A bug or a lost database still reaches the alerts before it is raised.
                    _announce(result)
                raise
            _announce(result)
            return result

        _decide_status(engine, settings, result, request)
        # Only a complete, trusted run of the whole roll can tell that a property is gone.
        trusted = result.status == "complete" and result.suspect_reason is None
        _finish(engine, settings, result, rolls, mark_unseen=trusted and request.scope == "all")
    _announce(result)
    return result


async def _stop_when_set(stop: threading.Event, client: SiteClient) -> None:
    """Move the client's deadline to now once `stop` is set, so the run ends interrupted."""
    while not stop.is_set():
        await asyncio.sleep(STOP_POLL_SECONDS)
    logger.warning("stop requested: the remaining searches stay pending for the next run")
    client.deadline = time.monotonic()


def _is_stop(error: BaseException) -> bool:
    return isinstance(error, KeyboardInterrupt | SystemExit | asyncio.CancelledError)


async def _scrape(
    settings: Settings,
    engine: Engine,
    result: ScrapeResult,
    request: ScrapeRequest,
    base_url: str,
    progress: ProgressFactory | None,
) -> None:
    async def sink(outcomes: Outcomes) -> None:
        counts = await asyncio.to_thread(_save, engine, settings.roll_year, result.run_id, outcomes)
        result.inserted += counts.inserted
        result.updated += counts.updated
        result.unchanged += counts.unchanged

    deadline = None
    if request.deadline_seconds is not None:
        deadline = time.monotonic() + request.deadline_seconds
    client = SiteClient.from_settings(settings, base_url=base_url, deadline=deadline)
    client.on_event = lambda kind, details: events.emit(kind, {"run_id": result.run_id, **details})
    watcher = None
    if request.stop is not None:
        watcher = asyncio.create_task(_stop_when_set(request.stop, client))
    try:
        async with client:
            await _crawl_rolls(client, engine, settings, result, request, sink, progress)
    finally:
        if watcher is not None:
            watcher.cancel()
        result.requests += client.stats.requests
        result.retries += client.stats.retries
        result.blocks += client.stats.blocks


async def _crawl_rolls(
    client: SiteClient,
    engine: Engine,
    settings: Settings,
    result: ScrapeResult,
    request: ScrapeRequest,
    sink: Callable[[Outcomes], Awaitable[None]],
    progress: ProgressFactory | None,
) -> None:
    for roll in request.rolls:
        pending, known, largest = await _prepare_roll(engine, client, result.run_id, roll, request)
        roll_progress = await crawl_roll(
            client,
            pending.options,
            sink,
            pending=pending.records,
            known=known,
            largest=largest,
            policy=SplitPolicy(settings.crawl_split_policy),
            concurrency=settings.request_concurrency,
            listener=progress(roll) if progress else None,
        )
        result.progress.append(roll_progress)
        if client.deadline_passed():
            result.deadline_reached = True
            return

    if request.fetch_details:
        fetched, failed = await fetch_missing_details(
            client, engine, settings, [roll.value for roll in request.rolls]
        )
        result.details_fetched += fetched
        result.details_failed += failed
        result.deadline_reached = client.deadline_passed()


@dataclass(slots=True)
class _Pending:
    options: CriteriaOptions
    records: list[crawl_state.SearchRecord]


async def _prepare_roll(
    engine: Engine, client: SiteClient, run_id: int, roll: Roll, request: ScrapeRequest
) -> tuple[_Pending, set[crawl_state.SearchRecord], int]:
    """Read the roll's option lists and return its pending searches, seeding a new run."""
    options = await client.fetch_criteria(roll)
    suburb_values = None
    if request.suburb_names:
        suburb_values = match_suburbs(options.suburbs, request.suburb_names)

    with engine.begin() as connection:
        if not crawl_state.has_searches(connection, run_id, roll.value):
            for dimension in request.dimensions:
                searches = initial_searches(options, dimension, suburb_values)
                crawl_state.add_searches(connection, run_id, initial_records(searches, dimension))
        pending = crawl_state.pending_searches(connection, run_id, roll.value)
        known = crawl_state.known_searches(connection, run_id, roll.value)
        largest = crawl_state.largest_result(connection, run_id)
    return _Pending(options, pending), known, largest


def _save(engine: Engine, roll_year: int, run_id: int, outcomes: Outcomes) -> Any:
    with engine.begin() as connection:
        return crawl_state.save_outcomes(connection, run_id, roll_year, outcomes)


def _dimension_bits(dimensions: tuple[Dimension, ...]) -> dict[str, int]:
    return {dimension.value: DIMENSION_BITS[dimension] for dimension in dimensions}


def _decide_status(
    engine: Engine, settings: Settings, result: ScrapeResult, request: ScrapeRequest
) -> None:
    bits = _dimension_bits(request.dimensions)
    with engine.begin() as connection:
        result.reports = [
            crawl_state.coverage_report(connection, result.run_id, roll.value, bits)
            for roll in request.rolls
        ]
        pending = sum(item["pending"] for item in result.reports)
        if result.deadline_reached or pending:
            result.status = "interrupted"
            return
        failed = result.failed_searches + result.details_failed
        result.status = "complete" if failed == 0 else "incomplete"

        result.suspect_reason = check_run(
            connection, settings, result, whole_roll=request.scope == "all"
        )
        if result.suspect_reason is not None:
            events.emit("run_suspect", {"run_id": result.run_id, "reason": result.suspect_reason})


def _finish(
    engine: Engine,
    settings: Settings,
    result: ScrapeResult,
    rolls: list[Roll],
    *,
    mark_unseen: bool = False,
) -> None:
    """Record the end of the run and, for a trusted run, mark properties it did not see."""
    # The scope stays in the report: resuming matches unfinished runs by it.
    report = {"scope": result.scope, "rolls": result.reports, "resumed": result.resumed}
    with engine.begin() as connection:
        finish_run(
            connection,
            result.run_id,
            status=result.status,
            searches=sum(item["searches"] for item in result.reports),
            splits=sum(item["splits"] for item in result.reports),
            failed_searches=result.failed_searches,
            rows_full=result.rows(Roll.FULL),
            rows_sectional=result.rows(Roll.SECTIONAL),
            properties_inserted=result.inserted,
            properties_updated=result.updated,
            properties_unchanged=result.unchanged,
            error=result.error,
            report=report,
            suspect=result.suspect_reason is not None,
            suspect_reason=result.suspect_reason,
            deadline_reached=result.deadline_reached,
            details_fetched=result.details_fetched,
            details_failed=result.details_failed,
            parse_failures=sum(item.parse_failures for item in result.progress),
            requests=result.requests,
            retries=result.retries,
            blocks=result.blocks,
        )
        if mark_unseen:
            result.not_seen = mark_not_seen(
                connection, settings.roll_year, result.run_id, [roll.value for roll in rolls]
            )


def finished_details(result: ScrapeResult) -> dict[str, Any]:
    """Return the details of a `run_finished` event: status, counts and errors of a run."""
    return {
        "run_id": result.run_id,
        "status": result.status,
        "error": result.error,
        "scope": result.scope,
        "resumed": result.resumed,
        "suspect_reason": result.suspect_reason,
        "rolls": [
            {
                "roll": report["roll"],
                "properties": report["properties"],
                "searches": report["searches"],
                "failed_searches": len(report["failed_searches"]),
                "pending": report["pending"],
            }
            for report in result.reports
        ],
        "failed_searches": result.failed_searches,
        "inserted": result.inserted,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "not_seen": result.not_seen,
        "requests": result.requests,
        "retries": result.retries,
        "blocks": result.blocks,
    }


def _announce(result: ScrapeResult) -> None:
    details = {"run_id": result.run_id, "status": result.status, "error": result.error}
    if result.status == "failed":
        events.emit("run_failed", details)
    # Every finished run, so that a notifier can also tell when a problem went away.
    events.emit("run_finished", finished_details(result))
    # An interrupted run (deadline or stop) is a clean stop that the next run resumes.
    log = logger.info if result.status in ("complete", "interrupted") else logger.error
    log("scrape finished", extra=details)
