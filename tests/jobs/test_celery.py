"""Celery on a real Redis: a pool of real workers completes a scrape equal to the truth."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
import redis
from sqlalchemy import Engine, text

from durban_valuations.config import Settings
from durban_valuations.jobs.celery_app import PART_TASK, SCRAPE_TASK, create_celery_app
from durban_valuations.replica.ground_truth import export_ground_truth
from durban_valuations.replica.server import running_replica

ROWS = 6000
SEED = 31


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """URL of an empty Redis: TEST_REDIS_URL's server when set, else a redis-server started here."""
    external = os.environ.get("TEST_REDIS_URL")
    if external:
        client = redis.Redis.from_url(external)
        client.flushdb()
        client.close()
        yield external
        return
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed: run `apt-get install redis-server`")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


def start_worker(database_url: str, broker_url: str, log: BinaryIO) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_SCRAPE_PARTS": "2",
        "REQUEST_RATE": "2000",
        "REQUEST_CONCURRENCY": "4",
        "REQUEST_RETRIES": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "--app", "durban_valuations.jobs.celery_app",
         "worker", "--concurrency", "2", "--pool", "prefork", "--loglevel", "INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def wait_for_run_end(engine: Engine, seconds: float, log: Path) -> tuple[int, str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            run = connection.execute(
                text("SELECT id, status FROM scrape_runs ORDER BY id DESC LIMIT 1")
            ).first()
        if run is not None and run.status not in ("running", "interrupted"):
            return int(run.id), str(run.status)
        time.sleep(0.5)
    raise AssertionError("the run did not finish in time; worker log:\n" + log.read_text()[-4000:])


def test_worker_pool_scrape_equals_truth(
    engine: Engine, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    with running_replica(rows=ROWS, seed=SEED) as site:
        with log.open("wb") as log_file:
            worker = start_worker(database_url, redis_url, log_file)
        try:
            app = create_celery_app(Settings(_env_file=None, celery_broker_url=redis_url))
            app.send_task(SCRAPE_TASK, kwargs={"source_url": site.url})
            run_id, status = wait_for_run_end(engine, 240, log)
        finally:
            worker.terminate()
            worker.wait(timeout=60)
        truth_path = tmp_path / "truth.jsonl"
        export_ground_truth(site.roll, truth_path)

    truth = {
        int(record["pin"]): record
        for record in map(json.loads, truth_path.read_text().splitlines())
    }
    assert status == "complete", log.read_text()[-4000:]
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT pin, rate_number, raw_address, market_value FROM properties")
        ).all()
        parts = connection.execute(
            text("SELECT roll, part, status, searches, requests FROM run_parts WHERE run_id = :r"),
            {"r": run_id},
        ).all()
        run = connection.execute(
            text("SELECT requests, rows_full, rows_sectional FROM scrape_runs WHERE id = :r"),
            {"r": run_id},
        ).one()
    assert sorted(int(row.pin) for row in rows) == sorted(truth)
    for row in rows:
        expected = truth[int(row.pin)]
        assert (row.rate_number, row.raw_address) == (expected["rate_number"], expected["address"])
    assert sorted((part.roll, part.part, part.status) for part in parts) == [
        ("full", 0, "done"), ("full", 1, "done"),
        ("sectional", 0, "done"), ("sectional", 1, "done"),
    ]  # fmt: skip
    # Every part did its share of the searches.
    assert all(part.searches > 0 for part in parts)
    assert run.requests == sum(part.requests for part in parts)
    assert run.rows_full + run.rows_sectional == len(truth)
    # Both workers of the pool took tasks.
    assert PART_TASK in log.read_text()
