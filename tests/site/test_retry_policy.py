from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from durban_valuations.site.retry_policy import (
    Backoff,
    is_permanent_server_error,
    parse_retry_after,
)

NOW = datetime(2015, 10, 21, 7, 27, 0, tzinfo=UTC)
BACKOFF = Backoff(initial=1.0, maximum=10.0, jitter=0.5, retry_after_cap=30.0)


@pytest.mark.parametrize(
    ("retry_number", "retry_after", "random_share", "expected"),
    [
        (1, None, 0.0, 1.0),
        (2, None, 0.0, 2.0),
        (3, None, 0.0, 4.0),
        (4, None, 0.0, 8.0),
        (5, None, 0.0, 10.0),
        (9, None, 0.0, 10.0),
        (1, None, 1.0, 1.5),
        (5, None, 0.5, 10.25),
        (1, 7.0, 0.9, 7.0),
        (3, 0.0, 0.9, 0.0),
        (1, 3600.0, 0.0, 30.0),
    ],
)
def test_backoff_delay(
    retry_number: int, retry_after: float | None, random_share: float, expected: float
) -> None:
    assert BACKOFF.delay(retry_number, retry_after, lambda: random_share) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("5", 5.0),
        (" 120 ", 120.0),
        ("1.5", 1.5),
        ("-3", None),
        ("inf", None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 60.0),
        ("Wed, 21 Oct 2015 09:27:00 +0200", 0.0),
        ("Wed, 21 Oct 2015 07:28:30 -0000", 90.0),
        ("Wed, 21 Oct 2015 07:20:00 GMT", 0.0),
        ("Wed, 32 Oct 2015 07:28:00 GMT", None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


def test_retry_after_date_uses_clock() -> None:
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    seconds = parse_retry_after(in_a_minute)
    assert seconds is not None
    assert 55.0 <= seconds <= 60.0


def test_retry_after_date_capped() -> None:
    seconds = parse_retry_after("Wed, 21 Oct 2015 17:27:00 GMT", now=NOW)
    assert seconds == 36000.0
    assert BACKOFF.delay(1, seconds) == 30.0


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "A potentially dangerous Request.QueryString value was detected from the client",
            True,
        ),
        ("A network-related or instance-specific error occurred", False),
        ("Internal Server Error", False),
    ],
)
def test_is_permanent_server_error(message: str, expected: bool) -> None:
    assert is_permanent_server_error(message) is expected
