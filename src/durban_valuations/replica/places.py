"""Places for generated rows: one per suburb option, with its volume, deeds towns and streets."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from durban_valuations.replica.roll import VOLUME_NUMBERS, ListOption
from durban_valuations.replica.vocabulary import STREET_TYPES, STREET_WORDS, UNLISTED_SUBURBS

# Junk entries of the live suburb list; they never become one of the large suburbs.
JUNK_SUBURBS = frozenset({"UNDEFINED", "POSTING ERRORS", "X AREA", "AAA Testing"})


@dataclass(slots=True)
class Place:
    """A suburb that generated properties share: option id, address text, volume and towns.

    `suburb_id` is None for a suburb missing from the option list.
    """

    suburb_id: str | None
    address_suburb: str
    volume_no: str
    deeds_towns: list[ListOption]
    streets: list[str] = field(default_factory=list)


def normalise_town_name(suburb_name: str) -> str:
    """Derive a deeds-town name from a suburb name (`NTUZUMA - H` gives `NTUZUMA H`)."""
    return re.sub(r"[\s-]+", " ", suburb_name.upper()).strip()


def build_deeds_town_options(
    rng: random.Random, suburbs: list[ListOption], real_towns: list[str]
) -> list[ListOption]:
    """Build the deeds-town options: the real rows' towns plus one per suburb name, by name.

    The ids are random distinct numbers, because the live ids are unknown opaque values.
    """
    names = set(real_towns)
    names.update(normalise_town_name(option.text) for option in suburbs)
    ordered = sorted(names, key=str.casefold)
    ids = rng.sample(range(1_000, 100_000), len(ordered))
    return [ListOption(str(town_id), name) for town_id, name in zip(ids, ordered, strict=True)]


def skewed_weights(
    rng: random.Random, keys: list[str], large_count: int, large_share: float
) -> list[float]:
    """Return one weight per key: `large_count` random keys share `large_share`.

    The other keys share the rest along a Zipf-like tail.

    Keys in JUNK_SUBURBS are never among the large ones.
    """
    order = list(range(len(keys)))
    rng.shuffle(order)
    order.sort(key=lambda index: keys[index] in JUNK_SUBURBS)
    weights = [0.0] * len(keys)

    large = order[:large_count]
    large_raw = [rng.uniform(0.85, 1.15) for _ in large]
    large_total = sum(large_raw)
    for index, raw in zip(large, large_raw, strict=True):
        weights[index] = large_share * raw / large_total

    tail = order[large_count:]
    tail_raw = [1.0 / (rank + 1) ** 0.8 for rank in range(len(tail))]
    tail_total = sum(tail_raw)
    for index, raw in zip(tail, tail_raw, strict=True):
        weights[index] = (1.0 - large_share) * raw / tail_total
    return weights


def volume_weights(rng: random.Random) -> list[float]:
    """Return a skewed weight per volume number, in VOLUME_NUMBERS order."""
    return skewed_weights(rng, list(VOLUME_NUMBERS), large_count=8, large_share=0.5)


def build_places(
    rng: random.Random,
    suburbs: list[ListOption],
    deeds_towns: list[ListOption],
    weights_of_volumes: list[float],
) -> list[Place]:
    """Build one place per suburb option, in option order."""
    towns_by_name = {option.text: option for option in deeds_towns}
    volumes = rng.choices(VOLUME_NUMBERS, weights=weights_of_volumes, k=len(suburbs))
    places: list[Place] = []
    for option, volume_no in zip(suburbs, volumes, strict=True):
        main_town = towns_by_name[normalise_town_name(option.text)]
        places.append(
            Place(
                suburb_id=option.value,
                address_suburb=option.text.upper(),
                volume_no=volume_no,
                deeds_towns=[main_town, rng.choice(deeds_towns)],
            )
        )
    return places


def build_unlisted_places(
    rng: random.Random, deeds_towns: list[ListOption], weights_of_volumes: list[float]
) -> list[Place]:
    """Build the places whose suburb is missing from the option list."""
    volumes = rng.choices(VOLUME_NUMBERS, weights=weights_of_volumes, k=len(UNLISTED_SUBURBS))
    return [
        Place(
            suburb_id=None,
            address_suburb=name,
            volume_no=volume_no,
            deeds_towns=[rng.choice(deeds_towns), rng.choice(deeds_towns)],
        )
        for name, volume_no in zip(UNLISTED_SUBURBS, volumes, strict=True)
    ]


def make_street_name(rng: random.Random) -> str:
    """Make a street name: mostly `WORD TYPE`, some township numbers (`211589 STREET`, `400356`)."""
    draw = rng.random()
    if draw < 0.80:
        return f"{rng.choice(STREET_WORDS)} {rng.choice(STREET_TYPES)}"
    if draw < 0.95:
        return f"{rng.randint(100, 499_999)} STREET"
    return str(rng.randint(10_000, 499_999))


def pick_street(rng: random.Random, place: Place) -> str:
    """Pick a street of the place, growing its street list as more properties land there."""
    if not place.streets or (len(place.streets) < 400 and rng.random() < 0.04):
        place.streets.append(make_street_name(rng))
    return rng.choice(place.streets)
