"""RunCache: values kept per run, cleared on a new run, bounded in size."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from durban_valuations.api.per_run_cache import RunCache
from durban_valuations.store.stats import CompletedRun

FIRST = CompletedRun(id=1, finished_at=datetime(2024, 1, 1, tzinfo=UTC), complete_runs=1)
SECOND = CompletedRun(id=2, finished_at=datetime(2024, 2, 1, tzinfo=UTC), complete_runs=2)


def _counting() -> tuple[list[int], Callable[[], object]]:
    calls: list[int] = []

    def compute() -> object:
        calls.append(1)
        return object()

    return calls, compute


def test_cache_same_object_same_run() -> None:
    cache: RunCache[object] = RunCache()
    calls, compute = _counting()

    first = cache.get("key", FIRST, compute)
    second = cache.get("key", FIRST, compute)

    assert second is first
    assert len(calls) == 1


def test_cache_new_run_recomputes() -> None:
    cache: RunCache[object] = RunCache()
    calls, compute = _counting()
    first = cache.get("key", FIRST, compute)
    cache.get("other", FIRST, compute)

    second = cache.get("key", SECOND, compute)

    assert second is not first
    assert len(calls) == 3
    assert len(cache) == 1


def test_cache_no_run_not_stored() -> None:
    cache: RunCache[object] = RunCache()
    calls, compute = _counting()

    first = cache.get("key", None, compute)
    second = cache.get("key", None, compute)

    assert second is not first
    assert len(calls) == 2
    assert len(cache) == 0


def test_cache_drops_least_recently_used() -> None:
    cache: RunCache[object] = RunCache(max_size=2)
    calls, compute = _counting()
    cache.get("a", FIRST, compute)
    cache.get("b", FIRST, compute)
    cache.get("a", FIRST, compute)

    cache.get("c", FIRST, compute)
    cache.get("a", FIRST, compute)

    assert len(cache) == 2
    assert len(calls) == 3


def test_cache_size_checked() -> None:
    with pytest.raises(ValueError, match="invalid max_size 0"):
        RunCache(max_size=0)
