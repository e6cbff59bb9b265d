"""PostgreSQL type ranges, and cursors whose values fall outside them."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from durban_valuations.store.cursor import (
    Cursor,
    InvalidCursorError,
    SortOrder,
    decode_cursor,
    encode_cursor,
)
from durban_valuations.store.history import decode_change_cursor, encode_change_cursor
from durban_valuations.store.runs import decode_run_cursor, encode_run_cursor
from durban_valuations.store.value_limits import (
    BIGINT_MAX,
    BIGINT_MIN,
    INTEGER_MAX,
    INTEGER_MIN,
    fits_bigint,
    fits_integer,
    fits_numeric,
    fits_text,
)


def _token(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_integer_ranges() -> None:
    assert fits_integer(INTEGER_MAX)
    assert fits_integer(INTEGER_MIN)
    assert not fits_integer(INTEGER_MAX + 1)
    assert not fits_integer(INTEGER_MIN - 1)
    assert fits_bigint(BIGINT_MAX)
    assert fits_bigint(BIGINT_MIN)
    assert not fits_bigint(BIGINT_MAX + 1)
    assert not fits_bigint(BIGINT_MIN - 1)


@pytest.mark.parametrize(
    ("text", "fits"),
    [
        ("2500.5", True),
        ("1E+131071", True),
        ("1E+131072", False),
        ("1E-16383", True),
        ("1E-16384", False),
        ("NaN", False),
        ("Infinity", False),
        ("-Infinity", False),
    ],
)
def test_numeric_range(text: str, fits: bool) -> None:
    assert fits_numeric(Decimal(text)) is fits


def test_text_without_nul() -> None:
    assert fits_text("MAIN STREET")
    assert not fits_text("MAIN\x00STREET")


@pytest.mark.parametrize(
    ("sort", "value", "pin"),
    [
        ("market_value", BIGINT_MAX + 1, 1),
        ("market_value", 1, BIGINT_MAX + 1),
        ("registered_extent", "NaN", 1),
        ("registered_extent", "Infinity", 1),
        ("registered_extent", "1e999999999", 1),
        ("suburb", "PINE\x00TOWN", 1),
        ("rate_number", "1000000\x00", 1),
    ],
)
def test_property_cursor_out_of_range(sort: str, value: Any, pin: int) -> None:
    with pytest.raises(InvalidCursorError, match="invalid cursor"):
        decode_cursor(_token([sort, value, pin]), SortOrder(sort))


def test_property_cursor_round_trip_at_limits() -> None:
    cursor = Cursor(SortOrder("market_value", descending=True), BIGINT_MAX, BIGINT_MAX)

    assert decode_cursor(encode_cursor(cursor), cursor.order) == cursor


def test_run_cursor_out_of_range() -> None:
    assert decode_run_cursor(encode_run_cursor(INTEGER_MAX)) == INTEGER_MAX
    with pytest.raises(InvalidCursorError, match="invalid cursor"):
        decode_run_cursor(_token(["run", INTEGER_MAX + 1]))


def test_change_cursor_out_of_range() -> None:
    changed_at = datetime(2024, 7, 1, tzinfo=UTC)

    assert decode_change_cursor(encode_change_cursor(changed_at, BIGINT_MAX)) == (
        changed_at,
        BIGINT_MAX,
    )
    with pytest.raises(InvalidCursorError, match="invalid cursor"):
        decode_change_cursor(_token([changed_at.isoformat(), BIGINT_MAX + 1]))
