"""Settings of the replica for what the live site's behaviour leaves open."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from durban_valuations.replica.fault_config import FaultConfig

TextMatch = Literal["contains", "prefix", "exact"]
EmptySearch = Literal["no_match", "all"]
WarningCount = Literal["matches", "rows_returned"]
NumberField = Literal["street_number", "erf", "portion", "section_number"]


@dataclass(frozen=True, slots=True)
class ReplicaConfig:
    """Replica behaviour where the live site's rules are unknown; defaults follow the best evidence.

    Text criteria are compared case-insensitively after stripping outer spaces.
    """

    # Maximum data rows on one result page, the first ones in database order; None returns
    # every match (the live site returned more than 1,000 rows).
    max_results: int | None = None
    # How StreetName is matched against the street name.
    street_name_match: TextMatch = "contains"
    # How StreetNo, ERF, Portion and SectionNumber are matched, unless the field's own
    # setting (`street_number_match` and the others below) is given.
    number_match: TextMatch = "exact"
    # Result of a search with every criterion empty (the site's own script never sends one).
    empty_search: EmptySearch = "no_match"
    # Return HTTP 500 for an unknown PIN on the details page instead of an empty profile.
    unknown_pin_error: bool = False
    # First option of drpDeedsTown; its text is not in the site's source.
    deeds_town_placeholder: str = "[--Select Deeds Town--]"
    # Key of the HMAC-SHA256 that signs SearchType's __VIEWSTATE and __EVENTVALIDATION.
    viewstate_key: bytes = b"durban-valuations replica machine key"
    # What the warning row counts against 1,000: all matches, or the rows left after
    # `max_results`. The site's XSLT counts the rows it receives, so with a cap below 1,000
    # applied in the database, "rows_returned" is what the XSLT would do.
    warning_row_count: WarningCount = "matches"
    # Matching rule of one number criterion; None follows `number_match`.
    street_number_match: TextMatch | None = None
    erf_match: TextMatch | None = None
    portion_match: TextMatch | None = None
    section_number_match: TextMatch | None = None
    # Injected faults; none by default.
    faults: FaultConfig = field(default_factory=FaultConfig)

    def match_rule(self, number_field: NumberField) -> TextMatch:
        """Return how the criterion of `number_field` is matched."""
        own_rule: TextMatch | None = getattr(self, f"{number_field}_match")
        return own_rule if own_rule is not None else self.number_match
