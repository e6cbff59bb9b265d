"""Settings of the replica for what the live site's behaviour leaves open."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TextMatch = Literal["contains", "prefix", "exact"]
EmptySearch = Literal["no_match", "all"]


@dataclass(frozen=True, slots=True)
class ReplicaConfig:
    """Replica behaviour where the live site's rules are unknown; defaults follow the best evidence.

    Text criteria are compared case-insensitively after stripping outer spaces.
    """

    # Maximum data rows on one result page; None returns every match (the live site returned
    # more than 1,000 rows). The warning row appears at 1,000 matches either way.
    max_results: int | None = None
    # How StreetName is matched against the street name.
    street_name_match: TextMatch = "contains"
    # How StreetNo, ERF, Portion and SectionNumber are matched.
    number_match: TextMatch = "exact"
    # Result of a search with every criterion empty (the site's own script never sends one).
    empty_search: EmptySearch = "no_match"
    # Return HTTP 500 for an unknown PIN on the details page instead of an empty profile.
    unknown_pin_error: bool = False
    # First option of drpDeedsTown; its text is not in the site's source.
    deeds_town_placeholder: str = "[--Select Deeds Town--]"
    # Key of the HMAC-SHA256 that signs SearchType's __VIEWSTATE and __EVENTVALIDATION.
    viewstate_key: bytes = b"durban-valuations replica machine key"
