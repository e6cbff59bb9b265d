"""Changes to a roll between two scrapes, and the ground truth of what changed."""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal
from typing import Literal, NamedTuple

from durban_valuations.replica.generate import PIN_RANGE
from durban_valuations.replica.realrows import load_real_rows
from durban_valuations.replica.roll import Property, ReplicaRoll
from durban_valuations.replica.row_values import (
    MAX_FULL_EXTENT,
    MAX_MARKET_VALUE,
    MIN_FULL_EXTENT,
    PersonNames,
    RateNumbers,
    collect_person_names,
    make_full_extent,
    make_market_value,
    make_owners,
    make_profile_fields,
    make_unit_extent,
)

ChangeKind = Literal[
    "market_value", "first_owner", "owners", "use_code", "rating_category", "registered_extent",
    "new", "removed",
]  # fmt: skip
# The fields describe_changes compares, in the order it reports them.
TRACKED_FIELDS: tuple[ChangeKind, ...] = (
    "market_value", "first_owner", "owners", "use_code", "rating_category", "registered_extent",
)  # fmt: skip
ChangeValue = int | str | Decimal | tuple[str, ...] | Property


class PropertyChange(NamedTuple):
    """One change between two rolls.

    For a tracked field, `old` and `new` are the field's values. For "new" `old` is None and
    `new` the added Property; for "removed" `old` is the removed Property and `new` is None.
    """

    pin: int
    kind: ChangeKind
    old: ChangeValue | None
    new: ChangeValue | None


def mutate_roll(
    roll: ReplicaRoll,
    seed: int,
    *,
    changed_values: int = 0,
    changed_owners: int = 0,
    new_properties: int = 0,
    removed_properties: int = 0,
    changed_use_codes: int = 0,
    changed_extents: int = 0,
) -> ReplicaRoll:
    """Return a copy of `roll` with exactly the given numbers of changed properties.

    Each count picks different existing properties, so no property changes twice. A changed
    owner replaces the whole owners list and its first owner. A changed use code may change
    the rating category too (and FType with it), because each use code belongs to a category.
    New properties get unused PINs and rate numbers and land at random places in database
    order; removed ones disappear from every search and details page. Unchanged properties
    are shared with `roll`, which stays as it was. The result is the same for the same seed.

    Raises ValueError for a negative count or more changes than the roll has properties.
    """
    counts = {
        "removed": removed_properties,
        "market_value": changed_values,
        "first_owner": changed_owners,
        "use_code": changed_use_codes,
        "registered_extent": changed_extents,
    }
    if min(*counts.values(), new_properties) < 0:
        raise ValueError(f"change counts must not be negative, got {counts} and {new_properties}")
    existing = roll.all_properties()
    if sum(counts.values()) > len(existing):
        raise ValueError(
            f"{sum(counts.values())} changed properties requested, but the roll has only "
            f"{len(existing)}"
        )

    rng = random.Random(seed)
    names = collect_person_names([row.first_owner for row in load_real_rows()])
    chosen = iter(rng.sample(existing, sum(counts.values())))
    removed_pins = {next(chosen).pin for _ in range(removed_properties)}
    replacements: dict[int, Property] = {}
    for _ in range(changed_values):
        prop = next(chosen)
        replacements[prop.pin] = replace(prop, market_value=_new_market_value(rng, prop))
    for _ in range(changed_owners):
        prop = next(chosen)
        owners = _new_owners(rng, names, prop)
        replacements[prop.pin] = replace(prop, owners=owners, first_owner=owners[0])
    use_codes = _use_codes_by_roll(roll)
    for _ in range(changed_use_codes):
        prop = next(chosen)
        use_code, category = rng.choice(
            [pair for pair in use_codes[prop.roll] if pair[0] != prop.use_code]
        )
        replacements[prop.pin] = replace(
            prop, use_code=use_code, rating_category=category, ftype=_ftype(category)
        )
    for _ in range(changed_extents):
        prop = next(chosen)
        replacements[prop.pin] = replace(prop, registered_extent=_new_extent(rng, prop))

    full = [replacements.get(p.pin, p) for p in roll.full if p.pin not in removed_pins]
    sectional = [replacements.get(p.pin, p) for p in roll.sectional if p.pin not in removed_pins]
    _add_properties(rng, names, full, sectional, {p.pin for p in existing}, new_properties)
    return ReplicaRoll(
        volumes=list(roll.volumes),
        suburbs=list(roll.suburbs),
        deeds_towns=list(roll.deeds_towns),
        schemes=list(roll.schemes),
        full=full,
        sectional=sectional,
    )


def describe_changes(old: ReplicaRoll, new: ReplicaRoll) -> list[PropertyChange]:
    """Return every difference between two rolls, sorted by PIN and then TRACKED_FIELDS order.

    Properties are matched by PIN. Fields outside TRACKED_FIELDS (FType, for one) are not
    compared.
    """
    old_by_pin = {prop.pin: prop for prop in old.all_properties()}
    new_by_pin = {prop.pin: prop for prop in new.all_properties()}
    changes: list[PropertyChange] = []
    for pin in sorted(old_by_pin.keys() | new_by_pin.keys()):
        before, after = old_by_pin.get(pin), new_by_pin.get(pin)
        if before is None:
            changes.append(PropertyChange(pin, "new", None, after))
        elif after is None:
            changes.append(PropertyChange(pin, "removed", before, None))
        elif before is not after:
            for kind in TRACKED_FIELDS:
                old_value, new_value = getattr(before, kind), getattr(after, kind)
                if old_value != new_value:
                    changes.append(PropertyChange(pin, kind, old_value, new_value))
    return changes


def _ftype(rating_category: str) -> str:
    return "1" if rating_category == "Residential" else "2"


def _round_rand(value: float) -> int:
    step = 10_000 if value >= 100_000 else 1_000
    return min(max(round(value / step) * step, 1_000), MAX_MARKET_VALUE)


def _new_market_value(rng: random.Random, prop: Property) -> int:
    """Return a revalued market value, different from the old one."""
    while True:
        if prop.market_value == 0:
            value = make_market_value(rng, prop.rating_category)
        else:
            value = _round_rand(prop.market_value * rng.uniform(0.6, 1.5))
        if value != prop.market_value:
            return value


def _new_owners(rng: random.Random, names: PersonNames, prop: Property) -> tuple[str, ...]:
    """Return a new owners list whose first owner differs from the old one."""
    while True:
        owners = make_owners(rng, names, prop.rating_category)
        if owners[0] != prop.first_owner:
            return owners


def _new_extent(rng: random.Random, prop: Property) -> Decimal:
    """Return a re-surveyed extent in m², different from the old one."""
    sectional = prop.roll == "sectional"
    low, high = (20, 399) if sectional else (MIN_FULL_EXTENT, MAX_FULL_EXTENT - 1)
    while True:
        if prop.registered_extent == 0:
            extent = (
                make_unit_extent(rng) if sectional else make_full_extent(rng, prop.rating_category)
            )
        else:
            scaled = int(prop.registered_extent * Decimal(rng.uniform(0.7, 1.3)))
            extent = Decimal(min(max(scaled, low), high))
        if extent != prop.registered_extent:
            return extent


def _use_codes_by_roll(roll: ReplicaRoll) -> dict[str, list[tuple[str, str]]]:
    """Return each roll's distinct (use code, rating category) pairs, sorted."""
    return {
        "full": sorted({(p.use_code, p.rating_category) for p in roll.full}),
        "sectional": sorted({(p.use_code, p.rating_category) for p in roll.sectional}),
    }


def _add_properties(
    rng: random.Random,
    names: PersonNames,
    full: list[Property],
    sectional: list[Property],
    used_pins: set[int],
    count: int,
) -> None:
    """Insert `count` new properties into `full` and `sectional` at random positions.

    A new full-title property is a new ERF in the place of a random existing one. A new
    sectional unit is the next section of a random existing scheme.
    """
    full_rate_numbers = RateNumbers(rng, {p.rate_number for p in full})
    sectional_rate_numbers = RateNumbers(rng, {p.rate_number for p in sectional})
    sectional_share = len(sectional) / max(len(full) + len(sectional), 1)
    for _ in range(count):
        pin = rng.choice(PIN_RANGE)
        while pin in used_pins:
            pin = rng.choice(PIN_RANGE)
        used_pins.add(pin)
        if sectional and rng.random() < sectional_share:
            unit = _new_section(rng, names, rng.choice(sectional), sectional, pin)
            new_prop = replace(unit, rate_number=sectional_rate_numbers.draw())
            sectional.insert(rng.randint(0, len(sectional)), new_prop)
        elif full:
            template = rng.choice(full)
            new_prop = _new_erf(rng, names, template, pin, full_rate_numbers.draw())
            full.insert(rng.randint(0, len(full)), new_prop)
        else:
            raise ValueError("cannot add properties to an empty roll")


def _new_erf(
    rng: random.Random, names: PersonNames, template: Property, pin: int, rate_number: str
) -> Property:
    # Generated ERF numbers run up to 40,000, so a new ERF rarely repeats an existing one.
    erf = str(rng.randint(40_001, 60_000))
    owners = make_owners(rng, names, template.rating_category)
    street_number = str(rng.randint(1, 999))
    address = template.address
    if template.street_name:
        address = f"{street_number} {template.street_name}, {template.suburb_name}"
    profile = make_profile_fields(rng, owners[0], template.rating_category, is_sectional=False)
    return replace(
        template,
        pin=pin,
        rate_number=rate_number,
        address=address,
        street_number=street_number if template.street_name else "",
        legal_description=f"ERF {erf} of {template.deeds_town}",
        erf=erf,
        portion="",
        is_remainder=False,
        first_owner=owners[0],
        owners=owners,
        market_value=make_market_value(rng, template.rating_category),
        registered_extent=make_full_extent(rng, template.rating_category),
        government_code=profile.government_code,
        exemptions=profile.exemptions,
        rebates=profile.rebates,
        phasing_in=profile.phasing_in,
        exclusions=profile.exclusions,
        sra_code=profile.sra_code,
        is_real=False,
    )


def _new_section(
    rng: random.Random,
    names: PersonNames,
    template: Property,
    sectional: list[Property],
    pin: int,
) -> Property:
    scheme_sections = [
        int(p.section_number)
        for p in sectional
        if p.scheme_name == template.scheme_name and p.section_number.isdigit()
    ]
    section = str(max(scheme_sections, default=0) + 1)
    owners = make_owners(rng, names, template.rating_category)
    profile = make_profile_fields(rng, owners[0], template.rating_category, is_sectional=True)
    return replace(
        template,
        pin=pin,
        legal_description=f"Section {section} of {template.scheme_name}",
        section_number=section,
        first_owner=owners[0],
        owners=owners,
        market_value=make_market_value(rng, template.rating_category),
        registered_extent=make_unit_extent(rng),
        government_code=profile.government_code,
        exemptions=profile.exemptions,
        rebates=profile.rebates,
        phasing_in=profile.phasing_in,
        exclusions=profile.exclusions,
        sra_code=profile.sra_code,
        is_real=False,
    )
