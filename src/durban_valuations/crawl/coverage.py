"""The coverage report of a crawl: what was searched, split, found and missed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from durban_valuations.crawl.planner import Dimension
from durban_valuations.site.models import Roll


@dataclass(slots=True)
class FailedSearch:
    """A search that still failed after the client's retries."""

    search: str
    dimension: str
    error: str


@dataclass(slots=True)
class RollCoverage:
    """Counts of one roll's crawl. The roll is covered only when `failed` is empty."""

    roll: Roll
    dimensions: list[Dimension]
    searches: int = 0
    splits: int = 0
    rows_seen: int = 0
    new_properties: int = 0
    failed: list[FailedSearch] = field(default_factory=list)
    pins_by_dimension: dict[Dimension, set[int]] = field(default_factory=dict)

    @property
    def properties(self) -> int:
        """Distinct properties (PINs) found along any dimension."""
        found: set[int] = set()
        for pins in self.pins_by_dimension.values():
            found |= pins
        return len(found)

    def only_in(self, dimension: Dimension) -> int:
        """Properties found along `dimension` and along no other."""
        own = self.pins_by_dimension.get(dimension, set())
        others: set[int] = set()
        for other, pins in self.pins_by_dimension.items():
            if other is not dimension:
                others |= pins
        return len(own - others)

    def to_report(self) -> dict[str, Any]:
        """Return the JSON-ready summary stored with the run and printed by the CLI."""
        return {
            "roll": self.roll.value,
            "dimensions": [dimension.value for dimension in self.dimensions],
            "searches": self.searches,
            "splits": self.splits,
            "rows_seen": self.rows_seen,
            "properties": self.properties,
            "properties_by_dimension": {
                dimension.value: len(pins) for dimension, pins in self.pins_by_dimension.items()
            },
            "properties_only_in": {
                dimension.value: self.only_in(dimension) for dimension in self.pins_by_dimension
            },
            "failed_searches": [
                {"search": failure.search, "dimension": failure.dimension, "error": failure.error}
                for failure in self.failed
            ],
        }
