"""Search semantics of SearchResult.aspx over an indexed roll."""

from __future__ import annotations

from dataclasses import dataclass

from durban_valuations.replica.aspnet import ValueCollection
from durban_valuations.replica.config import NumberField, ReplicaConfig, TextMatch
from durban_valuations.replica.errors import null_reference
from durban_valuations.replica.index import RollIndex, RollTable
from durban_valuations.replica.roll import Property, RollName

SEARCH_PARAMETERS: tuple[str, ...] = (
    "Roll", "VolumeNo", "RateNumber", "StreetNo", "StreetName", "Suburb", "ERF", "Portion",
    "DeedsTown", "SchemeName", "SectionNumber", "All",
)  # fmt: skip
ROLL_NAMES: dict[str, RollName] = {"1": "full", "2": "sectional"}


@dataclass(frozen=True, slots=True)
class SearchCriteria:
    """The 12 query parameters of one search, outer spaces stripped."""

    roll: str
    volume_no: str
    rate_number: str
    street_no: str
    street_name: str
    suburb: str
    erf: str
    portion: str
    deeds_town: str
    scheme_name: str
    section_number: str
    whole_scheme: bool

    def is_empty(self) -> bool:
        """Return True when no criterion besides the roll is given."""
        return not any(
            (self.volume_no, self.rate_number, self.street_no, self.street_name, self.suburb,
             self.erf, self.portion, self.deeds_town, self.scheme_name, self.section_number)
        )  # fmt: skip


def read_criteria(query: ValueCollection) -> SearchCriteria:
    """Read the 12 parameters by name (case-insensitively).

    Raises the page's NullReferenceException error when one is missing.
    """
    values: list[str] = []
    for name in SEARCH_PARAMETERS:
        value = query.get(name)
        if value is None:
            raise null_reference("ETH_GV.FramePages.SearchResult")
        values.append(value.strip())
    (roll, volume_no, rate_number, street_no, street_name, suburb, erf, portion, deeds_town,
     scheme_name, section_number, whole_scheme) = values  # fmt: skip
    return SearchCriteria(
        roll=roll,
        volume_no=volume_no,
        rate_number=rate_number,
        street_no=street_no,
        street_name=street_name,
        suburb=suburb,
        erf=erf,
        portion=portion,
        deeds_town=deeds_town,
        scheme_name=scheme_name,
        section_number=section_number,
        whole_scheme=whole_scheme.casefold() == "true",
    )


def search(index: RollIndex, criteria: SearchCriteria, config: ReplicaConfig) -> list[Property]:
    """Return the matching properties in database order, at most `config.max_results` of them."""
    return cap_results(find_matches(index, criteria, config), config)


def find_matches(
    index: RollIndex, criteria: SearchCriteria, config: ReplicaConfig
) -> list[Property]:
    """Return every matching property in database order, ignoring `config.max_results`.

    Roll 1 searches the full-title roll and 2 the sectional roll; any other Roll matches
    nothing. RateNumber matches a substring; the other rules follow `config`.
    """
    roll_name = ROLL_NAMES.get(criteria.roll)
    if roll_name is None:
        return []
    table = index.tables[roll_name]
    if criteria.is_empty():
        return list(table.properties) if config.empty_search == "all" else []

    positions = _narrowest_positions(table, criteria)
    text_checks: list[tuple[str, TextMatch, str]] = []
    if criteria.street_name:
        text_checks.append(("street_name", config.street_name_match, criteria.street_name))
    number_criteria: list[tuple[NumberField, str]] = [
        ("street_number", criteria.street_no),
        ("erf", criteria.erf),
        ("portion", criteria.portion),
    ]
    if not criteria.whole_scheme:
        number_criteria.append(("section_number", criteria.section_number))
    for number_field, needle in number_criteria:
        if needle:
            text_checks.append((number_field, config.match_rule(number_field), needle))
    # Exact rules use a hash lookup, so they go first and leave fewer rows for the scans.
    text_checks.sort(key=lambda check: check[1] != "exact")

    # RateNumber matches a substring; the live `534` search proved it.
    if criteria.rate_number:
        text_checks.append(("rate_number", "contains", criteria.rate_number))
    for column_name, mode, needle in text_checks:
        positions = table.positions_matching(positions, column_name, mode, needle.casefold())
    if positions is None:
        return list(table.properties)
    properties = table.properties
    return [properties[position] for position in positions]


def _narrowest_positions(table: RollTable, criteria: SearchCriteria) -> list[int] | None:
    """Intersect the hashed criteria (volume, suburb, deeds town, scheme), smallest list first.

    Returns None when none of them is given, meaning every row.
    """
    lists: list[list[int]] = []
    if criteria.volume_no:
        lists.append(table.by_volume.get(criteria.volume_no, []))
    if criteria.suburb:
        lists.append(table.by_suburb.get(criteria.suburb, []))
    if criteria.deeds_town:
        lists.append(table.by_deeds_town.get(criteria.deeds_town, []))
    if criteria.scheme_name:
        lists.append(table.by_scheme.get(criteria.scheme_name.casefold(), []))
    if not lists:
        return None
    lists.sort(key=len)
    smallest, others = lists[0], lists[1:]
    other_sets = [set(other) for other in others]
    return [position for position in smallest if all(position in other for other in other_sets)]


def cap_results(properties: list[Property], config: ReplicaConfig) -> list[Property]:
    """Return the first `config.max_results` properties, or all of them without a cap."""
    if config.max_results is None:
        return properties
    return properties[: config.max_results]
