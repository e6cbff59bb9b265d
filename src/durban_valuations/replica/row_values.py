"""Owner names, amounts and profile fields for generated rows."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from decimal import Decimal

from durban_valuations.replica.vocabulary import (
    APOSTROPHE_SURNAMES,
    COMPANY_SUFFIXES,
    COMPANY_TRADES,
    COMPANY_WORDS,
    GOVERNMENT_CODES,
    INSTITUTIONAL_OWNERS,
)

MAX_MARKET_VALUE = 106_950_000
MIN_FULL_EXTENT = 25
MAX_FULL_EXTENT = 1_600_000

# Median market value (rand) and log-normal spread per rating category.
_VALUE_SHAPES: dict[str, tuple[float, float]] = {
    "Residential": (600_000, 0.8),
    "Vacant Land": (120_000, 1.0),
    "Business & Commercial": (3_500_000, 1.2),
    "Industrial": (9_000_000, 1.1),
    "Agricultural": (2_000_000, 1.0),
    "PSI": (400_000, 1.5),
}
# Median registered extent (m²) and log-normal spread per rating category.
_EXTENT_SHAPES: dict[str, tuple[float, float]] = {
    "Residential": (380, 0.7),
    "Vacant Land": (500, 1.0),
    "Business & Commercial": (2_500, 1.2),
    "Industrial": (6_000, 1.1),
    "Agricultural": (80_000, 1.3),
    "PSI": (3_000, 1.6),
}
# Words that mark an owner as an organisation rather than a natural person.
_COMPANY_MARKERS = (
    "CC", "LTD", "TRUST", "LIMITED", "MUNICIPAL", "GOVERNMENT", "BOARD", "COUNCIL", "AFFAIRS",
    "AGENCY", "CHURCH", "SCHOOL", "&", "'", "R S A",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PersonNames:
    """Surnames and given names to combine into natural persons' owner names."""

    surnames: list[str]
    given_names: list[str]


def collect_person_names(owner_names: list[str]) -> PersonNames:
    """Collect name parts from owner names shaped `SURNAME GIVEN [GIVEN]` (invented in the data)."""
    surnames: set[str] = set()
    given_names: set[str] = set()
    for name in owner_names:
        words = name.split()
        if not 2 <= len(words) <= 3 or any(marker in name for marker in _COMPANY_MARKERS):
            continue
        surnames.add(words[0])
        given_names.update(words[1:])
    return PersonNames(sorted(surnames), sorted(given_names))


def make_person(rng: random.Random, names: PersonNames, surname: str | None = None) -> str:
    """Make a natural person's name, `SURNAME GIVEN [GIVEN]`."""
    if surname is None:
        surname = (
            rng.choice(APOSTROPHE_SURNAMES) if rng.random() < 0.01 else rng.choice(names.surnames)
        )
    given_part = rng.choice(names.given_names)
    if rng.random() < 0.4:
        given_part = f"{given_part} {rng.choice(names.given_names)}"
    return f"{surname} {given_part}"


def make_company(rng: random.Random, names: PersonNames) -> str:
    """Make a company or trust name, some with `&` or an apostrophe."""
    draw = rng.random()
    if draw < 0.15:
        return f"{rng.choice(names.surnames)}'S {rng.choice(COMPANY_TRADES)} CC"
    if draw < 0.30:
        first, second = rng.choice(names.surnames), rng.choice(names.surnames)
        return f"{first} & {second} {rng.choice(COMPANY_TRADES)} {rng.choice(COMPANY_SUFFIXES)}"
    if draw < 0.45:
        return f"{rng.choice(names.surnames)} FAMILY TRUST"
    number = f" {rng.randint(1, 999)}" if rng.random() < 0.3 else ""
    word = rng.choice(COMPANY_WORDS)
    return f"{word} {rng.choice(COMPANY_TRADES)}{number} {rng.choice(COMPANY_SUFFIXES)}"


def make_owners(rng: random.Random, names: PersonNames, rating_category: str) -> tuple[str, ...]:
    """Make 1 to 3 owner names; the first is the row's first owner."""
    draw = rng.random()
    if rating_category == "PSI" or draw < 0.05:
        return (rng.choice(INSTITUTIONAL_OWNERS),)
    if rating_category != "Residential" or draw < 0.15:
        return (make_company(rng, names),)
    count = rng.choices((1, 2, 3), weights=(70, 25, 5))[0]
    first = make_person(rng, names)
    shared_surname = first.split()[0]
    others = [make_person(rng, names, shared_surname if rng.random() < 0.7 else None)]
    others.append(make_person(rng, names))
    return (first, *others[: count - 1])


def _round_value(value: float) -> int:
    step = 10_000 if value >= 100_000 else 1_000
    return int(round(value / step) * step)


def make_market_value(rng: random.Random, rating_category: str) -> int:
    """Make a market value in rand, rounded like the roll; PSI roads and quays are often 0."""
    if rating_category == "PSI" and rng.random() < 0.5:
        return 0
    median, spread = _VALUE_SHAPES.get(rating_category, (1_000_000, 1.0))
    value = median * math.exp(rng.gauss(0.0, spread))
    return min(max(_round_value(value), 1_000), MAX_MARKET_VALUE)


def _add_fraction(rng: random.Random, whole: int) -> Decimal:
    return Decimal(whole) + Decimal(rng.choice(("0.5", "0.25", "0.75", "0.1", "0.05")))


def make_full_extent(rng: random.Random, rating_category: str) -> Decimal:
    """Make a full-title registered extent in m²: mostly whole numbers, rarely 0."""
    if rng.random() < 0.002:
        return Decimal(0)
    median, spread = _EXTENT_SHAPES.get(rating_category, (1_000, 1.0))
    whole = int(median * math.exp(rng.gauss(0.0, spread)))
    whole = min(max(whole, MIN_FULL_EXTENT), MAX_FULL_EXTENT - 1)
    return _add_fraction(rng, whole) if rng.random() < 0.04 else Decimal(whole)


def make_unit_extent(rng: random.Random) -> Decimal:
    """Make a sectional unit floor area in m², 20 to 400."""
    whole = min(max(int(90 * math.exp(rng.gauss(0.0, 0.5))), 20), 399)
    return _add_fraction(rng, whole) if rng.random() < 0.1 else Decimal(whole)


@dataclass(frozen=True, slots=True)
class ProfileFields:
    """The details-page fields that the result table does not show."""

    government_code: str
    exemptions: str
    rebates: str
    phasing_in: str
    exclusions: str
    sra_code: str
    property_type: str


def make_profile_fields(
    rng: random.Random, first_owner: str, rating_category: str, is_sectional: bool
) -> ProfileFields:
    """Make profile fields.

    NOTE: the live value formats of these fields are unknown; Y/N flags, `SRA nn` codes and
    `National`/`Provincial`/`Municipal` government codes are this replica's assumption.
    """
    exempt = rating_category in {"PSI", "State Trust Land"} or rng.random() < 0.02
    return ProfileFields(
        government_code=GOVERNMENT_CODES.get(first_owner, ""),
        exemptions="Y" if exempt else "N",
        rebates="Pensioner" if rating_category == "Residential" and rng.random() < 0.05 else "",
        phasing_in="Y" if rng.random() < 0.02 else "N",
        exclusions="Y" if rating_category == "PSI" else "N",
        sra_code=f"SRA {rng.randint(1, 12):02d}" if rng.random() < 0.08 else "",
        property_type="Sectional Title" if is_sectional else "Full Title",
    )


class RateNumbers:
    """Draws 8-digit rate numbers that are unique within one roll."""

    def __init__(self, rng: random.Random, used: set[str]) -> None:
        self._rng = rng
        self.used = used

    def draw(self) -> str:
        """Return a new rate number with leading zeros, not used before in this roll."""
        while True:
            candidate = f"{self._rng.randrange(100_000_000):08d}"
            if candidate not in self.used:
                self.used.add(candidate)
                return candidate
