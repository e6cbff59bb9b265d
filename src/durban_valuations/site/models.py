"""Shapes of what the site's pages contain, as text exactly as the site prints it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Roll(enum.StrEnum):
    """The two rolls the site searches: its `Roll` query parameter is 1 or 2."""

    FULL = "full"
    SECTIONAL = "sectional"

    @property
    def site_value(self) -> str:
        """Value of the `Roll` query parameter for this roll."""
        return "1" if self is Roll.FULL else "2"

    @property
    def criteria_page(self) -> str:
        """Path of the criteria page that lists this roll's search options."""
        return (
            "/FramePages/SearchCrit.aspx" if self is Roll.FULL else "/FramePages/SearchCrit2.aspx"
        )


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """One search of the result page; empty strings are criteria left blank."""

    roll: Roll
    volume_no: str = ""
    rate_number: str = ""
    street_no: str = ""
    street_name: str = ""
    suburb: str = ""
    erf: str = ""
    portion: str = ""
    deeds_town: str = ""
    scheme_name: str = ""
    section_number: str = ""
    whole_scheme: bool = False

    def to_params(self) -> list[tuple[str, str]]:
        """Return the 12 query parameters in the order the site's own script sends them."""
        return [
            ("Roll", self.roll.site_value),
            ("VolumeNo", self.volume_no),
            ("RateNumber", self.rate_number),
            ("StreetNo", self.street_no),
            ("StreetName", self.street_name),
            ("Suburb", self.suburb),
            ("ERF", self.erf),
            ("Portion", self.portion),
            ("DeedsTown", self.deeds_town),
            ("SchemeName", self.scheme_name),
            ("SectionNumber", self.section_number),
            ("All", "true" if self.whole_scheme else "false"),
        ]

    def describe(self) -> str:
        """Return a short label of the non-empty criteria, for logs and reports."""
        parts = [f"roll={self.roll.value}"]
        parts += [f"{name}={value}" for name, value in self.to_params()[1:-1] if value]
        if self.whole_scheme:
            parts.append("All=true")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Option:
    """One `<option>` of a criteria page select: its submitted value and its visible text."""

    value: str
    text: str


@dataclass(frozen=True, slots=True)
class CriteriaOptions:
    """The option lists of one criteria page, placeholders left out."""

    roll: Roll
    volumes: list[Option]
    suburbs: list[Option]
    deeds_towns: list[Option] = field(default_factory=list)
    schemes: list[Option] = field(default_factory=list)


# Not frozen, because a frozen dataclass sets each field through object.__setattr__, which made
# building the rows of a 1,000-row page cost about 1.3 ms instead of 0.2 ms. Rows compare
# equal by value but are not hashable.
@dataclass(slots=True)
class ResultRow:
    """One data row of the result table, each cell stripped of outer whitespace only."""

    pin: int
    ptype: str
    ftype: str
    details_href: str
    rate_number: str
    legal_description: str
    address: str
    first_owner: str
    use_code: str
    rating_category: str
    market_value: str
    registered_extent: str


@dataclass(frozen=True, slots=True)
class ResultPage:
    """A parsed result page: the caption's count, the warning row and the data rows."""

    total: int
    has_warning: bool
    rows: list[ResultRow]


@dataclass(frozen=True, slots=True)
class PropertyDetails:
    """The property profile of the details page, values as printed (empty string when blank)."""

    roll: Roll
    rate_number: str
    property_description: str
    address: str
    registered_extent: str
    market_value: str
    use_code: str
    rating_category: str
    government_code: str
    exemptions: str
    rebates: str
    phasing_in: str
    exclusions: str
    sra_code: str
    owners: list[str]
    erf: str = ""
    deeds_town: str = ""
    property_type: str = ""
    section_number: str = ""
    scheme_name: str = ""
    scheme_number: str = ""
