"""Prometheus metrics of the API: request latency, errors, and the state of the stored roll.

Request metrics are recorded by the request middleware. With PROMETHEUS_MULTIPROC_DIR
set (Gunicorn sets it), every worker writes them to files in that folder and GET
/metrics sums the files of all workers. The database gauges are read when /metrics is
scraped and cached for METRICS_CACHE_SECONDS, so frequent scrapes do not load the database.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from durban_valuations.store.database import DatabaseUrlError
from durban_valuations.store.runs import last_complete_run
from durban_valuations.store.tables import ROLLS, properties

logger = logging.getLogger(__name__)

NAMESPACE = "durban_valuations"
DEFAULT_CACHE_SECONDS = 30.0
# Methods outside this set share the label "other", so a client cannot add label values.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"
_warned_late_directory = False

REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from receiving an HTTP request to sending its last byte, in seconds.",
    ["method", "route", "status"],
    namespace=NAMESPACE,
)
SERVER_ERRORS = Counter(
    "http_server_errors",
    "HTTP responses with a 5xx status.",
    ["method", "route", "status"],
    namespace=NAMESPACE,
)
UNHANDLED_EXCEPTIONS = Counter(
    "http_unhandled_exceptions",
    "Exceptions that no handler of the app caught; each became a 500 response.",
    ["method", "route", "exception"],
    namespace=NAMESPACE,
)


def method_label(method: str) -> str:
    """Return `method`, or "other" for a method outside KNOWN_METHODS."""
    return method if method in KNOWN_METHODS else "other"


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Record one completed request in the latency histogram and, for a 5xx, the error counter."""
    labels = {"method": method_label(method), "route": route, "status": str(status)}
    REQUEST_DURATION.labels(**labels).observe(seconds)
    if status >= 500:
        SERVER_ERRORS.labels(**labels).inc()


def observe_unhandled_exception(method: str, route: str, error: BaseException) -> None:
    """Count an exception that escaped every handler of the app."""
    UNHANDLED_EXCEPTIONS.labels(
        method=method_label(method), route=route, exception=type(error).__name__
    ).inc()


def cache_seconds_from_environment() -> float:
    """Read METRICS_CACHE_SECONDS (default 30): how long database gauges are reused.

    Raises ValueError naming the variable when it is not a number of at least 0.
    """
    raw = os.environ.get("METRICS_CACHE_SECONDS", "").strip()
    if not raw:
        return DEFAULT_CACHE_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise ValueError(
            f"invalid METRICS_CACHE_SECONDS {raw!r}: use a number of seconds, at least 0"
        )
    return seconds


def multiprocess_directory() -> Path | None:
    """Return PROMETHEUS_MULTIPROC_DIR when this process writes its metrics there, else None.

    prometheus-client reads the variable once, when it is first imported. When the
    variable was set only after that, this process keeps its metrics in memory, and
    None is returned with a warning (logged once), so /metrics shows this process's
    requests rather than none.
    """
    global _warned_late_directory
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not value:
        return None
    if values.ValueClass is values.MutexValue:
        if not _warned_late_directory:
            logger.warning(
                "PROMETHEUS_MULTIPROC_DIR=%s was set after prometheus_client was imported, "
                "so /metrics shows only the requests of the worker that serves it; "
                "set the variable before the server starts",
                value,
                extra={"event": "metrics_multiprocess_inactive"},
            )
            _warned_late_directory = True
        return None
    return Path(value)


@dataclass(frozen=True, slots=True)
class RollSnapshot:
    """Values of the database gauges read at one time, or the failure to read them."""

    read_at: float
    database_up: bool
    properties_per_roll: dict[str, int] = field(default_factory=dict)
    last_complete_finished_at: dict[str, datetime] = field(default_factory=dict)


def read_roll_snapshot(engine: Engine, roll_year: int, read_at: float) -> RollSnapshot:
    """Count current properties per roll and find the end of each roll's last complete run.

    A current property is one of `roll_year` that no complete run marked as not seen.
    """
    # NOTE: docs/architecture.md keeps SQL in `store`; this count belongs in
    # store/queries.py beside the other read queries.
    statement = (
        select(properties.c.roll, func.count())
        .where(properties.c.roll_year == roll_year, properties.c.not_seen_since_run_id.is_(None))
        .group_by(properties.c.roll)
    )
    with engine.connect() as connection:
        counts = {roll: 0 for roll in ROLLS}
        counts.update({roll: count for roll, count in connection.execute(statement)})
        finished: dict[str, datetime] = {}
        for roll in ROLLS:
            run = last_complete_run(connection, roll_year, [roll])
            if run is not None and run.finished_at is not None:
                finished[roll] = run.finished_at
    return RollSnapshot(read_at, True, counts, finished)


class RollCollector:
    """Collects the database gauges, reading the database at most once per cache period.

    Gauges: database_up (1 when the last read succeeded), properties{roll} and
    last_complete_run_age_seconds{roll}. The age is computed at each scrape from the
    cached end time, so it keeps growing between reads. A roll without a complete run
    has no age sample, and a failed read leaves out both per-roll gauges.
    """

    def __init__(
        self,
        engine: Callable[[], Engine],
        roll_year: int,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._roll_year = roll_year
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: RollSnapshot | None = None

    def snapshot(self) -> RollSnapshot:
        """Return the cached snapshot, reading a new one when it is older than the cache period."""
        with self._lock:
            now = self._clock()
            cached = self._snapshot
            if cached is not None and now - cached.read_at < self._cache_seconds:
                return cached
            try:
                self._snapshot = read_roll_snapshot(self._engine(), self._roll_year, now)
            except (SQLAlchemyError, DatabaseUrlError) as error:
                # A failure is cached like a success, so a down database costs one
                # attempt and one log line per cache period.
                logger.warning(
                    "reading the database metrics failed: %s",
                    error,
                    extra={"event": "metrics_database_failed", "error_type": type(error).__name__},
                )
                self._snapshot = RollSnapshot(now, False)
            return self._snapshot

    def collect(self) -> Iterator[Metric]:
        snapshot = self.snapshot()
        yield GaugeMetricFamily(
            f"{NAMESPACE}_database_up",
            "1 when the last read of the database gauges succeeded, else 0.",
            value=1 if snapshot.database_up else 0,
        )
        if not snapshot.database_up:
            return
        current = GaugeMetricFamily(
            f"{NAMESPACE}_properties",
            "Properties of the served roll year that no complete run marked as not seen.",
            labels=["roll"],
        )
        for roll, count in sorted(snapshot.properties_per_roll.items()):
            current.add_metric([roll], count)
        yield current
        age = GaugeMetricFamily(
            f"{NAMESPACE}_last_complete_run_age_seconds",
            "Seconds since the newest complete, trusted scrape run of the roll finished.",
            labels=["roll"],
        )
        now = datetime.now(UTC)
        for roll, finished_at in sorted(snapshot.last_complete_finished_at.items()):
            age.add_metric([roll], max(0.0, (now - finished_at).total_seconds()))
        yield age


def _sibling_process_ids() -> list[int]:
    """Return the ids of the children of this process's parent: the Gunicorn workers.

    Reads /proc (Linux). Where that fails, returns this process alone.
    """
    parent = os.getppid()
    children = Path(f"/proc/{parent}/task/{parent}/children")
    try:
        process_ids = [int(value) for value in children.read_text().split()]
    except (OSError, ValueError):
        return [os.getpid()]
    return process_ids or [os.getpid()]


def _returning(value: int) -> Callable[[], int]:
    return lambda: value


class WorkerProcessCollector:
    """Collects the standard process metrics of every worker, labelled by `pid`.

    prometheus-client's ProcessCollector reads one process, and a multiprocess
    registry has none, so this reads each sibling worker through /proc.
    """

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for process_id in _sibling_process_ids():
            collector = ProcessCollector(pid=_returning(process_id), registry=None)
            for metric in collector.collect():
                merged = families.setdefault(
                    metric.name, Metric(metric.name, metric.documentation, metric.type)
                )
                for sample in metric.samples:
                    labels = {**sample.labels, "pid": str(process_id)}
                    merged.add_sample(sample.name, labels, sample.value)
        yield from families.values()


class _CombinedCollector:
    """Collects from several collectors, in order, for one exposition."""

    def __init__(self, collectors: Iterable[Collector]) -> None:
        self._collectors = list(collectors)

    def collect(self) -> Iterator[Metric]:
        for collector in self._collectors:
            yield from collector.collect()


def render_metrics(roll_collector: Collector) -> tuple[bytes, str]:
    """Return the Prometheus text exposition of every metric and its content type.

    In multiprocess mode the request metrics are summed over the files of all workers,
    and process metrics come from WorkerProcessCollector. Otherwise they come from this
    process's default registry, which includes process, platform and GC metrics.
    """
    directory = multiprocess_directory()
    if directory is not None:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
        collectors: list[Collector] = [registry, WorkerProcessCollector(), roll_collector]
    else:
        collectors = [REGISTRY, roll_collector]
    return generate_latest(_CombinedCollector(collectors)), CONTENT_TYPE_LATEST
