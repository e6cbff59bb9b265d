"""The production server: Gunicorn with two Uvicorn workers, as a real process on 127.0.0.1.

Each test starts `gunicorn -c gunicorn.conf.py` from the repository root file on a port
the kernel picks (GUNICORN_BIND=127.0.0.1:0) against the test's embedded PostgreSQL,
and reads the JSON lines it writes to standard output and standard error.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import make_url, text

from durban_valuations.store.database import make_engine
from durban_valuations.store.migrations import head_revision

from .problem import problem

REPOSITORY = Path(__file__).resolve().parents[2]
CONFIG_FILE = REPOSITORY / "gunicorn.conf.py"
GRACEFUL_TIMEOUT = 30.0
START_TIMEOUT = 60.0
# Variables of the developer's or CI's shell that would change what the server does.
CLEARED_VARIABLES = (
    "DATABASE_URL",
    "EMAIL_PASSWORD",
    "GUNICORN_BIND",
    "GUNICORN_CMD_ARGS",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "METRICS_CACHE_SECONDS",
    "PROMETHEUS_MULTIPROC_DIR",
    "WEB_CONCURRENCY",
)


def _complete_lines(path: Path) -> list[str]:
    """Return the lines of `path` that end with a newline; the last may still be written."""
    content = path.read_text(encoding="utf-8") if path.exists() else ""
    return content.splitlines()[: content.count("\n")]


@dataclass
class GunicornServer:
    """A running Gunicorn master, its address and its captured output."""

    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    base_url: str = ""

    def stdout_lines(self) -> list[str]:
        return _complete_lines(self.stdout_path)

    def stderr_lines(self) -> list[str]:
        return _complete_lines(self.stderr_path)

    def records(self) -> list[dict[str, Any]]:
        """Parse every line of both streams as JSON; a line that is not JSON fails the test."""
        return [json.loads(line) for line in self.stdout_lines() + self.stderr_lines()]

    def access_records(self, path: str) -> list[dict[str, Any]]:
        return [
            record
            for record in map(json.loads, self.stdout_lines())
            if record.get("event") == "http_request" and record.get("path") == path
        ]

    def output(self) -> str:
        return "\n".join(self.stdout_lines() + self.stderr_lines())

    def group_alive(self) -> bool:
        """Return whether any process of the server's process group (master or worker) runs."""
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def shutdown(self) -> None:
        """Stop the master with SIGTERM, then kill whatever is left of its process group.

        Uvicorn workers do not notice that their master died, so killing the master
        alone would leave them running.
        """
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=GRACEFUL_TIMEOUT + 10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.group_alive():
            os.killpg(self.process.pid, signal.SIGKILL)


def _wait_until(condition: Callable[[], bool], timeout: float, description: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {description}")


def _launch(tmp_path: Path, environment: dict[str, str]) -> GunicornServer:
    env = {key: value for key, value in os.environ.items() if key not in CLEARED_VARIABLES}
    env.update(
        GUNICORN_BIND="127.0.0.1:0",
        WEB_CONCURRENCY="2",
        PYTHONUNBUFFERED="1",
        # Gunicorn's control socket goes to XDG_RUNTIME_DIR, so parallel servers differ.
        XDG_RUNTIME_DIR=str(tmp_path),
    )
    env.update(environment)
    stdout_path, stderr_path = tmp_path / "gunicorn.out", tmp_path / "gunicorn.err"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(CONFIG_FILE)],
            cwd=tmp_path,  # no .env of the checkout is read
            env=env,
            start_new_session=True,  # its own process group, so teardown reaches the workers
            stdout=stdout,
            stderr=stderr,
        )
    return GunicornServer(process, stdout_path, stderr_path)


def _wait_for_workers(server: GunicornServer, workers: int) -> None:
    """Wait until every worker finished its startup, and set the server's address."""

    def started() -> bool:
        if server.process.poll() is not None:
            raise AssertionError(
                f"gunicorn exited with code {server.process.returncode}:\n{server.output()}"
            )
        messages = [json.loads(line)["message"] for line in server.stderr_lines()]
        return messages.count("Application startup complete.") >= workers

    _wait_until(started, START_TIMEOUT, f"{workers} workers to start")
    for line in server.stderr_lines():
        match = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", json.loads(line)["message"])
        if match:
            server.base_url = match.group(1)
    assert server.base_url, server.output()


@pytest.fixture
def start_gunicorn(tmp_path: Path) -> Iterator[Callable[..., GunicornServer]]:
    """Start Gunicorn with extra environment variables; every server is stopped at the end."""
    servers: list[GunicornServer] = []

    def start(workers: int = 2, **environment: str) -> GunicornServer:
        folder = tmp_path / f"server_{len(servers)}"
        folder.mkdir()
        server = _launch(folder, {"WEB_CONCURRENCY": str(workers), **environment})
        servers.append(server)
        _wait_for_workers(server, workers)
        return server

    yield start
    for server in servers:
        server.shutdown()


def _free_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on at the time of the call."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _histogram_count(metrics_text: str, route: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        if family.name != "durban_valuations_http_request_duration_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_count") and sample.labels == {
                "method": "GET",
                "route": route,
                "status": "200",
            }:
                return sample.value
    return 0.0


def test_gunicorn_serves_health_and_ready(
    start_gunicorn: Callable[..., GunicornServer], database_url: str
) -> None:
    server = start_gunicorn(DATABASE_URL=database_url)

    health = httpx.get(f"{server.base_url}/health", timeout=10)
    ready = httpx.get(f"{server.base_url}/ready", timeout=10)

    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok", "revision": head_revision()}
    booted = [
        record["process"]
        for record in server.records()
        if record["message"].startswith("Booting worker with pid")
    ]
    assert len(set(booted)) == 2
    assert any("ApiUvicornWorker" in record["message"] for record in server.records())


def test_gunicorn_metrics_sum_workers(
    start_gunicorn: Callable[..., GunicornServer], database_url: str
) -> None:
    server = start_gunicorn(DATABASE_URL=database_url)

    # Each call opens a new connection, so the kernel hands requests to either worker.
    sent = 0
    while sent < 200:
        assert httpx.get(f"{server.base_url}/suburbs", timeout=10).status_code == 200
        sent += 1
        if sent >= 10 and len({r["process"] for r in server.access_records("/suburbs")}) >= 2:
            break
    _wait_until(lambda: len(server.access_records("/suburbs")) == sent, 10, "access lines")
    workers_used = {record["process"] for record in server.access_records("/suburbs")}
    assert len(workers_used) == 2, f"all {sent} requests went to one worker"

    scrapes = [httpx.get(f"{server.base_url}/metrics", timeout=10) for _ in range(4)]

    for scrape in scrapes:
        assert scrape.status_code == 200
        assert scrape.headers["content-type"].startswith("text/plain")
        assert _histogram_count(scrape.text, "/suburbs") == sent
    process_pids = {
        sample.labels["pid"]
        for family in text_string_to_metric_families(scrapes[-1].text)
        if family.name == "process_resident_memory_bytes"
        for sample in family.samples
    }
    assert {str(pid) for pid in workers_used} <= process_pids


def test_gunicorn_sigterm_drains_request(
    start_gunicorn: Callable[..., GunicornServer], database_url: str
) -> None:
    server = start_gunicorn(DATABASE_URL=database_url)
    metrics_folder = next(
        record["message"].removeprefix("Prometheus multiprocess metrics in ")
        for record in server.records()
        if record["message"].startswith("Prometheus multiprocess metrics in ")
    )
    assert Path(metrics_folder).is_dir()
    engine = make_engine(database_url)
    responses: list[httpx.Response] = []
    try:
        with engine.connect() as lock_holder:
            # The request's query waits on this lock, so it is in progress at SIGTERM.
            lock_holder.execute(text("LOCK TABLE properties IN ACCESS EXCLUSIVE MODE"))
            request = threading.Thread(
                target=lambda: responses.append(
                    httpx.get(f"{server.base_url}/properties?limit=1", timeout=60)
                )
            )
            request.start()

            def query_waits() -> bool:
                with engine.connect() as observer:
                    waiting = observer.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                        )
                    ).scalar_one()
                return int(waiting) > 0

            _wait_until(query_waits, 20, "the request to wait on the table lock")
            stopped_at = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            assert server.process.poll() is None, "gunicorn exited before the request ended"
            assert not responses
            lock_holder.rollback()
        request.join(timeout=30)
        exit_code = server.process.wait(timeout=GRACEFUL_TIMEOUT + 10)
        elapsed = time.monotonic() - stopped_at
    finally:
        engine.dispose()

    assert [response.status_code for response in responses] == [200]
    assert exit_code == 0
    assert elapsed < GRACEFUL_TIMEOUT
    messages = [record["message"] for record in server.records()]
    assert messages.count("Application shutdown complete.") == 2
    assert "Shutting down: Master" in messages
    assert not server.group_alive()
    assert not Path(metrics_folder).exists()


def test_gunicorn_json_logs_request_id(
    start_gunicorn: Callable[..., GunicornServer], database_url: str
) -> None:
    server = start_gunicorn(DATABASE_URL=database_url)

    response = httpx.get(
        f"{server.base_url}/properties",
        params={"limit": 1},
        headers={"X-Request-ID": "req-4f2a"},
        timeout=10,
    )

    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-4f2a"
    _wait_until(lambda: bool(server.access_records("/properties")), 10, "the access line")
    [access] = server.access_records("/properties")
    assert access["request_id"] == "req-4f2a"
    assert access["level"] == "INFO"
    assert access["route"] == "/properties"
    assert access["status"] == 200
    assert access["duration_ms"] > 0
    assert access["logger"] == "durban_valuations.access"
    for record in server.records():
        assert {"time", "level", "logger", "message", "event", "run_id", "request_id"} <= set(
            record
        )


def test_gunicorn_logs_no_secret(
    start_gunicorn: Callable[..., GunicornServer], database_url: str
) -> None:
    database_password = "Db-Pa55word-in-url"
    email_password = "Mail-Pa55word-secret"
    # The embedded server trusts local connections, so it accepts any password.
    url_with_password = (
        make_url(database_url).set(password=database_password).render_as_string(False)
    )
    server = start_gunicorn(
        DATABASE_URL=url_with_password, EMAIL_PASSWORD=email_password, LOG_LEVEL="DEBUG"
    )

    responses = [
        httpx.get(f"{server.base_url}/ready", timeout=10),
        httpx.get(f"{server.base_url}/missing-{email_password}", timeout=10),
        httpx.get(
            f"{server.base_url}/health", headers={"X-Request-ID": database_password}, timeout=10
        ),
    ]

    assert [response.status_code for response in responses] == [200, 404, 200]
    _wait_until(
        lambda: bool(server.access_records("/health") and server.access_records("/missing-***")),
        10,
        "the access lines",
    )
    output = server.output()
    assert output
    assert email_password not in output
    assert database_password not in output
    [missing] = server.access_records("/missing-***")
    assert missing["status"] == 404
    [health] = server.access_records("/health")
    assert health["level"] == "DEBUG"
    assert health["request_id"] == "***"


def test_gunicorn_ready_503_unreachable(start_gunicorn: Callable[..., GunicornServer]) -> None:
    server = start_gunicorn(
        DATABASE_URL=f"postgresql://postgres:pw@127.0.0.1:{_free_port()}/durban?connect_timeout=5"
    )

    ready = httpx.get(f"{server.base_url}/ready", timeout=20)
    metrics = httpx.get(f"{server.base_url}/metrics", timeout=20)

    assert ready.status_code == 503
    error = problem(ready)
    assert error["status"] == 503
    assert "database is unreachable" in error["detail"]
    assert metrics.status_code == 200
    assert "durban_valuations_database_up 0.0" in metrics.text


def test_gunicorn_without_database_url_exits(tmp_path: Path) -> None:
    server = _launch(tmp_path, {"WEB_CONCURRENCY": "1"})
    try:
        exit_code = server.process.wait(timeout=START_TIMEOUT)
    finally:
        server.shutdown()

    assert exit_code != 0
    assert "DATABASE_URL is not set" in server.output()
    assert "durban-valuations serve" in server.output()
