"""The APScheduler loop: short intervals, no overlap, clean stops, real scrapes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as time_of_day
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text

from durban_valuations.config import Settings
from durban_valuations.jobs.schedule import ScrapeScheduler, first_run_time, scrape_job
from durban_valuations.jobs.scrape import ScrapeResult
from durban_valuations.replica.server import running_replica
from durban_valuations.site.models import Roll
from durban_valuations.store.locks import scrape_lock

ZONE = ZoneInfo("Africa/Johannesburg")


def wait_until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {seconds} s")
        time.sleep(0.05)


def test_first_run_now_without_time_of_day() -> None:
    now = datetime(2026, 12, 4, 10, 0, tzinfo=ZONE)
    assert first_run_time(None, now) == now


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (time_of_day(11, 30), datetime(2026, 12, 4, 11, 30, tzinfo=ZONE)),
        (time_of_day(2, 0), datetime(2026, 12, 5, 2, 0, tzinfo=ZONE)),
        (time_of_day(10, 0), datetime(2026, 12, 5, 10, 0, tzinfo=ZONE)),
    ],
)
def test_first_run_at_next_time_of_day(at: time_of_day, expected: datetime) -> None:
    assert first_run_time(at, datetime(2026, 12, 4, 10, 0, tzinfo=ZONE)) == expected


def test_rejects_non_positive_interval() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        ScrapeScheduler(lambda stop: None, timedelta(0))


def test_short_interval_fires_repeatedly_without_overlap() -> None:
    running = threading.Lock()
    overlaps: list[datetime] = []

    def slow_job(stop: threading.Event) -> ScrapeResult | None:
        if not running.acquire(blocking=False):
            overlaps.append(datetime.now(ZONE))
            return None
        try:
            stop.wait(0.35)  # longer than the interval
        finally:
            running.release()
        return ScrapeResult(run_id=0, status="complete")

    scheduler = ScrapeScheduler(slow_job, timedelta(seconds=0.1))
    scheduler.start()
    try:
        wait_until(lambda: len(scheduler.stats.finished) >= 3, 10)
    finally:
        scheduler.stop()

    stats = scheduler.stats
    assert overlaps == []
    assert stats.statuses[:3] == ["complete"] * 3
    for finished, next_start in zip(stats.finished, stats.started[1:], strict=False):
        assert next_start >= finished


def test_stop_interrupts_running_job_and_waits_for_it() -> None:
    saw_stop = threading.Event()

    def job(stop: threading.Event) -> ScrapeResult | None:
        stop.wait(30)
        saw_stop.set()
        return ScrapeResult(run_id=0, status="interrupted")

    scheduler = ScrapeScheduler(job, timedelta(hours=1))
    scheduler.start()
    wait_until(lambda: bool(scheduler.stats.started), 5)
    started = time.monotonic()
    scheduler.stop()

    assert saw_stop.is_set()
    assert time.monotonic() - started < 5
    assert scheduler.stats.statuses == ["interrupted"]
    assert scheduler.next_run_time() is None


def test_failing_job_keeps_the_schedule(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def job(stop: threading.Event) -> ScrapeResult | None:
        calls.append(1)
        raise RuntimeError("database went away")

    scheduler = ScrapeScheduler(job, timedelta(seconds=0.1))
    scheduler.start()
    try:
        wait_until(lambda: len(calls) >= 2, 10)
    finally:
        scheduler.stop()
    assert "database went away" in caplog.text


def settings() -> Settings:
    return Settings(_env_file=None, request_rate=2000, request_concurrency=4, request_retries=0)


def test_scheduled_scrapes_of_the_replica(engine: Engine) -> None:
    with running_replica(rows=3000, seed=5) as site:
        job = scrape_job(settings(), engine, [Roll.FULL, Roll.SECTIONAL], site.url)
        scheduler = ScrapeScheduler(job, timedelta(seconds=0.5))
        scheduler.start()
        try:
            wait_until(lambda: len(scheduler.stats.statuses) >= 2, 120)
        finally:
            scheduler.stop()

    assert scheduler.stats.statuses[:2] == ["complete", "complete"]
    with engine.connect() as connection:
        runs = connection.execute(
            text("SELECT status, started_at, finished_at FROM scrape_runs ORDER BY id")
        ).all()
    assert [run.status for run in runs[:2]] == ["complete", "complete"]
    assert runs[1].started_at >= runs[0].finished_at


def test_scrape_held_elsewhere_is_skipped(engine: Engine) -> None:
    job = scrape_job(settings(), engine, [Roll.FULL], "http://127.0.0.1:9")
    with scrape_lock(engine, 2022):
        assert job(threading.Event()) is None


def test_stop_during_scrape_leaves_a_resumable_run(engine: Engine) -> None:
    slow = settings().model_copy(update={"request_rate": 20.0, "request_concurrency": 1})
    with running_replica(rows=3000, seed=5) as site:
        scheduler = ScrapeScheduler(
            scrape_job(slow, engine, [Roll.FULL], site.url), timedelta(hours=1)
        )
        scheduler.start()
        wait_until(lambda: bool(scheduler.stats.started), 5)
        time.sleep(1.5)
        scheduler.stop()

        assert scheduler.stats.statuses == ["interrupted"]
        resumed = scrape_job(settings(), engine, [Roll.FULL], site.url)(threading.Event())
    assert resumed is not None
    assert resumed.resumed
    assert resumed.status == "complete"


def test_schedule_command_stops_on_sigterm(database_url: str) -> None:
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REQUEST_RETRIES": "0",
        "PYTHONUNBUFFERED": "1",
    }
    # A closed port: every run fails fast, and the loop must go on until SIGTERM.
    process = subprocess.Popen(
        [sys.executable, "-m", "durban_valuations.cli", "schedule",
         "--source", "http://127.0.0.1:9", "--interval-seconds", "1"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while sum("next scheduled scrape at" in line for line in lines) < 2:
            assert time.monotonic() < deadline, "".join(lines)
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    lines.append(output)
    assert process.returncode == 0, "".join(lines)
    assert "scheduler stopping" in "".join(lines)


def test_scrape_command_ends_interrupted_on_sigterm(database_url: str, engine: Engine) -> None:
    with running_replica(rows=3000, seed=5) as site:
        environment = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REQUEST_RATE": "20",
            "REQUEST_CONCURRENCY": "1",
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "durban_valuations.cli", "scrape", "--source", site.url],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:

            def searches_done() -> bool:
                with engine.connect() as connection:
                    done = connection.execute(
                        text("SELECT count(*) FROM crawl_searches WHERE status = 'done'")
                    ).scalar_one()
                return int(done) >= 5

            wait_until(searches_done, 60)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 1
        finally:
            process.kill()
    with engine.connect() as connection:
        status = connection.execute(text("SELECT status FROM scrape_runs")).scalar_one()
    assert status == "interrupted"
