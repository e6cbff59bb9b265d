"""Export the replica's properties as JSON Lines, the ground truth a scrape is checked against."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from durban_valuations.replica.roll import Property, ReplicaRoll

GROUND_TRUTH_KEYS: tuple[str, ...] = (
    "pin", "roll", "ptype", "ftype", "rate_number", "volume_no", "suburb_id", "address",
    "street_number", "street_name", "suburb_name", "legal_description", "erf", "portion",
    "is_remainder", "deeds_town_id", "deeds_town", "first_owner", "owners", "use_code",
    "rating_category", "market_value", "registered_extent", "government_code", "exemptions",
    "rebates", "phasing_in", "exclusions", "sra_code", "property_type", "section_number",
    "scheme_name", "scheme_number", "is_real",
)  # fmt: skip


def property_record(prop: Property) -> dict[str, Any]:
    """Return one property as a JSON-ready dict, owners as a list and the extent as a string."""
    record: dict[str, Any] = {key: getattr(prop, key) for key in GROUND_TRUTH_KEYS}
    record["owners"] = list(prop.owners)
    record["registered_extent"] = str(prop.registered_extent)
    return record


def export_ground_truth(roll: ReplicaRoll, path: Path | str) -> int:
    """Write one JSON object per property to `path`, sorted by (roll, pin); return the row count."""
    properties = sorted(roll.all_properties(), key=lambda prop: (prop.roll, prop.pin))
    with Path(path).open("w", encoding="utf-8", newline="\n") as output:
        for prop in properties:
            output.write(json.dumps(property_record(prop), ensure_ascii=False))
            output.write("\n")
    return len(properties)
