"""Search semantics of SearchResult.aspx over an indexed roll."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from durban_valuations.replica.aspnet import ValueCollection
from durban_valuations.replica.config import ReplicaConfig, TextMatch
from durban_valuations.replica.errors import null_reference
from durban_valuations.replica.roll import Property, ReplicaRoll

SEARCH_PARAMETERS: tuple[str, ...] = (
    "Roll", "VolumeNo", "RateNumber", "StreetNo", "StreetName", "Suburb", "ERF", "Portion",
    "DeedsTown", "SchemeName", "SectionNumber", "All",
)  # fmt: skip
ROLL_NAMES = {"1": "full", "2": "sectional"}


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


@dataclass(slots=True)
class RollIndex:
    """Lookup tables over one ReplicaRoll; every list keeps the roll's database order."""

    roll: ReplicaRoll
    by_pin: dict[int, Property]
    by_roll: dict[str, list[Property]]
    by_suburb: dict[tuple[str, str], list[Property]]
    by_volume: dict[tuple[str, str], list[Property]]
    by_deeds_town: dict[tuple[str, str], list[Property]]
    by_scheme: dict[tuple[str, str], list[Property]]


def build_index(roll: ReplicaRoll) -> RollIndex:
    """Index a roll by PIN, roll, suburb id, volume, deeds-town id and folded scheme name."""
    index = RollIndex(
        roll=roll,
        by_pin={},
        by_roll={"full": roll.full, "sectional": roll.sectional},
        by_suburb=defaultdict(list),
        by_volume=defaultdict(list),
        by_deeds_town=defaultdict(list),
        by_scheme=defaultdict(list),
    )
    for prop in roll.all_properties():
        index.by_pin[prop.pin] = prop
        index.by_volume[prop.roll, prop.volume_no].append(prop)
        if prop.suburb_id is not None:
            index.by_suburb[prop.roll, prop.suburb_id].append(prop)
        if prop.deeds_town_id is not None:
            index.by_deeds_town[prop.roll, prop.deeds_town_id].append(prop)
        if prop.scheme_name:
            index.by_scheme[prop.roll, prop.scheme_name.casefold()].append(prop)
    return index


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


def _matcher(mode: TextMatch, needle: str) -> Callable[[str], bool]:
    folded = needle.casefold()
    if mode == "exact":
        return lambda value: value.casefold() == folded
    if mode == "prefix":
        return lambda value: value.casefold().startswith(folded)
    return lambda value: folded in value.casefold()


def search(index: RollIndex, criteria: SearchCriteria, config: ReplicaConfig) -> list[Property]:
    """Return the matching properties in database order, at most `config.max_results` of them.

    Roll 1 searches the full-title roll and 2 the sectional roll; any other Roll matches
    nothing. RateNumber matches a substring (the live `534` search proved it); the other
    rules follow `config`.
    """
    roll_name = ROLL_NAMES.get(criteria.roll)
    if roll_name is None:
        return []
    if criteria.is_empty():
        everything = index.by_roll[roll_name] if config.empty_search == "all" else []
        return _cap(everything, config)

    candidates = _narrowest_candidates(index, roll_name, criteria)
    checks: list[Callable[[Property], bool]] = []
    if criteria.rate_number:
        rate_needle = criteria.rate_number
        checks.append(lambda prop: rate_needle in prop.rate_number)
    if criteria.street_name:
        street_matches = _matcher(config.street_name_match, criteria.street_name)
        checks.append(lambda prop: street_matches(prop.street_name))
    number_fields: list[tuple[str, Callable[[Property], str]]] = [
        (criteria.street_no, lambda prop: prop.street_number),
        (criteria.erf, lambda prop: prop.erf),
        (criteria.portion, lambda prop: prop.portion),
    ]
    if not criteria.whole_scheme:
        number_fields.append((criteria.section_number, lambda prop: prop.section_number))
    for needle, field_of in number_fields:
        if needle:
            checks.append(_field_check(_matcher(config.number_match, needle), field_of))

    matches = [prop for prop in candidates if all(check(prop) for check in checks)]
    return _cap(matches, config)


def _field_check(
    matches: Callable[[str], bool], field_of: Callable[[Property], str]
) -> Callable[[Property], bool]:
    return lambda prop: matches(field_of(prop))


def _narrowest_candidates(
    index: RollIndex, roll_name: str, criteria: SearchCriteria
) -> list[Property]:
    """Intersect the indexed criteria (volume, suburb, deeds town, scheme), smallest list first."""
    lists: list[list[Property]] = []
    if criteria.volume_no:
        lists.append(index.by_volume.get((roll_name, criteria.volume_no), []))
    if criteria.suburb:
        lists.append(index.by_suburb.get((roll_name, criteria.suburb), []))
    if criteria.deeds_town:
        lists.append(index.by_deeds_town.get((roll_name, criteria.deeds_town), []))
    if criteria.scheme_name:
        lists.append(index.by_scheme.get((roll_name, criteria.scheme_name.casefold()), []))
    if not lists:
        return index.by_roll[roll_name]
    lists.sort(key=len)
    smallest, others = lists[0], lists[1:]
    if not others:
        return smallest
    other_pins = [{prop.pin for prop in other} for other in others]
    return [prop for prop in smallest if all(prop.pin in pins for pins in other_pins)]


def _cap(properties: list[Property], config: ReplicaConfig) -> list[Property]:
    if config.max_results is None:
        return properties
    return properties[: config.max_results]
