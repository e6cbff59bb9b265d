"""A scrape run shared by several workers: start it, crawl one part, close it.

`start_run` takes the scrape lock alone, starts or resumes a run, plans each roll's
searches and records the parts. Each part is then crawled by `crawl_part`, usually in a
Celery task, holding the lock in shared mode: parts exclude a whole-process scrape but
not each other. A part takes the pending searches whose key hashes to its number, and
the narrower searches its own splits create. Every outcome goes to PostgreSQL as in a
single-process run, so a part that dies is simply run again. The part that ends last
totals the counters and closes the run, with the same status rules, guard, not-seen
marks and events as `run_scrape`.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from dataclasses import dataclass

from sqlalchemy import Engine

from durban_valuations.config import Settings
from durban_valuations.crawl.coverage import RollProgress
from durban_valuations.crawl.planner import Dimension
from durban_valuations.crawl.runner import SplitPolicy, crawl_roll
from durban_valuations.jobs import events
from durban_valuations.jobs.scrape import (
    ScrapeRequest,
    ScrapeResult,
    _announce,
    _decide_status,
    _finish,
    _prepare_roll,
    _save,
)
from durban_valuations.site.client import SiteClient
from durban_valuations.site.models import Roll
from durban_valuations.store import crawl_state, run_parts
from durban_valuations.store.crawl_state import Outcomes
from durban_valuations.store.locks import scrape_lock, shared_scrape_lock

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PartTask:
    """One part of a run for a worker: which run, roll and share of the searches."""

    run_id: int
    roll: str
    part: int
    parts: int
    tasks_in_run: int
    base_url: str
    rolls: tuple[str, ...]


def part_of(key: str, parts: int) -> int:
    """Return the part that owns a search key; stable across processes and restarts."""
    return zlib.crc32(key.encode("utf-8")) % parts


def _request(settings: Settings, rolls: list[Roll], base_url: str) -> ScrapeRequest:
    dimensions = tuple(Dimension(name) for name in settings.crawl_dimensions)
    return ScrapeRequest(rolls, source_url=base_url, dimensions=dimensions)


def start_run(
    settings: Settings, engine: Engine, rolls: list[Roll], source_url: str | None = None
) -> list[PartTask]:
    """Start or resume a whole-roll run and return its parts, each to run once.

    Raises ScrapeInProgressError when another scrape holds the lock. Raises SiteError when
    a criteria page cannot be read, after closing the run as failed and announcing it.
    """
    base_url = (source_url or settings.site_url).rstrip("/")
    request = _request(settings, rolls, base_url)
    rolls_label = "all" if len(rolls) > 1 else rolls[0].value
    parts = settings.celery_scrape_parts
    with scrape_lock(engine, settings.roll_year):
        with engine.begin() as connection:
            run_id, resumed = crawl_state.start_or_resume_run(
                connection, settings.roll_year, rolls_label, base_url, request.scope
            )
        logger.info(
            "distributed scrape %s",
            "resumed" if resumed else "started",
            extra={"run_id": run_id, "rolls": rolls_label, "parts": parts},
        )
        try:
            asyncio.run(_plan(settings, engine, run_id, request, base_url))
        except Exception as error:
            result = ScrapeResult(run_id=run_id, status="failed", resumed=resumed)
            result.error = str(error) or type(error).__name__
            _finish(engine, settings, result, rolls)
            _announce(result)
            raise
    labels = tuple(roll.value for roll in rolls)
    return [
        PartTask(run_id, roll.value, part, parts, parts * len(rolls), base_url, labels)
        for roll in rolls
        for part in range(parts)
    ]


async def _plan(
    settings: Settings, engine: Engine, run_id: int, request: ScrapeRequest, base_url: str
) -> None:
    async with SiteClient.from_settings(settings, base_url=base_url) as client:
        for roll in request.rolls:
            await _prepare_roll(engine, client, run_id, roll, request)
            with engine.begin() as connection:
                run_parts.plan_parts(connection, run_id, roll.value, settings.celery_scrape_parts)


class PartFailedError(RuntimeError):
    """A part stopped on an error and its task should run it again."""


def crawl_part(
    settings: Settings, engine: Engine, task: PartTask, *, last_attempt: bool = True
) -> ScrapeResult | None:
    """Crawl one part of a run; returns the run's result when this part closed the run.

    The part's client gets an equal share of REQUEST_RATE, so all parts together send no
    more than the rate of one process. Raises ScrapeInProgressError while a scrape holds
    the lock alone, and PartFailedError when the part failed and `last_attempt` is
    False: the part stays pending and the caller runs it again later. On the last
    attempt a failure is recorded and the run closes as failed.
    """
    with shared_scrape_lock(engine, settings.roll_year):
        with engine.begin() as connection:
            if not run_parts.start_part(connection, task.run_id, task.roll, task.part):
                logger.info("part skipped: the run is no longer running", extra=_fields(task))
                return None
        counts = run_parts.PartCounts()
        error: str | None = None
        try:
            asyncio.run(_crawl(settings, engine, task, counts))
        except Exception as failure:
            error = f"{type(failure).__name__}: {failure}"
            logger.exception("part failed", extra=_fields(task))
        will_retry = error is not None and not last_attempt
        with engine.begin() as connection:
            run_parts.finish_part(
                connection, task.run_id, task.roll, task.part, counts, error, will_retry=will_retry
            )
        if will_retry:
            raise PartFailedError(error)
        return close_run_if_last(settings, engine, task)


async def _crawl(
    settings: Settings, engine: Engine, task: PartTask, counts: run_parts.PartCounts
) -> None:
    roll = Roll(task.roll)
    request = _request(settings, [roll], task.base_url)

    async def sink(outcomes: Outcomes) -> None:
        saved = await asyncio.to_thread(_save, engine, settings.roll_year, task.run_id, outcomes)
        counts.inserted += saved.inserted
        counts.updated += saved.updated
        counts.unchanged += saved.unchanged

    share = settings.model_copy(
        update={"request_rate": settings.request_rate / max(1, task.tasks_in_run)}
    )
    client = SiteClient.from_settings(share, base_url=task.base_url)
    client.on_event = lambda kind, details: events.emit(kind, {"run_id": task.run_id, **details})
    try:
        async with client:
            pending, known, largest = await _prepare_roll(
                engine, client, task.run_id, roll, request
            )
            mine = [item for item in pending.records if part_of(item.key, task.parts) == task.part]
            progress: RollProgress = await crawl_roll(
                client,
                pending.options,
                sink,
                pending=mine,
                known=known,
                largest=largest,
                policy=SplitPolicy(settings.crawl_split_policy),
                concurrency=settings.request_concurrency,
            )
            counts.searches += progress.searches
            counts.parse_failures += progress.parse_failures
    finally:
        counts.requests += client.stats.requests
        counts.retries += client.stats.retries
        counts.blocks += client.stats.blocks


def close_run_if_last(settings: Settings, engine: Engine, task: PartTask) -> ScrapeResult | None:
    """Close the run when every part has ended; only one caller ever closes it."""
    rolls = [Roll(value) for value in task.rolls]
    request = _request(settings, rolls, task.base_url)
    with engine.begin() as connection:
        if not run_parts.claim_run_end(connection, task.run_id):
            return None
        # Another part that ends now waits for this row lock, then finds the run closing.
        totals, errors = run_parts.part_totals(connection, task.run_id)
        result = ScrapeResult(run_id=task.run_id, status="running", scope=request.scope)
        result.inserted = totals.inserted
        result.updated = totals.updated
        result.unchanged = totals.unchanged
        result.requests = totals.requests
        result.retries = totals.retries
        result.blocks = totals.blocks
        result.progress.append(RollProgress(roll=rolls[0], parse_failures=totals.parse_failures))
    _decide_status(engine, settings, result, request)
    if errors and result.status != "complete":
        result.status = "failed"
        result.error = "; ".join(errors)
    trusted = result.status == "complete" and result.suspect_reason is None
    _finish(engine, settings, result, rolls, mark_unseen=trusted)
    _announce(result)
    logger.info("distributed scrape closed", extra={"run_id": task.run_id, "status": result.status})
    return result


def _fields(task: PartTask) -> dict[str, object]:
    return {"run_id": task.run_id, "roll": task.roll, "part": task.part}
