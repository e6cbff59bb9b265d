"""Generate the sectional-title roll: schemes of sections that share volume, suburb and address."""

from __future__ import annotations

import random
from collections.abc import Iterator

from durban_valuations.replica.places import Place, pick_street, skewed_weights
from durban_valuations.replica.roll import Property
from durban_valuations.replica.row_values import (
    PersonNames,
    RateNumbers,
    make_market_value,
    make_owners,
    make_profile_fields,
    make_unit_extent,
)
from durban_valuations.replica.vocabulary import SECTIONAL_USE_CODES

LARGE_SECTIONAL_SUBURBS = 5
MEAN_SECTIONS_PER_SCHEME = 12
MAX_SCHEME_WEIGHT = 40.0
UNLISTED_SHARE = 0.03
# The real roll repeats some rate numbers across its two rolls.
SHARED_RATE_NUMBER_SHARE = 0.01


def scheme_sizes(rng: random.Random, units: int, schemes: int) -> list[int]:
    """Split `units` sections over `schemes` schemes, at least one each, Pareto-skewed."""
    weights = [min(rng.paretovariate(1.2), MAX_SCHEME_WEIGHT) for _ in range(schemes)]
    sizes = [1] * schemes
    for index in rng.choices(range(schemes), weights=weights, k=units - schemes):
        sizes[index] += 1
    return sizes


def generate_sectional(
    rng: random.Random,
    *,
    count: int,
    places: list[Place],
    unlisted: list[Place],
    scheme_names: list[str],
    pins: Iterator[int],
    full_rate_numbers: list[str],
    names: PersonNames,
) -> list[Property]:
    """Generate `count` sectional units, grouped into schemes named after real scheme names.

    NOTE: the live sectional legal description is unknown; `Section {n} of {SCHEME NAME}` is
    this replica's documented assumption.
    """
    if count == 0:
        return []
    scheme_count = min(len(scheme_names), max(1, count // MEAN_SECTIONS_PER_SCHEME))
    chosen_names = rng.sample(scheme_names, scheme_count)
    sizes = scheme_sizes(rng, count, scheme_count)
    suburb_weights = skewed_weights(
        rng, [place.address_suburb for place in places], LARGE_SECTIONAL_SUBURBS, 0.5
    )
    scheme_places = rng.choices(places, weights=suburb_weights, k=scheme_count)

    rate_numbers = RateNumbers(rng, set(full_rate_numbers))
    shared_rate_numbers: set[str] = set()
    units: list[Property] = []
    for scheme_name, size, place in zip(chosen_names, sizes, scheme_places, strict=True):
        if rng.random() < UNLISTED_SHARE:
            place = rng.choice(unlisted)
        street = pick_street(rng, place)
        street_number = str(rng.randint(1, 400))
        address = f"{street_number} {street}, {place.address_suburb}"
        scheme_number = f"{rng.randint(1, 1_800)}/{rng.randint(1972, 2021)}"
        use_code, rating_category = rng.choice(SECTIONAL_USE_CODES)
        for section in range(1, size + 1):
            if rng.random() < SHARED_RATE_NUMBER_SHARE:
                rate_number = _pick_shared(rng, full_rate_numbers, shared_rate_numbers)
            else:
                rate_number = rate_numbers.draw()
            owners = make_owners(rng, names, rating_category)
            profile = make_profile_fields(rng, owners[0], rating_category, is_sectional=True)
            units.append(
                Property(
                    pin=next(pins),
                    roll="sectional",
                    ptype="2",
                    ftype="1" if rating_category == "Residential" else "2",
                    rate_number=rate_number,
                    volume_no=place.volume_no,
                    suburb_id=place.suburb_id,
                    address=address,
                    street_number=street_number,
                    street_name=street,
                    suburb_name=place.address_suburb,
                    legal_description=f"Section {section} of {scheme_name}",
                    erf="",
                    portion="",
                    is_remainder=False,
                    deeds_town_id=None,
                    deeds_town="",
                    first_owner=owners[0],
                    owners=owners,
                    use_code=use_code,
                    rating_category=rating_category,
                    market_value=make_market_value(rng, rating_category),
                    registered_extent=make_unit_extent(rng),
                    government_code=profile.government_code,
                    exemptions=profile.exemptions,
                    rebates=profile.rebates,
                    phasing_in=profile.phasing_in,
                    exclusions=profile.exclusions,
                    sra_code=profile.sra_code,
                    property_type=profile.property_type,
                    section_number=str(section),
                    scheme_name=scheme_name,
                    scheme_number=scheme_number,
                )
            )
    return units


def _pick_shared(rng: random.Random, full_rate_numbers: list[str], reused: set[str]) -> str:
    """Pick a full-title rate number that no other sectional unit reuses yet."""
    while True:
        candidate = rng.choice(full_rate_numbers)
        if candidate not in reused:
            reused.add(candidate)
            return candidate
