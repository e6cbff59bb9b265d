"""The one "run a scrape" entry point shared by the CLI, the scheduler and the workers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from durban_valuations.clean.models import CleanProperty
from durban_valuations.config import Settings
from durban_valuations.crawl.coverage import RollCoverage
from durban_valuations.crawl.planner import Dimension
from durban_valuations.crawl.runner import ProgressListener, crawl_roll
from durban_valuations.jobs.suburbs import match_suburbs
from durban_valuations.site.client import SiteClient
from durban_valuations.site.errors import SiteError
from durban_valuations.site.models import Roll
from durban_valuations.store.runs import finish_run, start_run
from durban_valuations.store.upsert import UpsertCounts, save_details, upsert_properties

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class ScrapeResult:
    """Outcome of one run: its id, final status, coverage per roll and database counts."""

    run_id: int
    status: str
    coverage: list[RollCoverage]
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    details_fetched: int = 0
    details_failed: int = 0
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    def rows(self, roll: Roll) -> int:
        """Distinct properties of `roll` found in this run."""
        return sum(item.properties for item in self.coverage if item.roll is roll)


ProgressFactory = Callable[[Roll], ProgressListener | None]


def run_scrape(
    settings: Settings,
    engine: Engine,
    *,
    rolls: list[Roll],
    suburb_names: list[str] | None = None,
    source_url: str | None = None,
    fetch_details: bool = False,
    progress: ProgressFactory | None = None,
) -> ScrapeResult:
    """Scrape `rolls` from the site into the database and record the run.

    The run is "complete" when every search succeeded, "incomplete" when some search
    still failed after its retries, and "failed" when the crawl could not go on (the
    criteria page could not be read, or the database failed).
    """
    base_url = (source_url or settings.site_url).rstrip("/")
    rolls_label = "all" if len(rolls) > 1 else rolls[0].value
    with engine.begin() as connection:
        run_id = start_run(connection, settings.roll_year, rolls_label, base_url)
    logger.info(
        "scrape started", extra={"run_id": run_id, "rolls": rolls_label, "source": base_url}
    )

    result = ScrapeResult(run_id=run_id, status="running", coverage=[])
    try:
        asyncio.run(
            _crawl(settings, engine, result, rolls, suburb_names, base_url, fetch_details, progress)
        )
    except (SiteError, ValueError, OSError) as error:
        result.status = "failed"
        result.error = str(error)
    except BaseException as error:
        result.status = "failed"
        result.error = f"{type(error).__name__}: {error}"
        _finish(engine, settings, result)
        raise
    else:
        failed = sum(len(item.failed) for item in result.coverage) + result.details_failed
        result.status = "complete" if failed == 0 else "incomplete"
    _finish(engine, settings, result)
    log = logger.info if result.status == "complete" else logger.error
    log(
        "scrape finished",
        extra={"run_id": run_id, "status": result.status, "error": result.error},
    )
    return result


async def _crawl(
    settings: Settings,
    engine: Engine,
    result: ScrapeResult,
    rolls: list[Roll],
    suburb_names: list[str] | None,
    base_url: str,
    fetch_details: bool,
    progress: ProgressFactory | None,
) -> None:
    details_hrefs: dict[int, str] = {}

    async def sink(rows: list[CleanProperty]) -> None:
        counts = await asyncio.to_thread(_upsert, engine, settings.roll_year, result.run_id, rows)
        result.inserted += counts.inserted
        result.updated += counts.updated
        result.unchanged += counts.unchanged
        for row in rows:
            details_hrefs[row.pin] = row.details_href

    async with SiteClient.from_settings(settings, base_url=base_url) as client:
        for roll in rolls:
            options = await client.fetch_criteria(roll)
            suburb_values = None
            dimensions = [Dimension.SUBURB, Dimension.VOLUME]
            if suburb_names:
                suburb_values = match_suburbs(options.suburbs, suburb_names)
                # A suburb-limited run covers those suburbs only; volumes span every suburb.
                dimensions = [Dimension.SUBURB]
            coverage = await crawl_roll(
                client,
                options,
                sink,
                dimensions=dimensions,
                concurrency=settings.request_concurrency,
                suburb_values=suburb_values,
                progress=progress(roll) if progress else None,
            )
            result.coverage.append(coverage)

        if fetch_details:
            await _fetch_all_details(client, engine, settings, result, details_hrefs)


async def _fetch_all_details(
    client: SiteClient,
    engine: Engine,
    settings: Settings,
    result: ScrapeResult,
    hrefs: dict[int, str],
) -> None:
    semaphore = asyncio.Semaphore(settings.request_concurrency)

    async def fetch_one(pin: int, href: str) -> None:
        async with semaphore:
            try:
                details = await client.fetch_details(href)
            except SiteError as error:
                result.details_failed += 1
                logger.error("details page failed", extra={"pin": pin, "error": str(error)})
                return
        await asyncio.to_thread(_save_details, engine, settings.roll_year, pin, details)
        result.details_fetched += 1

    await asyncio.gather(*(fetch_one(pin, href) for pin, href in sorted(hrefs.items())))


def _upsert(engine: Engine, roll_year: int, run_id: int, rows: list[CleanProperty]) -> UpsertCounts:
    with engine.begin() as connection:
        return upsert_properties(connection, roll_year, run_id, rows)


def _save_details(engine: Engine, roll_year: int, pin: int, details: Any) -> None:
    with engine.begin() as connection:
        save_details(connection, roll_year, pin, details)


def _finish(engine: Engine, settings: Settings, result: ScrapeResult) -> None:
    report = {
        "rolls": [item.to_report() for item in result.coverage],
        "details_fetched": result.details_fetched,
        "details_failed": result.details_failed,
    }
    full = result.rows(Roll.FULL)
    sectional = result.rows(Roll.SECTIONAL)
    with engine.begin() as connection:
        finish_run(
            connection,
            result.run_id,
            status=result.status,
            searches=sum(item.searches for item in result.coverage),
            splits=sum(item.splits for item in result.coverage),
            failed_searches=sum(len(item.failed) for item in result.coverage),
            rows_full=full,
            rows_sectional=sectional,
            properties_inserted=result.inserted,
            properties_updated=result.updated,
            properties_unchanged=result.unchanged,
            error=result.error,
            report=report,
        )
