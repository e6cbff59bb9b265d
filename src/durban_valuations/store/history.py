"""Read queries over property history: the changes of one rate number, and a change feed."""

from __future__ import annotations

import base64
import binascii
import enum
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, Text, exists, literal, null, select, tuple_, union_all

from durban_valuations.site.models import Roll
from durban_valuations.store.cursor import InvalidCursorError
from durban_valuations.store.tables import properties, property_change_rows
from durban_valuations.store.value_limits import fits_bigint


class ChangeKind(enum.StrEnum):
    """Kind of a `property_changes` row; the values of its CHECK constraint."""

    NEW = "new"
    MARKET_VALUE = "market_value"
    FIRST_OWNER = "first_owner"
    USE_CODE = "use_code"
    RATING_CATEGORY = "rating_category"
    REGISTERED_EXTENT = "registered_extent"
    NOT_SEEN = "not_seen"
    SEEN_AGAIN = "seen_again"


CHANGE_COLUMNS = (
    "id", "roll_year", "roll", "pin", "rate_number", "run_id", "changed_at", "kind",
    "old_value", "new_value",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ChangePage:
    """One page of changes and the cursor of the next page (None on the last page)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


def _stored_changes() -> Select[Any]:
    return select(*(property_change_rows.c[name] for name in CHANGE_COLUMNS))


def _new_changes() -> Select[Any]:
    """Select the 'new' changes that `properties` rows represent, as CHANGE_COLUMNS."""
    columns = properties.c
    return select(
        columns.new_change_id.label("id"),
        columns.roll_year,
        columns.roll,
        columns.pin,
        columns.rate_number,
        columns.first_seen_run_id.label("run_id"),
        columns.created_at.label("changed_at"),
        literal(ChangeKind.NEW.value, Text).label("kind"),
        null().cast(Text).label("old_value"),
        null().cast(Text).label("new_value"),
    ).where(columns.new_change_id.is_not(None))


def rate_number_exists(connection: Connection, rate_number: str, roll_year: int) -> bool:
    """Return whether any property of `roll_year` has `rate_number`."""
    statement = select(
        exists().where(properties.c.rate_number == rate_number, properties.c.roll_year == roll_year)
    )
    return bool(connection.execute(statement).scalar_one())


def property_history(
    connection: Connection, rate_number: str, roll_year: int
) -> list[dict[str, Any]]:
    """Return every change of the properties of `roll_year` with `rate_number`, oldest first.

    A rate number can belong to one property in each roll, so the list mixes both
    rolls. Changes are ordered by id, which follows the order they were recorded in.
    """
    pins = select(properties.c.pin).where(
        properties.c.roll_year == roll_year, properties.c.rate_number == rate_number
    )
    stored = _stored_changes().where(
        property_change_rows.c.roll_year == roll_year, property_change_rows.c.pin.in_(pins)
    )
    new = _new_changes().where(
        properties.c.roll_year == roll_year, properties.c.rate_number == rate_number
    )
    changes = union_all(stored, new).subquery()
    statement = select(changes).order_by(changes.c.id)
    return [dict(row._mapping) for row in connection.execute(statement)]


def encode_change_cursor(changed_at: datetime, change_id: int) -> str:
    """Encode the (changed_at, id) of the last change of a page as a base64url token."""
    payload = json.dumps([changed_at.isoformat(), change_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_change_cursor(token: str) -> tuple[datetime, int]:
    """Decode a token of `encode_change_cursor`; raise InvalidCursorError for any other."""
    try:
        padded = token + "=" * (-len(token) % 4)
        changed_at_text, change_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        changed_at = datetime.fromisoformat(changed_at_text)
    except (ValueError, TypeError, binascii.Error, UnicodeError) as error:
        raise InvalidCursorError(
            "invalid cursor: expected the next_cursor value of a previous page"
        ) from error
    valid = (
        isinstance(change_id, int)
        and not isinstance(change_id, bool)
        and fits_bigint(change_id)
        and changed_at.tzinfo is not None
    )
    if not valid:
        raise InvalidCursorError(
            "invalid cursor: expected the next_cursor value of a previous page"
        )
    return changed_at, change_id


def list_changes(
    connection: Connection,
    since: datetime,
    roll_year: int,
    kind: ChangeKind | None = None,
    roll: Roll | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> ChangePage:
    """Return up to `limit` changes recorded after `since`, ordered by (changed_at, id).

    `changed_at` is the start time of the transaction that recorded the change.
    NOTE: a transaction that commits after a later one started can add changes behind a
    cursor that was already issued. A poller that must see every change should repeat
    from a `since` a little before its last `changed_at` and skip ids it has seen.
    Raises InvalidCursorError for a bad `cursor`.
    """
    if limit < 1:
        raise ValueError(f"invalid limit {limit}: expected at least 1")
    after = None if cursor is None else decode_change_cursor(cursor)
    stored = property_change_rows.c
    conditions = [stored.roll_year == roll_year, stored.changed_at > since]
    if kind is not None:
        conditions.append(stored.kind == kind.value)
    if roll is not None:
        conditions.append(stored.roll == roll.value)
    if after is not None:
        conditions.append(tuple_(stored.changed_at, stored.id) > after)
    # Each branch reads at most one page, in (changed_at, id) order, through its own
    # index. Without the inner LIMIT, PostgreSQL 16 sorted every change after `since`
    # for each page.
    branches = [
        _stored_changes()
        .where(*conditions)
        .order_by(stored.changed_at, stored.id)
        .limit(limit + 1)
        .subquery()
        .select()
    ]

    if kind in (None, ChangeKind.NEW):
        # The same conditions on the columns that a 'new' change is read from.
        new = properties.c
        conditions = [new.roll_year == roll_year, new.created_at > since]
        if roll is not None:
            conditions.append(new.roll == roll.value)
        if after is not None:
            conditions.append(tuple_(new.created_at, new.new_change_id) > after)
        new_page = (
            _new_changes()
            .where(*conditions)
            .order_by(new.created_at, new.new_change_id)
            .limit(limit + 1)
        )
        branches.append(new_page.subquery().select())

    changes = union_all(*branches).subquery()
    statement = select(changes).order_by(changes.c.changed_at, changes.c.id).limit(limit + 1)
    rows = [dict(row._mapping) for row in connection.execute(statement)]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_change_cursor(rows[-1]["changed_at"], rows[-1]["id"])
    return ChangePage(items=rows, next_cursor=next_cursor)
