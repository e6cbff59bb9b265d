"""Settings of the replica's fault injection: server errors, bad days, slow searches, firewall."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# SQL Server failures the live site logged while loading its criteria pages.
SqlError = Literal["network", "pool_timeout", "permission_denied"]
ALL_SQL_ERRORS: tuple[SqlError, ...] = ("network", "pool_timeout", "permission_denied")


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability from 0 to 1, got {value!r}")


@dataclass(frozen=True, slots=True)
class BurstConfig:
    """A bad day: windows of consecutive requests in which every database page returns 500.

    Requests are numbered from 1 in arrival order, counting every request the app receives.
    The first window covers requests `start` to `start + length - 1`; with `every` set, a new
    window starts every `every` requests after that.
    """

    length: int
    start: int = 1
    every: int | None = None
    error: SqlError = "network"

    def __post_init__(self) -> None:
        if self.length < 1:
            raise ValueError(f"burst length must be at least 1 request, got {self.length}")
        if self.start < 1:
            raise ValueError(f"burst start must be a request number from 1, got {self.start}")
        if self.every is not None and self.every < 1:
            raise ValueError(f"burst period must be at least 1 request, got {self.every}")

    def covers(self, request_number: int) -> bool:
        """Return True when the request with this number falls inside a burst window."""
        offset = request_number - self.start
        if offset < 0:
            return False
        if self.every is not None:
            offset %= self.every
        return offset < self.length


@dataclass(frozen=True, slots=True)
class FirewallConfig:
    """The web application firewall in front of the site, serving a "Web Page Blocked!" page.

    It blocks a request when the User-Agent matches one of `user_agent_patterns` (regular
    expressions, searched case-sensitively), or with probability `block_rate`. It also blocks
    every request of a client IP for `block_seconds` once that IP sent more than
    `max_requests` requests within `window_seconds`.
    """

    user_agent_patterns: tuple[str, ...] = ("HeadlessChrome",)
    # Requests one client may send per window; None turns the rate limit off.
    max_requests: int | None = None
    window_seconds: float = 10.0
    block_seconds: float = 60.0
    block_rate: float = 0.0
    # HTTP status of the block page. The live status is unknown; 200 means a scraper must read
    # the page to notice the block.
    status: int = 200

    def __post_init__(self) -> None:
        _check_probability("firewall block_rate", self.block_rate)
        if self.max_requests is not None and self.max_requests < 1:
            raise ValueError(f"firewall max_requests must be at least 1, got {self.max_requests}")
        if self.window_seconds <= 0 or self.block_seconds < 0:
            raise ValueError(
                "firewall window_seconds must be positive and block_seconds not negative, "
                f"got {self.window_seconds} and {self.block_seconds}"
            )
        if not 100 <= self.status <= 599:
            raise ValueError(f"firewall status must be an HTTP status code, got {self.status}")


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Faults the replica injects; every fault is off by default.

    Random faults draw from generators seeded with `seed`, one per fault kind, so a client
    that sends the same requests in the same order meets the same faults.
    """

    seed: int = 0
    # Probability of HTTP 500 with an SQL error on SearchCrit.aspx and SearchCrit2.aspx.
    criteria_error_rate: float = 0.0
    # Probability of HTTP 500 with an SQL error on SearchResult.aspx.
    result_error_rate: float = 0.0
    # Probability of HTTP 500 with an SQL error on SearchDeatils.aspx.
    details_error_rate: float = 0.0
    # SQL errors that the random 500s draw from, with equal chance.
    sql_errors: tuple[SqlError, ...] = ALL_SQL_ERRORS
    burst: BurstConfig | None = None
    # Searches with more matches than this wait `slow_search_seconds` before they respond.
    slow_search_min_matches: int = 1000
    slow_search_seconds: float = 0.0
    # None turns the firewall off.
    firewall: FirewallConfig | None = None
    # Probability of cutting a response body short, before its closing `</html>` tag.
    truncate_rate: float = 0.0
    # Probability of closing the connection after the response headers, without a body.
    drop_rate: float = 0.0

    def __post_init__(self) -> None:
        for name in ("criteria_error_rate", "result_error_rate", "details_error_rate"):
            _check_probability(name, getattr(self, name))
        _check_probability("truncate_rate", self.truncate_rate)
        _check_probability("drop_rate", self.drop_rate)
        if not self.sql_errors:
            raise ValueError("sql_errors must name at least one SQL error")
        unknown = [error for error in self.sql_errors if error not in ALL_SQL_ERRORS]
        if unknown:
            raise ValueError(f"unknown SQL errors {unknown}: use some of {list(ALL_SQL_ERRORS)}")
        if self.slow_search_seconds < 0:
            raise ValueError(
                f"slow_search_seconds must not be negative, got {self.slow_search_seconds}"
            )
