"""A per-process cache of values computed under the last complete run, dropped when it changes.

The statistics routes keep their results here, and the response cache keeps whole
responses. Each Gunicorn worker has its own caches. A worker reads the last complete run
again once its reading is older than API_RUN_CACHE_SECONDS (see `run_cache`), so all
workers drop their entries soon after a newer complete run is recorded, without sharing
state.
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


def _one(value: object) -> int:
    return 1


class RunCache(Generic[Value]):
    """Values computed for the current last complete run, least recently used dropped first.

    `size` gives the size of a value, and the sizes of the stored values add up to at
    most `max_size`. By default every value has size 1, so `max_size` counts entries.
    A value larger than `max_item_size` is not stored. Safe to share between the threads
    of one process. Two threads that miss on the same key at once both compute the
    value, and the second one stored wins.
    """

    def __init__(
        self,
        max_size: int = DEFAULT_MAX_ENTRIES,
        size: Callable[[Value], int] = _one,
        max_item_size: int | None = None,
    ) -> None:
        if max_size < 1:
            raise ValueError(f"invalid max_size {max_size}: expected at least 1")
        self.max_size = max_size
        self.max_item_size = max_size if max_item_size is None else max_item_size
        self._size_of = size
        self._total = 0
        self._run: CompletedRun | None = None
        self._entries: OrderedDict[Hashable, tuple[Value, int]] = OrderedDict()
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
            self._follow(run)
            if key in self._entries:
                self._entries.move_to_end(key)
                return True, self._entries[key][0]
        return False, None

    def store(self, key: Hashable, run: CompletedRun | None, value: Value) -> None:
        """Store `value` for `key` under `run`, unless it is larger than `max_item_size`.

        A value computed under an older run than the stored values is not stored.
        """
        size = self._size_of(value)
        if run is None or size > self.max_item_size:
            return
        with self._lock:
            if self._run is None:
                self._run = run
            if run != self._run:
                return
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._total -= previous[1]
            self._entries[key] = (value, size)
            self._total += size
            while self._total > self.max_size:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._total -= dropped

    @property
    def total_size(self) -> int:
        """Sum of the sizes of the stored values."""
        with self._lock:
            return self._total

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _follow(self, run: CompletedRun) -> None:
        """Drop every entry when `run` is not the run they were stored under (lock held)."""
        if run != self._run:
            self._entries.clear()
            self._total = 0
            self._run = run
