"""Measure the memory and time of the property exports through a real HTTP server.

Usage: python benchmarks/export_memory.py [--rows N] [--steps K] [--repeat R]

Starts an embedded PostgreSQL in a temporary folder and fills it with N generated
properties. For each format (CSV, NDJSON, Parquet) it starts a fresh Uvicorn server on
127.0.0.1 and sends one small export to load every module. It then downloads exports of
K row counts up to N in turn, and compares the server's peak resident set size during
each (VmHWM in /proc, so Linux only) with its size after the small export. Growth that
stays the same from the smallest to the largest row count shows that the export streams.

It then times the whole-roll CSV export over HTTP against `COPY (same SELECT) TO STDOUT`
read with psycopg and with `psql -c '\\copy ...'`, each the median of R runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from pgserver._commands import POSTGRES_BIN_PATH
from pgserver.postgres_server import get_server
from sqlalchemy import Engine, make_url, text
from sqlalchemy.dialects import postgresql

from durban_valuations.store.database import make_engine, normalize_database_url
from durban_valuations.store.exports import csv_statement
from durban_valuations.store.filters import PropertyFilters
from durban_valuations.store.migrations import upgrade_database
from durban_valuations.store.runs import start_run
from durban_valuations.store.staging import driver_connection

ROLL_YEAR = 2022
FORMATS = ("csv", "ndjson", "parquet")
FIRST_MARKET_VALUE = 100_000
START_TIMEOUT = 60.0

# One in four properties is sectional. Suburbs, owners and extents vary, and some fields are NULL.
GENERATE_SQL = """
INSERT INTO properties (
    roll_year, pin, roll, ptype, ftype, details_href, rate_number, legal_description,
    address, street_number, street_name, suburb, first_owner, use_code,
    use_code_description, use_code_number, rating_category, market_value,
    registered_extent, erf, portion, is_remainder, deeds_town, section_number, scheme_name,
    raw_rate_number, raw_legal_description, raw_address, raw_first_owner, raw_use_code,
    raw_rating_category, raw_market_value, raw_registered_extent, first_seen_run_id)
SELECT :roll_year, n,
    CASE WHEN n % 4 = 0 THEN 'sectional' ELSE 'full' END,
    CASE WHEN n % 4 = 0 THEN 'S' ELSE 'F' END, 'R',
    '/FramePages/Details.aspx?PIN=' || n, lpad(n::text, 8, '0'),
    'ERF ' || n || ' of ' || suburb, (n % 300) || ' MAIN ROAD, ' || suburb,
    (n % 300)::text, 'MAIN ROAD', suburb, 'OWNER ' || n || ' AND FAMILY TRUST',
    'Single Residential (15)', 'Single Residential', 15, 'Residential',
    :first_value + n - 1, (200 + n % 3000) + (n % 100) / 100.0, n::text,
    CASE WHEN n % 7 = 0 THEN '3' END, n % 11 = 0, suburb,
    CASE WHEN n % 4 = 0 THEN (n % 40)::text END,
    CASE WHEN n % 4 = 0 THEN 'SS ' || (n / 40) || ' PARK' END,
    lpad(n::text, 8, '0'), 'ERF ' || n || ' of ' || suburb,
    (n % 300) || ' MAIN ROAD, ' || suburb, 'OWNER ' || n || ' AND FAMILY TRUST',
    'Single Residential (15)', 'Residential', to_char(:first_value + n - 1, 'FM999,999,999'),
    ((200 + n % 3000) + (n % 100) / 100.0)::text, :run_id
FROM generate_series(1, :count) AS n,
    LATERAL (SELECT (ARRAY['PINETOWN', 'WESTVILLE', 'UMHLANGA', 'MORNINGSIDE',
        'CHATSWORTH', 'PHOENIX'])[1 + n % 6] AS suburb) AS names
"""


def generate_properties(engine: Engine, count: int) -> None:
    """Insert `count` generated properties with market values FIRST_MARKET_VALUE + 0, 1, 2..."""
    with engine.begin() as connection:
        run_id = start_run(connection, ROLL_YEAR, "all", "http://127.0.0.1:9/")
        connection.execute(
            text(GENERATE_SQL),
            {"roll_year": ROLL_YEAR, "first_value": FIRST_MARKET_VALUE, "run_id": run_id,
             "count": count},
        )  # fmt: skip
        connection.execute(text("ANALYZE properties"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def memory_kib(pid: int, field: str) -> int:
    """Return a memory field of /proc/<pid>/status (VmRSS, VmHWM) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {field} line")


@contextmanager
def api_server(database_url: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Run Uvicorn with the API on a free port of 127.0.0.1; yield the process and base URL."""
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": database_url, "ROLL_YEAR": str(ROLL_YEAR)}
    command = [
        sys.executable, "-m", "uvicorn", "durban_valuations.api.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=environment)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                httpx.get(f"{base_url}/health", timeout=1.0)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the API server did not start") from None
                time.sleep(0.1)
        yield process, base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def download(base_url: str, path: str, params: dict[str, str]) -> tuple[int, float]:
    """Download `path` and drop the body; return its size in bytes and the seconds taken."""
    size = 0
    started = time.perf_counter()
    with httpx.stream("GET", f"{base_url}{path}", params=params, timeout=600.0) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            size += len(chunk)
    return size, time.perf_counter() - started


# (format, rows, bytes, seconds, RSS after the warm-up in KiB, peak RSS growth in KiB)
MemoryRow = tuple[str, int, int, float, int, int]


def measure_memory(database_url: str, extension: str, counts: list[int]) -> list[MemoryRow]:
    """Download exports of `counts` rows in turn from one server and measure each.

    The growth of each is its peak RSS over the RSS after a one-row warm-up export, so
    the first row count also shows what the first large export allocates once.
    """
    measured = []
    with api_server(database_url) as (process, base_url):
        one_row = {"max_market_value": str(FIRST_MARKET_VALUE)}
        download(base_url, f"/properties.{extension}", one_row)
        baseline = memory_kib(process.pid, "VmRSS")
        for count in counts:
            reset_peak(process.pid)
            params = {"max_market_value": str(FIRST_MARKET_VALUE + count - 1)}
            size, seconds = download(base_url, f"/properties.{extension}", params)
            growth = memory_kib(process.pid, "VmHWM") - baseline
            measured.append((extension, count, size, seconds, baseline, growth))
    return measured


def reset_peak(pid: int) -> None:
    """Reset VmHWM to the current RSS (Linux 4.0 and later)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def copy_command() -> str:
    """Return the COPY command that the whole-roll CSV export runs."""
    statement = csv_statement(PropertyFilters(roll_year=ROLL_YEAR))
    compiled = statement.compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    return f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')"


def time_psycopg_copy(engine: Engine) -> float:
    started = time.perf_counter()
    with engine.connect() as connection:
        driver = driver_connection(connection)
        with driver.cursor() as cursor, cursor.copy(copy_command()) as copy:
            for _block in copy:
                pass
    return time.perf_counter() - started


def time_psql_copy(database_url: str) -> float:
    url = make_url(database_url)
    host = url.query.get("host") or url.host or "localhost"
    command = [
        str(Path(POSTGRES_BIN_PATH) / "psql"), "-X", "-q", "-h", str(host),
        "-U", url.username or "postgres", "-d", url.database or "postgres",
        "-c", "\\" + copy_command().replace("\n", " "),
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def median_of(repeat: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="generated properties")
    parser.add_argument("--steps", type=int, default=3, help="row counts measured, up to --rows")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing")
    arguments = parser.parse_args()
    counts = [arguments.rows * step // arguments.steps for step in range(1, arguments.steps + 1)]

    with tempfile.TemporaryDirectory() as folder:
        # Stopped explicitly below: a server still writing would make the folder's
        # removal fail.
        server = get_server(Path(folder) / "pgdata", cleanup_mode="delete")
        url = normalize_database_url(server.get_uri())
        upgrade_database(url)
        engine = make_engine(url)
        try:
            generate_properties(engine, arguments.rows)
            memory: list[MemoryRow] = []
            for extension in FORMATS:
                memory += measure_memory(url, extension, counts)
            with api_server(url) as (_process, base_url):
                http_seconds = median_of(
                    arguments.repeat, lambda: download(base_url, "/properties.csv", {})[1]
                )
            psycopg_seconds = median_of(arguments.repeat, lambda: time_psycopg_copy(engine))
            psql_seconds = median_of(arguments.repeat, lambda: time_psql_copy(url))
            with engine.connect() as connection:
                version = connection.execute(text("SHOW server_version")).scalar_one()
        finally:
            engine.dispose()
            server.cleanup()

    print(f"PostgreSQL {version}, Python {platform.python_version()}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs; {arguments.rows:,} generated properties")  # fmt: skip
    print(f"{'format':8} {'rows':>9} {'MB':>8} {'seconds':>8} {'rows/s':>9} "
          f"{'RSS MiB':>8} {'peak RSS growth MiB':>20}")  # fmt: skip
    for extension, count, size, seconds, before, growth in memory:
        print(f"{extension:8} {count:9,} {size / 1e6:8.1f} {seconds:8.2f} "
              f"{count / seconds:9,.0f} {before / 1024:8.1f} {growth / 1024:20.1f}")  # fmt: skip
    print()
    print(f"whole-roll CSV, {arguments.rows:,} rows, median of {arguments.repeat}:")
    print(f"  GET /properties.csv over HTTP   {http_seconds:6.2f} s")
    print(f"  COPY TO STDOUT, psycopg         {psycopg_seconds:6.2f} s")
    print(f"  psql \\copy                      {psql_seconds:6.2f} s")
    print(f"  HTTP export / psql \\copy        {http_seconds / psql_seconds:6.2f}x")


if __name__ == "__main__":
    main()
