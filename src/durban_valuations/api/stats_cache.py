"""A per-process cache of statistics responses, valid until the next complete run.

Each Gunicorn worker has its own cache. A worker reads the last complete run again once
its reading is older than API_RUN_CACHE_SECONDS (see `run_cache`), so all workers drop
their entries soon after a newer complete run is recorded, without sharing state.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from durban_valuations.store.stats import CompletedRun

Value = TypeVar("Value")

# Enough for every suburb of the roll with each roll choice (about 3 x 500 entries).
DEFAULT_MAX_ENTRIES = 2048


class RunCache(Generic[Value]):
    """Values computed for the current last complete run, least recently used dropped first.

    Safe to share between the threads of one process. Two threads that miss on the same
    key at once both compute the value, and the second one stored wins.
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError(f"invalid max_entries {max_entries}: expected at least 1")
        self._max_entries = max_entries
        self._run: CompletedRun | None = None
        self._entries: OrderedDict[Hashable, Value] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, run: CompletedRun | None, compute: Callable[[], Value]) -> Value:
        """Return the value cached for `key` under `run`, or compute and store it.

        A `run` other than the one of the stored values clears them first. With no
        complete run (`run` is None) nothing is cached, because an unfinished run may
        still be writing the properties.
        """
        found, value = self.lookup(key, run)
        if found:
            return value  # type: ignore[return-value]
        value = compute()
        self.store(key, run, value)
        return value

    def lookup(self, key: Hashable, run: CompletedRun | None) -> tuple[bool, Value | None]:
        """Return (True, value) when a value for `key` under `run` is stored, else (False, None).

        A `run` other than the one of the stored values clears them first.
        """
        if run is None:
            return False, None
        with self._lock:
            if run != self._run:
                self._entries.clear()
                self._run = run
            if key in self._entries:
                self._entries.move_to_end(key)
                return True, self._entries[key]
        return False, None

    def store(self, key: Hashable, run: CompletedRun | None, value: Value) -> None:
        """Store `value` for `key` if `run` is still the run of the stored values."""
        if run is None:
            return
        with self._lock:
            if run == self._run:
                self._entries[key] = value
                self._entries.move_to_end(key)
                while len(self._entries) > self._max_entries:
                    self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
