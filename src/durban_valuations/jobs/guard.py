"""The guard that marks a run suspect when it found far fewer properties than usual.

A suspect run still stores what it found, but its "not seen" marks are not applied,
because a site that hides part of the roll would otherwise make live properties look
removed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection

from durban_valuations.config import Settings
from durban_valuations.site.models import Roll
from durban_valuations.store.runs import last_complete_run

if TYPE_CHECKING:
    from durban_valuations.jobs.scrape import ScrapeResult


def check_run(
    connection: Connection, settings: Settings, result: ScrapeResult, *, whole_roll: bool
) -> str | None:
    """Return why the run is suspect, or None when it looks like a normal run."""
    parse_failures = sum(item.parse_failures for item in result.progress)
    if parse_failures > settings.max_parse_failures:
        return (
            f"{parse_failures} pages could not be parsed "
            f"(MAX_PARSE_FAILURES={settings.max_parse_failures})"
        )
    if not whole_roll:
        return None

    rolls = [Roll(item["roll"]) for item in result.reports]
    previous = last_complete_run(connection, settings.roll_year, [roll.value for roll in rolls])
    if previous is None:
        return None
    earlier = {Roll.FULL: previous.rows_full, Roll.SECTIONAL: previous.rows_sectional}
    for roll in rolls:
        found = result.rows(roll)
        before = earlier[roll]
        if before and found < before * (1 - settings.suspect_drop):
            drop = 1 - found / before
            return (
                f"{roll.value} roll: {found} properties against {before} in run {previous.id} "
                f"({drop:.1%} fewer; SUSPECT_DROP={settings.suspect_drop:.0%})"
            )
    return None
