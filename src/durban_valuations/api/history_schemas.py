"""Response models of the run and history routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from durban_valuations.site.models import Roll
from durban_valuations.store.history import ChangeKind


class FailedSearch(BaseModel):
    """A search that still failed after the client's retries."""

    model_config = ConfigDict(extra="allow")

    search: str = Field(description="Canonical text of the search's parameters.")
    dimension: str = Field(description="Covering dimension the search belongs to.")
    error: str | None = Field(description="Last error of the search.")


class RollCoverage(BaseModel):
    """Coverage of one roll in a run, as the crawler reported it; other keys pass through."""

    model_config = ConfigDict(extra="allow")

    roll: str = Field(description="full or sectional.")
    searches: int = Field(description="Searches made.")
    splits: int = Field(description="Searches that showed the row-limit warning and were split.")
    properties: int = Field(description="Distinct properties the searches reached.")
    properties_by_dimension: dict[str, int] = Field(
        description="Distinct properties reached by each covering dimension."
    )
    properties_only_in: dict[str, int] = Field(
        description="Properties that only this covering dimension reached."
    )
    failed_searches: list[FailedSearch]


class RunReport(BaseModel):
    """Report of a run: its scope from the start, the coverage once it finishes.

    A key the stored report lacks is left out; other keys pass through unchanged.
    """

    model_config = ConfigDict(extra="allow")

    scope: str | None = Field(
        default=None,
        description="all, or the suburbs of a limited run. A scrape resumes only an "
        "unfinished run of the same scope.",
    )
    rolls: list[RollCoverage] | None = Field(
        default=None,
        description="Coverage of each roll the run crawled. Null until the scraper "
        "finishes the run.",
    )


class RunSummary(BaseModel):
    """One scrape run with its status and counters."""

    id: int
    roll_year: int = Field(description="Year of the General Valuation Roll.")
    rolls: str = Field(description="full, sectional or all.")
    source_url: str = Field(description="Site the run scraped.")
    status: str = Field(
        description="running, complete, incomplete, failed, or interrupted (killed or "
        "stopped before its end)."
    )
    started_at: datetime
    finished_at: datetime | None
    searches: int
    splits: int
    failed_searches: int
    rows_full: int = Field(description="Result rows read from the full roll.")
    rows_sectional: int = Field(description="Result rows read from the sectional roll.")
    properties_inserted: int
    properties_updated: int
    properties_unchanged: int
    error: str | None
    suspect: bool = Field(description="True when the run's data should not be trusted.")
    suspect_reason: str | None = Field(description="Why the run is suspect.")
    deadline_reached: bool = Field(description="True when the run stopped at its deadline.")
    parse_failures: int = Field(description="Pages that could not be parsed.")
    details_fetched: int = Field(description="Details pages fetched and saved.")
    details_failed: int = Field(description="Details pages that failed after retries.")
    blocks: int = Field(description="Responses where the site blocked the scraper.")
    requests: int = Field(description="HTTP requests sent to the site.")
    retries: int = Field(description="HTTP requests that were retries.")


class RunDetail(RunSummary):
    """One scrape run with every column, including its coverage report."""

    report: RunReport | None = Field(description="Null when the run was finished without a report.")


class RunPage(BaseModel):
    """One page of runs, newest first."""

    items: list[RunSummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )
    limit: int = Field(description="Maximum number of items per page that this request used.")


class Change(BaseModel):
    """One recorded change of one property."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="Change id; ids grow in the order changes are recorded.")
    roll_year: int
    roll: Roll
    pin: int
    rate_number: str
    run_id: int = Field(description="Scrape run that recorded the change.")
    changed_at: datetime = Field(description="Start time of the transaction that recorded it.")
    kind: ChangeKind = Field(
        description="new; a tracked field (market_value, first_owner, use_code, "
        "rating_category, registered_extent); not_seen when a complete run missed the "
        "property; seen_again when a later run saw it."
    )
    old_value: str | None = Field(
        description="Field value before, as text; null when it had none. For not_seen, the "
        "id of the last run that saw the property; for seen_again, the id of the run that "
        "marked it not seen."
    )
    new_value: str | None = Field(description="Field value after, as text; null when none.")


class PropertyHistory(BaseModel):
    """Every change of the properties with one rate number, oldest first."""

    rate_number: str
    changes: list[Change]


class ChangePage(BaseModel):
    """One page of changes, oldest first."""

    items: list[Change]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )
    limit: int = Field(description="Maximum number of items per page that this request used.")
