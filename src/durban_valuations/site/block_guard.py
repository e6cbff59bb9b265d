"""Reaction of the site client to firewall blocks: slowing down, and pausing every request.

A block is the firewall's "Web Page Blocked!" page or an HTTP 429 response. Each block
halves the shared rate limiter's current rate, and each successful response restores a step
of it (see `RateLimiter`). After `pause_after` consecutive blocks the limiter pauses every
caller for `pause_seconds`. A successful response resets the consecutive count, and other
failures (timeouts, server errors) leave it unchanged. Blocks that arrive during a pause
belong to requests sent before it, so they do not count towards the next pause.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from durban_valuations.site.rate_limit import RateLimiter

logger = logging.getLogger("durban_valuations.site")

# Called with an event kind and its details, such as ("blocked_pause", {...}).
EventCallback = Callable[[str, dict[str, Any]], None]

BLOCKED_PAUSE_EVENT = "blocked_pause"


class BlockGuard:
    """Consecutive block count of one client, acting on its shared rate limiter."""

    def __init__(
        self,
        limiter: RateLimiter,
        *,
        pause_after: int,
        pause_seconds: float,
        on_event: EventCallback | None = None,
    ) -> None:
        if pause_after < 1:
            raise ValueError(f"block_pause_after must be at least 1, got {pause_after}")
        if pause_seconds <= 0:
            raise ValueError(f"block_pause_seconds must be positive, got {pause_seconds}")
        self.limiter = limiter
        self.pause_after = pause_after
        self.pause_seconds = pause_seconds
        self.on_event = on_event
        self.blocks_in_a_row = 0

    def record_block(self, url: str) -> bool:
        """Count a block of `url` and slow down; return True when it started a pause."""
        self.limiter.slow_down()
        if self.limiter.is_paused():
            return False

        self.blocks_in_a_row += 1
        if self.blocks_in_a_row < self.pause_after:
            return False

        blocks = self.blocks_in_a_row
        self.blocks_in_a_row = 0
        self.limiter.pause(self.pause_seconds)
        logger.warning(
            "the site blocked %d requests in a row, so all requests pause for %.1f s "
            "and then resume at %.3g requests/s (last blocked: %s)",
            blocks,
            self.pause_seconds,
            self.limiter.current_rate,
            url,
        )
        self._emit(
            BLOCKED_PAUSE_EVENT,
            {
                "blocks_in_a_row": blocks,
                "pause_seconds": self.pause_seconds,
                "request_rate": self.limiter.current_rate,
                "url": url,
            },
        )
        return True

    def record_success(self) -> None:
        """Reset the consecutive block count and restore a step of the request rate."""
        self.blocks_in_a_row = 0
        self.limiter.speed_up()

    def _emit(self, kind: str, details: dict[str, Any]) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(kind, details)
        except Exception:
            # An alerting hook must not stop the scrape, so its failure is only logged.
            logger.exception("the on_event callback failed for the %s event", kind)
