"""The enrichment pass: details pages of new or changed properties only, resumable."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import Engine

from durban_valuations.config import Settings
from durban_valuations.site.client import SiteClient
from durban_valuations.site.errors import DeadlineReachedError, SiteError
from durban_valuations.site.models import PropertyDetails
from durban_valuations.store.sightings import properties_needing_details
from durban_valuations.store.upsert import save_details

logger = logging.getLogger(__name__)

BATCH = 500


async def fetch_missing_details(
    client: SiteClient, engine: Engine, settings: Settings, rolls: list[str]
) -> tuple[int, int]:
    """Fetch the details page of every property whose details are missing or stale.

    Details are missing for new properties and stale when the first owner changed (the
    upsert then clears `details_fetched_at`). Each page is saved as soon as it arrives,
    so an interrupted pass resumes with the properties still missing. Returns the counts
    of pages fetched and failed; a failed page is retried by the next pass.
    """
    fetched = failed = 0
    skipped: set[int] = set()
    while True:
        with engine.connect() as connection:
            batch = [
                (pin, href)
                for pin, href in properties_needing_details(
                    connection, settings.roll_year, rolls, BATCH + len(skipped)
                )
                if pin not in skipped
            ][:BATCH]
        if not batch:
            return fetched, failed

        results = await asyncio.gather(
            *(_fetch(client, pin, href) for pin, href in batch), return_exceptions=True
        )
        for (pin, _), outcome in zip(batch, results, strict=True):
            if isinstance(outcome, DeadlineReachedError):
                return fetched, failed
            if isinstance(outcome, BaseException):
                if not isinstance(outcome, SiteError):
                    raise outcome
                failed += 1
                skipped.add(pin)
                logger.error("details page failed", extra={"pin": pin, "error": str(outcome)})
                continue
            await asyncio.to_thread(_save, engine, settings.roll_year, pin, outcome)
            fetched += 1


async def _fetch(client: SiteClient, pin: int, href: str) -> PropertyDetails:
    return await client.fetch_details(href)


def _save(engine: Engine, roll_year: int, pin: int, details: PropertyDetails) -> None:
    with engine.begin() as connection:
        save_details(connection, roll_year, pin, details)
