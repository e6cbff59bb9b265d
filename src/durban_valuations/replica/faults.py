"""Fault injection: decides per request which configured fault strikes, counts and logs it."""

from __future__ import annotations

import logging
import random
import re
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from durban_valuations.replica.errors import (
    ReplicaServerError,
    criteria_database_error,
    page_database_error,
)
from durban_valuations.replica.fault_config import FaultConfig

LOGGER = logging.getLogger("durban_valuations.replica")

FaultKind = Literal[
    "criteria_error", "result_error", "details_error", "burst", "slow_search", "firewall",
    "truncated", "dropped",
]  # fmt: skip
FAULT_KINDS: tuple[FaultKind, ...] = (
    "criteria_error", "result_error", "details_error", "burst", "slow_search", "firewall",
    "truncated", "dropped",
)  # fmt: skip

CRITERIA_PAGES = {
    "/framepages/searchcrit.aspx": "ETH_GV.FramePages.SearchCrit",
    "/framepages/searchcrit2.aspx": "ETH_GV.FramePages.SearchCrit2",
}
RESULT_PAGE = "/framepages/searchresult.aspx"
DETAILS_PAGE = "/framepages/searchdeatils.aspx"
# The pages that read the database. A burst fails these and serves every other page.
DATABASE_PAGES = frozenset({*CRITERIA_PAGES, RESULT_PAGE, DETAILS_PAGE})


class ConnectionDroppedError(Exception):
    """Raised after the response headers were sent, so that the server closes the connection."""


class DroppedResponse(Response):
    """A response that sends its headers and then fails, so the client gets no body.

    uvicorn closes the connection when the app raises after the response has started, and
    logs the exception at ERROR level. The client sees the connection end before the body.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        raise ConnectionDroppedError("replica fault injection dropped the connection")


@dataclass(slots=True)
class RequestFaults:
    """One request's number in arrival order (from 1) and the faults injected into it."""

    number: int
    path: str
    kinds: list[FaultKind] = field(default_factory=list)


class FaultInjector:
    """Draws the faults of `config` for each request, counting them in `counts`.

    Each fault kind has its own random generator seeded from `config.seed`, so turning one
    fault on does not change when another strikes. `clock` returns seconds for the firewall's
    rate window.
    """

    def __init__(
        self,
        config: FaultConfig,
        counts: Counter[str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.counts = counts
        self._clock = clock
        self._random = {kind: random.Random(f"{config.seed}/{kind}") for kind in FAULT_KINDS}
        self._sql_error_random = random.Random(f"{config.seed}/sql_error")
        self._request_count = 0
        firewall = config.firewall
        patterns = firewall.user_agent_patterns if firewall is not None else ()
        self._user_agent_patterns = [re.compile(pattern) for pattern in patterns]
        self._recent_requests: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}

    def begin(self, path: str) -> RequestFaults:
        """Number a new request and return the record of its faults."""
        self._request_count += 1
        return RequestFaults(number=self._request_count, path=path)

    def record(self, faults: RequestFaults, kind: FaultKind, detail: str) -> None:
        """Count and log one injected fault."""
        faults.kinds.append(kind)
        self.counts[kind] += 1
        LOGGER.info(
            "injected fault %s into request %d for %s: %s", kind, faults.number, faults.path, detail
        )

    def _strikes(self, kind: FaultKind, rate: float) -> bool:
        return rate > 0.0 and self._random[kind].random() < rate

    def firewall_block(self, faults: RequestFaults, client_ip: str, user_agent: str) -> bool:
        """Return True when the firewall blocks this request, and record why."""
        firewall = self.config.firewall
        if firewall is None:
            return False
        reason = None
        for pattern in self._user_agent_patterns:
            if pattern.search(user_agent):
                reason = f"User-Agent {user_agent!r} matches {pattern.pattern!r}"
                break
        if reason is None:
            reason = self._rate_limit_reason(client_ip)
        if reason is None and self._strikes("firewall", firewall.block_rate):
            reason = f"random block with probability {firewall.block_rate}"
        if reason is None:
            return False
        self.record(faults, "firewall", f"{reason} (client {client_ip})")
        return True

    def _rate_limit_reason(self, client_ip: str) -> str | None:
        """Return why the rate limit blocks `client_ip` now, or None.

        Exceeding the limit blocks the client for `block_seconds`; its request history starts
        afresh after that, and requests during the block are not counted.
        """
        firewall = self.config.firewall
        if firewall is None or firewall.max_requests is None:
            return None
        now = self._clock()
        blocked_until = self._blocked_until.get(client_ip)
        if blocked_until is not None and now < blocked_until:
            return f"client blocked for another {blocked_until - now:.1f} s"
        recent = self._recent_requests.setdefault(client_ip, deque())
        recent.append(now)
        while recent and recent[0] <= now - firewall.window_seconds:
            recent.popleft()
        if len(recent) <= firewall.max_requests:
            return None
        recent.clear()
        self._blocked_until[client_ip] = now + firewall.block_seconds
        return (
            f"more than {firewall.max_requests} requests within {firewall.window_seconds} s, "
            f"blocked for {firewall.block_seconds} s"
        )

    def database_error(self, faults: RequestFaults, page: str) -> ReplicaServerError | None:
        """Return the SQL error page to serve for a database page, or None to serve it normally.

        `page` is the casefolded path. A burst window fails every database page; outside one,
        each page kind fails with its own configured probability.
        """
        if page not in DATABASE_PAGES:
            return None
        config = self.config
        page_class = CRITERIA_PAGES.get(page, "ETH_GV.FramePages.SearchResult")
        if page == DETAILS_PAGE:
            page_class = "ETH_GV.Controls.SearchResult"
        if config.burst is not None and config.burst.covers(faults.number):
            error = config.burst.error
            self.record(faults, "burst", f"SQL error {error} inside a burst window")
        else:
            kind, rate = self._page_error_rate(page)
            if not self._strikes(kind, rate):
                return None
            error = self._sql_error_random.choice(config.sql_errors)
            self.record(faults, kind, f"SQL error {error}")
        if page in CRITERIA_PAGES:
            return criteria_database_error(error, page_class)
        return page_database_error(error, page_class)

    def _page_error_rate(self, page: str) -> tuple[FaultKind, float]:
        if page in CRITERIA_PAGES:
            return "criteria_error", self.config.criteria_error_rate
        if page == RESULT_PAGE:
            return "result_error", self.config.result_error_rate
        return "details_error", self.config.details_error_rate

    def search_delay(self, faults: RequestFaults, match_count: int) -> float:
        """Return the seconds a search with `match_count` matches waits before responding."""
        config = self.config
        if config.slow_search_seconds <= 0 or match_count <= config.slow_search_min_matches:
            return 0.0
        self.record(
            faults,
            "slow_search",
            f"{match_count} matches, waiting {config.slow_search_seconds} s",
        )
        return config.slow_search_seconds

    def should_drop(self, faults: RequestFaults) -> bool:
        """Return True when this request's connection is to be dropped, and record it."""
        if not self._strikes("dropped", self.config.drop_rate):
            return False
        self.record(faults, "dropped", "connection closed after the response headers")
        return True

    def truncate(self, faults: RequestFaults, body: bytes) -> bytes | None:
        """Return the body cut short, or None to send it whole.

        The cut falls at a random byte before the body's last `</html>` tag, so that tag is
        missing. The cut may split a UTF-8 character.
        """
        if len(body) < 2 or not self._strikes("truncated", self.config.truncate_rate):
            return None
        closing_tag = body.rfind(b"</html>")
        limit = closing_tag if closing_tag > 0 else len(body) - 1
        cut = self._random["truncated"].randint(1, limit)
        self.record(faults, "truncated", f"body cut to {cut} of {len(body)} bytes")
        return body[:cut]
