"""Search index of a roll: hash lookups for list criteria and folded columns for text criteria.

Row positions refer to a roll's list in database order, and every position list is ascending,
so results come out in database order without sorting.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter

from durban_valuations.replica.config import TextMatch
from durban_valuations.replica.roll import Property, ReplicaRoll, RollName

TEXT_FIELDS: tuple[str, ...] = (
    "rate_number", "street_name", "street_number", "erf", "portion", "section_number",
)  # fmt: skip
# Separates the values of a column in its joined text; no generated value contains it.
SEPARATOR = "\x00"


@dataclass(slots=True)
class JoinedColumn:
    """A column's values joined into one string, SEPARATOR before each value.

    `starts[i]` is the offset of row i's separator, so one `str.find` pass over the text
    finds the rows that contain a needle, at C speed.
    """

    text: str
    starts: array[int]

    def rows_containing(self, needle: str) -> list[int]:
        """Return the ascending positions of the values that contain `needle`."""
        if SEPARATOR in needle:
            return []
        return self._rows_with(needle)

    def rows_starting_with(self, needle: str) -> list[int]:
        """Return the ascending positions of the values that start with `needle`."""
        if SEPARATOR in needle:
            return []
        # A value's start directly follows the separator before it.
        return self._rows_with(SEPARATOR + needle)

    def _rows_with(self, pattern: str) -> list[int]:
        rows: list[int] = []
        last_row = -1
        offset = self.text.find(pattern)
        while offset >= 0:
            row = bisect_right(self.starts, offset) - 1
            if row != last_row:
                rows.append(row)
                last_row = row
            # Continue after this row's value, since one hit per row is enough.
            next_start = self.starts[row + 1] if row + 1 < len(self.starts) else len(self.text)
            offset = self.text.find(pattern, max(offset + 1, next_start))
        return rows


def join_column(values: list[str]) -> JoinedColumn:
    """Join a column's values for substring and prefix scans."""
    starts = array("q")
    offset = 0
    for value in values:
        starts.append(offset)
        offset += len(value) + 1
    return JoinedColumn(text="".join(SEPARATOR + value for value in values), starts=starts)


@dataclass(slots=True)
class RollTable:
    """One roll's properties in database order, with casefolded copies of the text fields.

    The hash and joined forms of a column are built on the first search that needs them.
    """

    properties: list[Property]
    columns: dict[str, list[str]]
    by_volume: dict[str, list[int]]
    by_suburb: dict[str, list[int]]
    by_deeds_town: dict[str, list[int]]
    by_scheme: dict[str, list[int]]
    _exact: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    _joined: dict[str, JoinedColumn] = field(default_factory=dict)

    def positions_matching(
        self, positions: list[int] | None, column_name: str, mode: TextMatch, needle: str
    ) -> list[int]:
        """Return the positions (of all rows when `positions` is None) whose column matches.

        `needle` must already be casefolded.
        """
        column = self.columns[column_name]
        if positions is not None:
            if mode == "exact":
                return [position for position in positions if column[position] == needle]
            if mode == "prefix":
                return [position for position in positions if column[position].startswith(needle)]
            return [position for position in positions if needle in column[position]]
        if mode == "exact":
            return self._exact_index(column_name).get(needle, [])
        if mode == "prefix":
            return self._joined_column(column_name).rows_starting_with(needle)
        return self._joined_column(column_name).rows_containing(needle)

    def _exact_index(self, column_name: str) -> dict[str, list[int]]:
        if column_name not in self._exact:
            lookup: defaultdict[str, list[int]] = defaultdict(list)
            for position, value in enumerate(self.columns[column_name]):
                lookup[value].append(position)
            self._exact[column_name] = dict(lookup)
        return self._exact[column_name]

    def _joined_column(self, column_name: str) -> JoinedColumn:
        if column_name not in self._joined:
            self._joined[column_name] = join_column(self.columns[column_name])
        return self._joined[column_name]


@dataclass(slots=True)
class RollIndex:
    """Lookup tables over one ReplicaRoll: every property by PIN, and one table per roll."""

    roll: ReplicaRoll
    by_pin: dict[int, Property]
    tables: dict[RollName, RollTable]


def _folded(values: list[str]) -> list[str]:
    """Return the casefolded values; equal values share one string object."""
    if "".join(values).isdigit():
        # Digits fold to themselves, so a column of numbers is used as it is.
        return values
    folded = {value: value.casefold() for value in set(values)}
    return list(map(folded.__getitem__, values))


def _positions_by_key(keys: Sequence[str | None]) -> dict[str, list[int]]:
    """Map each non-empty key to its ascending positions."""
    positions: defaultdict[str, list[int]] = defaultdict(list)
    for position, key in enumerate(keys):
        if key:
            positions[key].append(position)
    return dict(positions)


def build_table(properties: list[Property]) -> RollTable:
    """Index one roll's properties by volume, suburb, deeds town and scheme, and fold its text."""

    def column(name: str) -> list[str]:
        values: list[str] = list(map(attrgetter(name), properties))
        return values

    scheme_names = column("scheme_name")
    return RollTable(
        properties=properties,
        columns={name: _folded(column(name)) for name in TEXT_FIELDS},
        by_volume=_positions_by_key(column("volume_no")),
        by_suburb=_positions_by_key(column("suburb_id")),
        by_deeds_town=_positions_by_key(column("deeds_town_id")),
        by_scheme=_positions_by_key(_folded(scheme_names)),
    )


def build_index(roll: ReplicaRoll) -> RollIndex:
    """Index a roll by PIN, and each of its two rolls by list criteria and text columns."""
    by_pin = {prop.pin: prop for prop in roll.full}
    by_pin.update((prop.pin, prop) for prop in roll.sectional)
    return RollIndex(
        roll=roll,
        by_pin=by_pin,
        tables={"full": build_table(roll.full), "sectional": build_table(roll.sectional)},
    )
