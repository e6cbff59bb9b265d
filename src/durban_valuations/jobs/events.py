"""Run events (failed, suspect, blocked) for alerting: logged, then passed to listeners.

Email alerts and other notifiers register a listener with `add_listener`; a listener
that raises is logged and never stops the job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

Listener = Callable[[str, dict[str, Any]], None]

_listeners: list[Listener] = []

ROUTINE_EVENTS = frozenset({"run_finished"})


def add_listener(listener: Listener) -> None:
    """Call `listener(kind, details)` for every event emitted from now on."""
    _listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    """Stop calling `listener`; a listener that was never added is ignored."""
    if listener in _listeners:
        _listeners.remove(listener)


def emit(kind: str, details: dict[str, Any]) -> None:
    """Log the event and pass it to every listener."""
    # A finished run is routine; the other events report a problem.
    level = logging.INFO if kind in ROUTINE_EVENTS else logging.WARNING
    logger.log(level, "run event %s", kind, extra={"event": kind, **details})
    for listener in list(_listeners):
        try:
            listener(kind, details)
        except Exception:
            logger.exception("event listener failed", extra={"event": kind})
