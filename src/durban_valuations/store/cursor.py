"""Sort orders and opaque keyset cursors for paging through properties."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from durban_valuations.store.value_limits import fits_bigint, fits_numeric, fits_text

SORT_FIELDS = ("rate_number", "market_value", "registered_extent", "suburb")
# Sorts by the rank of a full-text search, best match first; it needs search text.
RELEVANCE = "relevance"

SortValue = str | int | float | Decimal | None


class InvalidSortError(ValueError):
    """A sort order names a field that properties cannot be sorted by."""


class InvalidCursorError(ValueError):
    """A cursor is not one this module issued, or was issued for another sort order."""


@dataclass(frozen=True, slots=True)
class SortOrder:
    """A sort field and direction; `pin` in the same direction breaks ties."""

    field: str
    descending: bool = False

    def __str__(self) -> str:
        if self.field == RELEVANCE:
            return RELEVANCE
        return f"-{self.field}" if self.descending else self.field


@dataclass(frozen=True, slots=True)
class Cursor:
    """The sort key and pin of the last property of a page; the next page starts after it."""

    order: SortOrder
    value: SortValue
    pin: int


def parse_sort(sort: str) -> SortOrder:
    """Parse `field` or `-field` (descending), or `relevance`, into a SortOrder.

    `relevance` sorts by descending rank, best match first, and has no `-` form.
    """
    if sort == RELEVANCE:
        return SortOrder(RELEVANCE, descending=True)
    if sort == f"-{RELEVANCE}":
        raise InvalidSortError(
            f"invalid sort {sort!r}: relevance always sorts the best matches first; "
            f"use sort={RELEVANCE}"
        )
    field = sort.removeprefix("-")
    if field not in SORT_FIELDS:
        raise InvalidSortError(
            f"invalid sort {sort!r}: expected one of {', '.join(SORT_FIELDS)}, "
            f"optionally prefixed with '-' for descending order, or {RELEVANCE} with q"
        )
    return SortOrder(field, descending=sort.startswith("-"))


def encode_cursor(cursor: Cursor) -> str:
    """Encode a cursor as an unpadded base64url token of compact JSON."""
    value = str(cursor.value) if isinstance(cursor.value, Decimal) else cursor.value
    payload = json.dumps([str(cursor.order), value, cursor.pin], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_value(field: str, value: Any) -> SortValue:
    if value is None:
        return None
    if field in ("rate_number", "suburb") and isinstance(value, str) and fits_text(value):
        return value
    # `type(value) is int` rejects bool, which isinstance(value, int) accepts.
    if field == "market_value" and type(value) is int and fits_bigint(value):
        return value
    if field == RELEVANCE and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if field == "registered_extent" and isinstance(value, str):
        try:
            extent = Decimal(value)
        except InvalidOperation:
            pass
        else:
            if fits_numeric(extent):
                return extent
    raise InvalidCursorError(f"invalid cursor: its {field} value {value!r} is not valid")


def decode_cursor(token: str, order: SortOrder) -> Cursor:
    """Decode a token from `encode_cursor`, requiring that it was issued for `order`.

    Raises InvalidCursorError for a malformed token or one issued for another sort.
    """
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError) as error:
        raise InvalidCursorError(
            "invalid cursor: expected the next_cursor value of a previous page"
        ) from error

    if not (isinstance(payload, list) and len(payload) == 3):
        raise InvalidCursorError(
            "invalid cursor: expected the next_cursor value of a previous page"
        )
    sort, value, pin = payload
    if sort != str(order):
        raise InvalidCursorError(
            f"invalid cursor: it was issued for sort={sort}, not sort={order}; "
            f"repeat the request with sort={sort} or without the cursor"
        )
    if not isinstance(pin, int) or isinstance(pin, bool) or not fits_bigint(pin):
        raise InvalidCursorError("invalid cursor: its pin is not a valid integer")
    return Cursor(order, _decode_value(order.field, value), pin)
