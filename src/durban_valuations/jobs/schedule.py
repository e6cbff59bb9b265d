"""Scrape on a schedule in one long-running process, with APScheduler.

The job runs every EXTRACTION_INTERVAL days, optionally at a fixed time of day. Missed
runs (the machine slept, a run took longer than the interval) are coalesced into one.
A run never starts while another is running: APScheduler keeps one instance of the job,
and the scrape itself takes the database lock, so a scrape started by hand or by another
host is skipped too. A stop (SIGTERM or SIGINT) interrupts the running scrape cleanly:
its remaining searches stay pending and the next run resumes them.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from types import FrameType
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from durban_valuations.config import Settings
from durban_valuations.jobs.scrape import ScrapeResult, run_scrape
from durban_valuations.site.models import Roll
from durban_valuations.store.locks import ScrapeInProgressError

logger = logging.getLogger(__name__)

JOB_ID = "scrape"
DEFAULT_TIMEZONE = "Africa/Johannesburg"

ScrapeJob = Callable[[threading.Event], ScrapeResult | None]


@dataclass(slots=True)
class ScheduleStats:
    """Counters and times of the scheduler's runs, for logs and tests."""

    started: list[datetime] = field(default_factory=list)
    finished: list[datetime] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    skipped_busy: int = 0


def first_run_time(at: time | None, now: datetime) -> datetime:
    """Return when the first run starts: now, or the next time the clock shows `at`."""
    if at is None:
        return now
    candidate = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return candidate if candidate > now else candidate + timedelta(days=1)


def scrape_job(
    settings: Settings,
    engine: Engine,
    rolls: list[Roll],
    source_url: str | None = None,
) -> ScrapeJob:
    """Return the job that scrapes `rolls` once, stopping when its event is set."""

    def job(stop: threading.Event) -> ScrapeResult | None:
        try:
            return run_scrape(settings, engine, rolls=rolls, source_url=source_url, stop=stop)
        except ScrapeInProgressError as error:
            logger.warning("scheduled scrape skipped: %s", error)
            return None

    return job


class ScrapeScheduler:
    """Runs a scrape job every `interval`, one at a time, until stopped."""

    def __init__(
        self,
        job: ScrapeJob,
        interval: timedelta,
        *,
        at: time | None = None,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> None:
        if interval <= timedelta(0):
            raise ValueError(f"the interval must be positive, got {interval}")
        self.job = job
        self.interval = interval
        self.timezone = ZoneInfo(timezone)
        self.stop_event = threading.Event()
        self.stats = ScheduleStats()
        self._lock = threading.Lock()
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            timezone=self.timezone,
        )
        start = first_run_time(at, datetime.now(self.timezone))
        self._scheduler.add_job(
            self._run,
            IntervalTrigger(seconds=interval.total_seconds(), timezone=self.timezone),
            id=JOB_ID,
            name="scrape",
            next_run_time=start,
            # A late run still starts when it is less than one interval late; several
            # missed runs start once.
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(interval.total_seconds())),
        )
        self._scheduler.add_listener(self._after_run, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    def _run(self) -> None:
        if self.stop_event.is_set():
            return
        if not self._lock.acquire(blocking=False):
            # APScheduler keeps one instance; this guards a job started by hand as well.
            self.stats.skipped_busy += 1
            logger.warning("scheduled scrape skipped: the previous one is still running")
            return
        try:
            self.stats.started.append(datetime.now(self.timezone))
            logger.info("scheduled scrape started")
            result = self.job(self.stop_event)
            self.stats.statuses.append(result.status if result is not None else "skipped")
        finally:
            self.stats.finished.append(datetime.now(self.timezone))
            # APScheduler planned the next run before this one started. `stop` waits for
            # this lock before it shuts the scheduler down, which holds the job store's
            # lock that reading the job needs.
            if not self.stop_event.is_set():
                self.log_next_run()
            self._lock.release()

    def _after_run(self, event: JobExecutionEvent) -> None:
        # Runs in the executor's thread; it must not take the scheduler's locks.
        if event.exception is not None:
            logger.error(
                "scheduled scrape raised %s: %s; the schedule goes on",
                type(event.exception).__name__,
                event.exception,
            )

    def next_run_time(self) -> datetime | None:
        """Return when the job runs next, or None once the scheduler stopped."""
        job = self._scheduler.get_job(JOB_ID)
        return None if job is None else job.next_run_time

    def log_next_run(self) -> None:
        """Log the next run time of the job."""
        upcoming = self.next_run_time()
        if upcoming is not None:
            logger.info("next scheduled scrape at %s", upcoming.isoformat(timespec="seconds"))

    def start(self) -> None:
        """Start the scheduler thread; the first run starts at its planned time."""
        self._scheduler.start()
        logger.info("scheduler started, every %s", self.interval)
        self.log_next_run()

    def stop(self) -> None:
        """Interrupt the running scrape and wait for it to save its state."""
        self.stop_event.set()
        if self._scheduler.running:
            logger.info(
                "scheduler stopping; a scrape still running is interrupted and resumes later"
            )
            # Wait for the running scrape to save its state before the shutdown.
            with self._lock:
                self._scheduler.shutdown(wait=True)

    def run_until_signal(self) -> None:
        """Start, block until SIGTERM or SIGINT, then stop cleanly."""

        def on_signal(number: int, _frame: FrameType | None) -> None:
            logger.info("received %s", signal.Signals(number).name)
            self.stop_event.set()

        previous = {
            number: signal.signal(number, on_signal) for number in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self.start()
            while not self.stop_event.wait(1.0):
                pass
        finally:
            self.stop()
            for number, handler in previous.items():
                signal.signal(number, handler)
