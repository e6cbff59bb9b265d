"""Servers of the API-against-Datasette benchmark: Gunicorn with the API, and Datasette.

Each runs as a child process on a free port of 127.0.0.1, in its own process group,
and is stopped with SIGTERM (SIGKILL after a timeout) when its context ends.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

START_TIMEOUT = 120.0
STOP_TIMEOUT = 40.0
DATASETTE_INSTALL = "python3 -m venv /tmp/ds-venv && /tmp/ds-venv/bin/pip install datasette"


@dataclass(frozen=True, slots=True)
class Server:
    """A started server: its main process and the base URL it serves."""

    process: subprocess.Popen[bytes]
    base_url: str


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the process group of `process`: SIGTERM, then SIGKILL after STOP_TIMEOUT."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _wait_ready(process: subprocess.Popen[bytes], url: str, name: str, log: Path) -> None:
    """Wait until `url` returns 200; raise RuntimeError with the log when the server exits."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise RuntimeError(
                f"{name} exited with code {process.returncode} before it served {url}:\n"
                f"{log.read_text(errors='replace')[-3000:]}"
            )
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not serve {url} within {START_TIMEOUT:g} s")
        time.sleep(0.2)


def _wait_for_workers(log: Path, workers: int) -> None:
    """Wait until every Gunicorn worker has logged the end of its startup."""
    deadline = time.monotonic() + START_TIMEOUT
    while log.read_text(errors="replace").count("Application startup complete") < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{workers} Gunicorn workers did not start within {START_TIMEOUT:g} s"
            )
        time.sleep(0.2)


@contextmanager
def api_server(
    database_url: str,
    workers: int,
    roll_year: int,
    folder: Path,
    settings: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """Run the API under Gunicorn with `workers` Uvicorn workers, as docs/operations.md says.

    `settings` adds environment variables, such as API_RESPONSE_CACHE_MB.

    The access log (standard output) is dropped; Gunicorn's messages go to a file in
    `folder`, which is also the working folder, so no `.env` of a checkout is read.
    """
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "ROLL_YEAR": str(roll_year),
        "PYTHONUNBUFFERED": "1",
        **(settings or {}),
    }
    command = [
        sys.executable, "-m", "gunicorn", "-c", "python:durban_valuations.api.gunicorn_conf",
        "--no-control-socket",
    ]  # fmt: skip
    log = folder / "gunicorn.err"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            command,
            cwd=folder,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    server = Server(process, f"http://127.0.0.1:{port}")
    try:
        _wait_ready(process, f"{server.base_url}/ready", "Gunicorn", log)
        _wait_for_workers(log, workers)
        yield server
    finally:
        _stop(process)


def check_datasette(executable: str) -> None:
    """Raise SystemExit naming the install command when `executable` does not run."""
    try:
        subprocess.run([executable, "--version"], capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        raise SystemExit(
            f"datasette executable {executable!r} failed to run ({error}). Install Datasette "
            f"into its own virtual environment with `{DATASETTE_INSTALL}` and pass "
            "--datasette /tmp/ds-venv/bin/datasette, or pass --no-datasette to measure "
            "the API alone"
        ) from None


def datasette_version(executable: str) -> str:
    finished = subprocess.run([executable, "--version"], capture_output=True, text=True, check=True)
    return finished.stdout.strip()


@contextmanager
def datasette_server(
    executable: str, database: Path, sql_threads: int, folder: Path
) -> Iterator[Server]:
    """Run `datasette serve` on the SQLite file, read-only (immutable), in one process.

    Settings: `num_sql_threads` as given; a SQL time limit of 60 s, so no benchmark
    query is cut short (the default is 1 s); no suggested facets, which the API has no
    counterpart of; no size limit on CSV downloads.
    """
    port = free_port()
    command = [
        executable, "serve", "--immutable", str(database), "--host", "127.0.0.1",
        "--port", str(port),
        "--setting", "num_sql_threads", str(sql_threads),
        "--setting", "sql_time_limit_ms", "60000",
        "--setting", "suggest_facets", "off",
        "--setting", "max_csv_mb", "0",
    ]  # fmt: skip
    log = folder / "datasette.err"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=output,
            start_new_session=True,
        )
    server = Server(process, f"http://127.0.0.1:{port}")
    try:
        _wait_ready(process, f"{server.base_url}/-/versions.json", "Datasette", log)
        yield server
    finally:
        _stop(process)


def process_tree(pid: int) -> list[int]:
    """Return `pid` and every descendant of it that is running (Linux /proc)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split()
        for child in children:
            found += process_tree(int(child))
    return found


def memory_kib(pid: int, field: str) -> int:
    """Return a memory field of /proc/<pid>/status (VmRSS, VmHWM) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {field} line")


def reset_peak(pid: int) -> None:
    """Reset VmHWM to the current RSS (Linux 4.0 and later)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
