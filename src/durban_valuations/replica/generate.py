"""Generate a deterministic replica roll: the real rows plus generated rows of both rolls."""

from __future__ import annotations

import random
from collections.abc import Iterator

from durban_valuations.replica.places import (
    Place,
    build_deeds_town_options,
    build_places,
    build_unlisted_places,
    pick_street,
    skewed_weights,
    volume_weights,
)
from durban_valuations.replica.realrows import RealRow, load_real_rows
from durban_valuations.replica.roll import (
    VOLUME_NUMBERS,
    ListOption,
    Property,
    ReplicaRoll,
    load_scheme_names,
    load_suburb_options,
    volume_options,
)
from durban_valuations.replica.row_values import (
    PersonNames,
    RateNumbers,
    collect_person_names,
    make_full_extent,
    make_market_value,
    make_owners,
    make_profile_fields,
)
from durban_valuations.replica.sectional import generate_sectional

# 60,000 rows keep more than 10 suburbs above 1,000 Full Title rows and more than 3 above
# 1,000 Sectional rows, while a roll still builds in about a second.
DEFAULT_ROWS = 60_000
SECTIONAL_SHARE = 0.25
UNLISTED_SHARE = 0.03
LARGE_FULL_SUBURBS = 14
# PINs are unique across both rolls; the 2017 roll's PINs ran up to 12,002,672.
PIN_RANGE = range(100_000, 13_000_000)


def generate_roll(rows: int = DEFAULT_ROWS, seed: int = 2022) -> ReplicaRoll:
    """Generate a roll of `rows` properties in total, the same for the same seed.

    The real rows go into the full-title roll unchanged; about a quarter of `rows` is sectional.
    Raises ValueError when `rows` is smaller than the number of real rows.
    """
    rng = random.Random(seed)
    real_rows = load_real_rows()
    if rows < len(real_rows):
        raise ValueError(f"rows must be at least {len(real_rows)} (the real rows), got {rows}")
    suburbs = load_suburb_options()
    scheme_names = load_scheme_names()
    deeds_towns = build_deeds_town_options(rng, suburbs, [row.deeds_town for row in real_rows])
    weights_of_volumes = volume_weights(rng)
    places = build_places(rng, suburbs, deeds_towns, weights_of_volumes)
    unlisted = build_unlisted_places(rng, deeds_towns, weights_of_volumes)
    names = collect_person_names([row.first_owner for row in real_rows])
    use_codes = [(row.use_code, row.rating_category) for row in real_rows]

    sectional_count = min(round(rows * SECTIONAL_SHARE), rows - len(real_rows))
    generated_full_count = rows - sectional_count - len(real_rows)
    pins = iter(rng.sample(PIN_RANGE, rows))
    full_rate_numbers = RateNumbers(rng, {row.rate_number for row in real_rows})

    full = _real_properties(rng, real_rows, pins, places, deeds_towns, weights_of_volumes, names)
    suburb_weights = skewed_weights(
        rng, [option.text for option in suburbs], LARGE_FULL_SUBURBS, 0.5
    )
    chosen_places = rng.choices(places, weights=suburb_weights, k=generated_full_count)
    for place in chosen_places:
        if rng.random() < UNLISTED_SHARE:
            place = rng.choice(unlisted)
        use_code, rating_category = rng.choice(use_codes)
        full.append(
            _full_property(
                rng, place, next(pins), full_rate_numbers.draw(), use_code, rating_category, names
            )
        )

    sectional = generate_sectional(
        rng,
        count=sectional_count,
        places=places,
        unlisted=unlisted,
        scheme_names=scheme_names,
        pins=pins,
        full_rate_numbers=sorted(full_rate_numbers.used),
        names=names,
    )
    rng.shuffle(full)
    rng.shuffle(sectional)
    return ReplicaRoll(
        volumes=volume_options(),
        suburbs=suburbs,
        deeds_towns=deeds_towns,
        schemes=[ListOption("1", name) for name in scheme_names],
        full=full,
        sectional=sectional,
    )


def make_address(rng: random.Random, street: str, suburb: str) -> tuple[str, str, str]:
    """Make an address as printed, with its street number and street name.

    Shapes follow the real rows: mostly `{no} {STREET}, {SUBURB}`; some without a number,
    some padded to 32 characters before the comma, some a bare `, {SUBURB}` or `UNKNOWN`.
    """
    draw = rng.random()
    if draw < 0.90:
        number = str(rng.randint(1, 60) if rng.random() < 0.7 else rng.randint(1, 999))
        return f"{number} {street}, {suburb}", number, street
    if draw < 0.95:
        return f"{street}, {suburb}", "", street
    if draw < 0.97:
        return f"{street:<32}, {suburb}", "", street
    if draw < 0.985:
        return f", {suburb}", "", ""
    return f"UNKNOWN, {suburb}", "", "UNKNOWN"


def make_legal_description(rng: random.Random, town: str) -> tuple[str, str, str, bool]:
    """Make a full-title legal description with its ERF, portion and remainder flag."""
    erf = str(rng.randint(1, 40_000))
    draw = rng.random()
    if draw < 0.80:
        return f"ERF {erf} of {town}", erf, "", False
    portion = str(rng.randint(1, 900))
    if draw < 0.93:
        return f"Portion {portion} of ERF {erf} of {town}", erf, portion, False
    if draw < 0.97:
        return f"REM of ERF {erf} of {town}", erf, "", True
    return f"REM of Portion {portion} of ERF {erf} of {town}", erf, portion, True


def _full_property(
    rng: random.Random,
    place: Place,
    pin: int,
    rate_number: str,
    use_code: str,
    rating_category: str,
    names: PersonNames,
) -> Property:
    address, street_number, street_name = make_address(
        rng, pick_street(rng, place), place.address_suburb
    )
    town = place.deeds_towns[0] if rng.random() < 0.85 else place.deeds_towns[1]
    legal_description, erf, portion, is_remainder = make_legal_description(rng, town.text)
    owners = make_owners(rng, names, rating_category)
    profile = make_profile_fields(rng, owners[0], rating_category, is_sectional=False)
    return Property(
        pin=pin,
        roll="full",
        ptype="1",
        ftype="1" if rating_category == "Residential" else "2",
        rate_number=rate_number,
        volume_no=place.volume_no,
        suburb_id=place.suburb_id,
        address=address,
        street_number=street_number,
        street_name=street_name,
        suburb_name=place.address_suburb,
        legal_description=legal_description,
        erf=erf,
        portion=portion,
        is_remainder=is_remainder,
        deeds_town_id=town.value,
        deeds_town=town.text,
        first_owner=owners[0],
        owners=owners,
        use_code=use_code,
        rating_category=rating_category,
        market_value=make_market_value(rng, rating_category),
        registered_extent=make_full_extent(rng, rating_category),
        government_code=profile.government_code,
        exemptions=profile.exemptions,
        rebates=profile.rebates,
        phasing_in=profile.phasing_in,
        exclusions=profile.exclusions,
        sra_code=profile.sra_code,
        property_type=profile.property_type,
    )


def _real_properties(
    rng: random.Random,
    real_rows: list[RealRow],
    pins: Iterator[int],
    places: list[Place],
    deeds_towns: list[ListOption],
    weights_of_volumes: list[float],
    names: PersonNames,
) -> list[Property]:
    """Turn the real rows into properties, matching each address suburb to the first list entry."""
    places_by_name: dict[str, Place] = {}
    for place in places:
        places_by_name.setdefault(place.address_suburb.casefold(), place)
    towns_by_name = {option.text: option for option in deeds_towns}
    properties: list[Property] = []
    for row in real_rows:
        matched = places_by_name.get(row.suburb_name.casefold())
        if matched is not None:
            volume_no = matched.volume_no
        else:
            volume_no = rng.choices(VOLUME_NUMBERS, weights_of_volumes)[0]
        town = towns_by_name.get(row.deeds_town)
        profile = make_profile_fields(rng, row.first_owner, row.rating_category, is_sectional=False)
        properties.append(
            Property(
                pin=next(pins),
                roll="full",
                ptype="1",
                ftype="1" if row.rating_category == "Residential" else "2",
                rate_number=row.rate_number,
                volume_no=volume_no,
                suburb_id=matched.suburb_id if matched else None,
                address=row.address,
                street_number=row.street_number,
                street_name=row.street_name,
                suburb_name=row.suburb_name,
                legal_description=row.legal_description,
                erf=row.erf,
                portion=row.portion,
                is_remainder=row.is_remainder,
                deeds_town_id=town.value if town else None,
                deeds_town=row.deeds_town,
                first_owner=row.first_owner,
                owners=(row.first_owner,),
                use_code=row.use_code,
                rating_category=row.rating_category,
                market_value=row.market_value,
                registered_extent=row.registered_extent,
                government_code=profile.government_code,
                exemptions=profile.exemptions,
                rebates=profile.rebates,
                phasing_in=profile.phasing_in,
                exclusions=profile.exclusions,
                sra_code=profile.sra_code,
                property_type=profile.property_type,
                is_real=True,
            )
        )
    return properties
