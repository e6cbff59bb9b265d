"""Matching the suburb names a user typed to the option values of the criteria page."""

from __future__ import annotations

import difflib

from durban_valuations.site.models import Option


def _normalise(name: str) -> str:
    return " ".join(name.split()).casefold()


def match_suburbs(options: list[Option], names: list[str]) -> list[str]:
    """Return the option values of every suburb named in `names` (case and spacing ignored).

    The site lists some names several times under different ids, so one name can give
    several values. Raises ValueError naming each unknown suburb and the closest names.
    """
    by_name: dict[str, list[str]] = {}
    for option in options:
        by_name.setdefault(_normalise(option.text), []).append(option.value)

    values: list[str] = []
    unknown: list[str] = []
    for name in names:
        matched = by_name.get(_normalise(name))
        if matched is None:
            unknown.append(name)
            continue
        values += [value for value in matched if value not in values]

    if unknown:
        texts = sorted({option.text for option in options})
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name.upper(), texts, n=3, cutoff=0.6)
            hint = f"did you mean {', '.join(close)}?" if close else "no similar name"
            hints.append(f"{name!r} ({hint})")
        raise ValueError(
            f"suburb not found in the site's suburb list: {'; '.join(hints)}. "
            "Use a name exactly as the site lists it."
        )
    return values
