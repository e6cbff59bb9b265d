"""Planning of the searches that cover a roll, and splitting of searches that hit the warning.

The result page shows a warning row once a search matches 1,000 rows or more. The live
site returned more than 1,000 rows with that warning, but whether a higher cap exists is
unknown, so every search that shows the warning is replaced by narrower ones until none
does. Each refinement below covers every row of the search it replaces:

1. A suburb search is split by volume: every property has exactly one volume, so the
   children partition the parent.
2. A search without a rate number is split by the 100 two-digit strings "00".."99": the
   site matches the rate number as a substring, and every 8-digit rate number contains
   its own first two digits.
3. A rate-number substring s shorter than 8 digits is split into s+d and d+s for every
   digit d. Any occurrence of s inside an 8-digit number has a neighbouring digit on at
   least one side, so one of the children matches it.
"""

from __future__ import annotations

import enum
from dataclasses import replace
from urllib.parse import quote, unquote

from durban_valuations.site.models import CriteriaOptions, Roll, SearchQuery

RATE_NUMBER_LENGTH = 8
WARNING_THRESHOLD = 1000
DIGITS = "0123456789"


class Dimension(enum.StrEnum):
    """A way of covering a whole roll with searches."""

    SUBURB = "suburb"
    VOLUME = "volume"
    RATE_NUMBER = "rate_number"


class UnsplittableSearchError(Exception):
    """A search with the warning row has no narrower refinement left."""

    def __init__(self, query: SearchQuery) -> None:
        super().__init__(
            f"search {query.describe()} still shows the 1,000-row warning and cannot be split "
            "further; the site's matching rules may have changed"
        )
        self.query = query


def initial_searches(
    options: CriteriaOptions, dimension: Dimension, suburb_values: list[str] | None = None
) -> list[SearchQuery]:
    """Return the searches that cover `options.roll` along one dimension.

    `suburb_values` limits a suburb crawl to those option values; None means every suburb.
    """
    roll: Roll = options.roll
    if dimension is Dimension.VOLUME:
        return [SearchQuery(roll=roll, volume_no=option.value) for option in options.volumes]
    if dimension is Dimension.RATE_NUMBER:
        # Every 8-digit rate number contains its own first two digits.
        return [SearchQuery(roll=roll, rate_number=f"{number:02d}") for number in range(100)]

    wanted = None if suburb_values is None else set(suburb_values)
    values: list[str] = []
    for option in options.suburbs:
        # The list repeats some names under different ids; each id is its own search.
        if (wanted is None or option.value in wanted) and option.value not in values:
            values.append(option.value)
    return [SearchQuery(roll=roll, suburb=value) for value in values]


def split_search(query: SearchQuery, volumes: list[str]) -> list[SearchQuery]:
    """Return narrower searches whose results together contain every row of `query`."""
    if query.suburb and not query.volume_no:
        return [replace(query, volume_no=volume) for volume in volumes]

    if not query.rate_number:
        return [replace(query, rate_number=f"{number:02d}") for number in range(100)]

    if len(query.rate_number) < RATE_NUMBER_LENGTH:
        substrings = [query.rate_number + digit for digit in DIGITS]
        substrings += [digit + query.rate_number for digit in DIGITS]
        unique = list(dict.fromkeys(substrings))
        return [replace(query, rate_number=substring) for substring in unique]

    raise UnsplittableSearchError(query)


# Parameters that can narrow a search, in the order the site sends them. The search key
# of a query lists the non-empty ones in this order.
_KEY_FIELDS = (
    ("VolumeNo", "volume_no"),
    ("RateNumber", "rate_number"),
    ("StreetNo", "street_no"),
    ("StreetName", "street_name"),
    ("Suburb", "suburb"),
    ("ERF", "erf"),
    ("Portion", "portion"),
    ("DeedsTown", "deeds_town"),
    ("SchemeName", "scheme_name"),
    ("SectionNumber", "section_number"),
)


def search_key(query: SearchQuery) -> str:
    """Return the canonical text of a query's criteria, e.g. `VolumeNo=04&RateNumber=12`.

    The roll is not part of the key; it is stored beside it. Values are percent-encoded,
    so a scheme name with `&` or `=` cannot break the key apart.
    """
    parts = [
        f"{name}={quote(getattr(query, attribute), safe='')}"
        for name, attribute in _KEY_FIELDS
        if getattr(query, attribute)
    ]
    if query.whole_scheme:
        parts.append("All=true")
    return "&".join(parts)


def query_from_key(roll: Roll, key: str) -> SearchQuery:
    """Rebuild the query that `search_key` described. Raises ValueError for a foreign key."""
    attributes = dict(_KEY_FIELDS)
    values: dict[str, str] = {}
    whole_scheme = False
    for part in key.split("&") if key else []:
        name, separator, value = part.partition("=")
        if name == "All" and value == "true":
            whole_scheme = True
            continue
        if not separator or name not in attributes:
            raise ValueError(f"invalid search key {key!r}: unknown part {part!r}")
        values[attributes[name]] = unquote(value)
    return SearchQuery(roll=roll, whole_scheme=whole_scheme, **values)
