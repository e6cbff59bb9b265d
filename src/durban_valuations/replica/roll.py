"""The replica's data: the option lists of the criteria pages and the properties of both rolls."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from typing import Literal

RollName = Literal["full", "sectional"]

VOLUME_NUMBERS: tuple[str, ...] = tuple(f"{number:02d}" for number in range(1, 90))


@dataclass(frozen=True, slots=True)
class ListOption:
    """One option of a criteria page select: the submitted value and the visible text."""

    value: str
    text: str


@dataclass(slots=True)
class Property:
    """One property of the roll, with every value as the site stores or prints it.

    Text fields hold the printed text (empty string when the site prints nothing).
    `market_value` is in rand and `registered_extent` in square metres; the site
    prints 0 as an empty cell.
    """

    pin: int
    roll: RollName
    ptype: str
    ftype: str
    rate_number: str
    volume_no: str
    suburb_id: str | None
    address: str
    street_number: str
    street_name: str
    suburb_name: str
    legal_description: str
    erf: str
    portion: str
    is_remainder: bool
    deeds_town_id: str | None
    deeds_town: str
    first_owner: str
    owners: tuple[str, ...]
    use_code: str
    rating_category: str
    market_value: int
    registered_extent: Decimal
    government_code: str = ""
    exemptions: str = ""
    rebates: str = ""
    phasing_in: str = ""
    exclusions: str = ""
    sra_code: str = ""
    property_type: str = ""
    section_number: str = ""
    scheme_name: str = ""
    scheme_number: str = ""
    is_real: bool = False


@dataclass(slots=True)
class ReplicaRoll:
    """The option lists and the properties of both rolls.

    `full` and `sectional` are in the fixed "database order" the result page lists
    rows in: shuffled, not sorted by rate number or description.
    """

    volumes: list[ListOption]
    suburbs: list[ListOption]
    deeds_towns: list[ListOption]
    schemes: list[ListOption]
    full: list[Property] = field(default_factory=list)
    sectional: list[Property] = field(default_factory=list)

    def all_properties(self) -> list[Property]:
        """Return the properties of both rolls, full title first."""
        return self.full + self.sectional


def read_data_file(name: str) -> list[dict[str, str]]:
    """Read one CSV file of the package's data folder into a list of rows."""
    text = resources.files("durban_valuations.replica").joinpath("data", name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


def load_suburb_options() -> list[ListOption]:
    """Load the suburb options in page order, duplicates and junk entries included."""
    return [ListOption(row["id"], row["name"]) for row in read_data_file("suburbs.csv")]


def load_scheme_names() -> list[str]:
    """Load the sectional scheme names in page order."""
    return [row["name"] for row in read_data_file("schemes.csv")]


def volume_options() -> list[ListOption]:
    """Return the volume options `01` to `89`, the value equal to the text."""
    return [ListOption(number, number) for number in VOLUME_NUMBERS]
