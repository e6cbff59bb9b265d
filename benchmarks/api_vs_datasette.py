"""Compare the API under Gunicorn with Datasette on the same properties, query by query.

Usage: python benchmarks/api_vs_datasette.py [--rows 500000] [--seconds 20]
           [--concurrency 32] [--datasette PATH | --no-datasette]

Starts an embedded PostgreSQL in a temporary folder, migrates it to head and stores a
generated replica roll of `--rows` properties in one complete run. It copies the same
rows (the columns of the property summaries) into a SQLite file with matching indexes
and an FTS5 table (see benchmarks/sqlite_copy.py). It then starts the API under
Gunicorn and Datasette (its own executable, from a separate virtual environment), both
on 127.0.0.1, and runs six queries against each for `--seconds` at `--concurrency`
requests in flight:
  1. rate-number lookup, 2. one suburb's first page, 3. a value range sorted by value,
  4. a free-text search, 5. one suburb's statistics, 6. a CSV export of 10,000 rows.
Next it times the whole-roll CSV export of the API against `psql \\copy` of the same
SELECT and reads the API server's peak RSS during the export. It prints a Markdown
table of throughput and p50/p99 latency per query and server, the EXPLAIN (ANALYZE,
BUFFERS) plans of the API's SQL, and SQLite's plans of the Datasette side.

With --no-datasette only the API is measured (the smoke test does this).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from bench_queries import BenchQuery, QueryValues, build_queries
from bench_servers import (
    Server,
    api_server,
    check_datasette,
    datasette_server,
    datasette_version,
    memory_kib,
    process_tree,
    reset_peak,
)
from http_load import LoadResult, run_load
from pgserver._commands import POSTGRES_BIN_PATH
from pgserver.postgres_server import get_server
from sqlalchemy import Connection, Engine, event, text
from sqlite_copy import copy_to_sqlite, explain_query_plan

from durban_valuations.api.gunicorn_conf import worker_count
from durban_valuations.clean.models import CleanProperty
from durban_valuations.clean.rows import clean_row
from durban_valuations.replica.generate import generate_roll
from durban_valuations.replica.numbers import format_number
from durban_valuations.replica.roll import Property
from durban_valuations.site.models import ResultRow, Roll
from durban_valuations.store.database import make_engine, normalize_database_url
from durban_valuations.store.exports import csv_statement
from durban_valuations.store.filters import PropertyFilters
from durban_valuations.store.migrations import upgrade_database
from durban_valuations.store.runs import finish_run, start_run
from durban_valuations.store.staging import driver_connection
from durban_valuations.store.upsert import upsert_properties

ROLL_YEAR = 2022
BATCH_ROWS = 10_000
P99_TARGET_MS = 50.0
COPY_RATIO_TARGET = 2.0


def result_row(prop: Property) -> ResultRow:
    """Return the result row that the site prints for a replica property."""
    return ResultRow(
        pin=prop.pin,
        ptype=prop.ptype,
        ftype=prop.ftype,
        details_href=f"../FramePages/SearchDeatils.aspx?id={prop.pin}&PType={prop.ptype}"
        f"&FType={prop.ftype}",
        rate_number=prop.rate_number,
        legal_description=prop.legal_description,
        address=prop.address,
        first_owner=prop.first_owner,
        use_code=prop.use_code,
        rating_category=prop.rating_category,
        market_value=format_number(prop.market_value, 0),
        registered_extent=format_number(prop.registered_extent, 2),
    )


def generate_properties(count: int, seed: int) -> list[CleanProperty]:
    """Return the cleaned rows of a replica roll of `count` properties, as a scrape stores them."""
    roll = generate_roll(count, seed)
    rows = [clean_row(Roll.FULL, result_row(prop)) for prop in roll.full]
    rows += [clean_row(Roll.SECTIONAL, result_row(prop)) for prop in roll.sectional]
    return rows


def load(engine: Engine, rows: list[CleanProperty]) -> None:
    """Store `rows` in one run, finished as complete, then VACUUM and ANALYZE the table.

    VACUUM sets the visibility map as autovacuum would on a settled database, so
    PostgreSQL can use index-only scans.
    """
    with engine.begin() as connection:
        run_id = start_run(connection, ROLL_YEAR, "all", "http://127.0.0.1:9/")
        for start in range(0, len(rows), BATCH_ROWS):
            upsert_properties(connection, ROLL_YEAR, run_id, rows[start : start + BATCH_ROWS])
        finish_run(connection, run_id, "complete")
    with engine.connect() as connection:
        autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
        autocommit.execute(text("VACUUM (ANALYZE) properties"))
        autocommit.execute(text("ANALYZE scrape_runs"))


@dataclass(frozen=True, slots=True)
class QueryResult:
    """The load results of one query: the API's, and Datasette's unless it was skipped."""

    query: BenchQuery
    api: LoadResult
    datasette: LoadResult | None


def check_responses(base_url: str, paths: list[str], name: str) -> None:
    """Raise RuntimeError unless the first path returns 200 with a non-empty body of rows."""
    response = httpx.get(f"{base_url}{paths[0]}", timeout=120.0)
    if response.status_code != 200:
        raise RuntimeError(
            f"{name} returned {response.status_code} for {paths[0]}: {response.text[:500]}"
        )
    body = response.text.strip()
    if body in ("", "[]") or '"items":[]' in body.replace(" ", ""):
        raise RuntimeError(f"{name} returned no rows for {paths[0]}: pick other query values")


def run_queries(
    queries: list[BenchQuery],
    api: Server,
    datasette: Server | None,
    seconds: float,
    concurrency: int,
    warmup_seconds: float = 5.0,
    generator: str = "auto",
) -> list[QueryResult]:
    """Check that every query returns rows on each server, then load each in turn."""
    for query in queries:
        check_responses(api.base_url, query.api_paths, f"API query {query.name!r}")
        if datasette is not None:
            check_responses(
                datasette.base_url, query.datasette_paths, f"Datasette query {query.name!r}"
            )
    results = []
    for query in queries:
        query_generator = "httpx" if query.waits_for_last_requests else generator
        api_result = run_load(
            api.base_url, query.api_paths, seconds, concurrency, warmup_seconds, query_generator
        )
        datasette_result = None
        if datasette is not None:
            datasette_result = run_load(
                datasette.base_url,
                query.datasette_paths,
                seconds,
                concurrency,
                warmup_seconds,
                query_generator,
            )
        results.append(QueryResult(query, api_result, datasette_result))
    return results


def download_seconds(base_url: str, path: str) -> tuple[int, float]:
    """Download `path` uncompressed and drop the body; return its bytes and the seconds taken."""
    size = 0
    started = time.perf_counter()
    with httpx.stream(
        "GET", f"{base_url}{path}", headers={"Accept-Encoding": "identity"}, timeout=3600.0
    ) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            size += len(chunk)
    return size, time.perf_counter() - started


@dataclass(frozen=True, slots=True)
class ExportTiming:
    """Whole-roll CSV export over HTTP against psql \\copy, with the server's peak memory.

    The RSS values are in KiB: the largest peak of one Gunicorn process during the
    exports, and the sum of the peaks of all its processes.
    """

    size: int
    http_seconds: float
    psql_seconds: float
    max_process_peak_kib: int
    total_peak_kib: int
    psql_version: str


def copy_command(engine: Engine) -> str:
    """Return the COPY command of the whole-roll CSV export, with its values inlined."""
    compiled = csv_statement(PropertyFilters(roll_year=ROLL_YEAR)).compile(
        dialect=engine.dialect, compile_kwargs={"literal_binds": True}
    )
    return f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')"


def psql_executable() -> str:
    """Return the psql on PATH, else the one that comes with pgserver."""
    return shutil.which("psql") or str(Path(POSTGRES_BIN_PATH) / "psql")


def time_psql_copy(engine: Engine) -> float:
    """Return the seconds that `psql -c '\\copy (SELECT ...) TO STDOUT'` takes, output dropped."""
    url = engine.url
    host = url.query.get("host") or url.host or "localhost"
    command = [
        psql_executable(), "-X", "-q", "-h", str(host), "-U", url.username or "postgres",
        "-d", url.database or "postgres", "-c", "\\" + copy_command(engine).replace("\n", " "),
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def time_exports(api: Server, engine: Engine, repeat: int) -> ExportTiming:
    """Time the whole-roll CSV export and psql \\copy, each the median of `repeat` runs."""
    pids = process_tree(api.process.pid)
    for pid in pids:
        reset_peak(pid)
    downloads = [download_seconds(api.base_url, "/properties.csv") for _ in range(repeat)]
    peaks = [memory_kib(pid, "VmHWM") for pid in pids]
    psql_seconds = statistics.median(time_psql_copy(engine) for _ in range(repeat))
    version = subprocess.run(
        [psql_executable(), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return ExportTiming(
        size=downloads[0][0],
        http_seconds=statistics.median(seconds for _size, seconds in downloads),
        psql_seconds=psql_seconds,
        max_process_peak_kib=max(peaks),
        total_peak_kib=sum(peaks),
        psql_version=version,
    )


def captured_statements(
    connection: Connection, call: Callable[[Connection], object]
) -> list[tuple[str, Mapping[str, Any]]]:
    """Run `call` on `connection` and return the statements it sent, with their parameters."""
    statements: list[tuple[str, Mapping[str, Any]]] = []

    def capture(
        database_connection: object,
        cursor: object,
        statement: str,
        parameters: Mapping[str, Any],
        *rest: object,
    ) -> None:
        statements.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", capture)
    try:
        call(connection)
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    return statements


def explain(connection: Connection, statement: str, parameters: Mapping[str, Any]) -> str:
    """Return EXPLAIN (ANALYZE, BUFFERS) of a statement in the driver's parameter style."""
    with driver_connection(connection).cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
        return "\n".join(row[0] for row in cursor.fetchall())


def plan_report(engine: Engine, queries: list[BenchQuery], sqlite_path: Path | None) -> str:
    """Return the PostgreSQL plan of every SQL statement that each query's API route runs.

    The statements are captured from the store functions that the routes call, with the
    values of the query's first path. The SQLite plans of the Datasette side follow.
    """
    lines = []
    with engine.connect() as connection:
        for query in queries:
            lines.append(f"\n### {query.name}: PostgreSQL, EXPLAIN (ANALYZE, BUFFERS)\n")
            statements = captured_statements(connection, query.store_call)
            if query.copy_statement is not None:
                compiled = query.copy_statement.compile(dialect=connection.dialect)
                statements.append((str(compiled), compiled.params))
            for number, (statement, parameters) in enumerate(statements, start=1):
                lines.append(f"Statement {number} of {len(statements)}:\n")
                lines += ["```", explain(connection, statement, parameters), "```\n"]
            connection.rollback()
    if sqlite_path is not None:
        for query in queries:
            plan = explain_query_plan(sqlite_path, query.datasette_sql, query.datasette_parameters)
            lines.append(f"\n### {query.name}: SQLite, EXPLAIN QUERY PLAN\n")
            lines += ["```", plan, "```"]
    return "\n".join(lines)


def _format_result(result: LoadResult | None) -> str:
    if result is None:
        return "- | - | -"
    return (
        f"{result.requests_per_second:,.1f} | {result.percentile_ms(50):,.1f} | "
        f"{result.percentile_ms(99):,.1f}"
    )


def target_verdict(result: QueryResult) -> str:
    """Return whether the query met its targets, naming each one that it missed."""
    missed = []
    if result.datasette is not None and (
        result.api.requests_per_second <= result.datasette.requests_per_second
    ):
        missed.append("req/s")
    if result.query.indexed and result.api.percentile_ms(99) >= P99_TARGET_MS:
        missed.append("p99")
    if result.api.errors or (result.datasette is not None and result.datasette.errors):
        missed.append("errors")
    verdict = "yes" if not missed else f"no ({', '.join(missed)})"
    if result.datasette is None:
        # Without Datasette there is no throughput to compare against.
        verdict += ", req/s not compared"
    return verdict


def print_table(results: list[QueryResult]) -> None:
    print(
        "| query | API req/s | API p50 ms | API p99 ms | Datasette req/s | Datasette p50 ms "
        "| Datasette p99 ms | target met? |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for result in results:
        print(
            f"| {result.query.name} | {_format_result(result.api)} | "
            f"{_format_result(result.datasette)} | {target_verdict(result)} |"
        )
    print()
    print("| query | matching rows | API requests, errors, client CPU | "
          "Datasette requests, errors, client CPU |")  # fmt: skip
    print("|---|---|---|---|")
    for result in results:
        print(f"| {result.query.name} | {result.query.matching_rows:,} | "
              f"{_format_counts(result.api)} | {_format_counts(result.datasette)} |")  # fmt: skip


def _format_counts(result: LoadResult | None) -> str:
    if result is None:
        return "-"
    share = result.client_cpu_seconds / result.seconds
    return f"{result.requests:,}, {result.errors}, {share:.0%} of a core ({result.generator})"


def print_exports(timing: ExportTiming, rows: int) -> None:
    ratio = timing.http_seconds / timing.psql_seconds
    verdict = "met" if ratio <= COPY_RATIO_TARGET else "not met"
    print(f"\nWhole-roll CSV export, {rows:,} rows, {timing.size / 1e6:.1f} MB:\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| `GET /properties.csv` over HTTP | {timing.http_seconds:.2f} s |")
    print(f"| `psql \\copy` of the same SELECT ({timing.psql_version}) | "
          f"{timing.psql_seconds:.2f} s |")  # fmt: skip
    print(f"| export / psql \\copy | {ratio:.2f}x (target {COPY_RATIO_TARGET:g}x: {verdict}) |")
    print(f"| peak RSS of the largest Gunicorn process | "
          f"{timing.max_process_peak_kib / 1024:.0f} MiB |")  # fmt: skip
    print(f"| peak RSS of all Gunicorn processes | {timing.total_peak_kib / 1024:.0f} MiB |")


def load_averages() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


@contextmanager
def embedded_database(folder: Path) -> Iterator[tuple[str, Engine]]:
    """Start an embedded PostgreSQL in `folder`, migrated to head; yield its URL and an engine."""
    # Stopped explicitly: a server still writing would make the folder's removal fail.
    server = get_server(folder / "pgdata", cleanup_mode="delete")
    try:
        url = normalize_database_url(server.get_uri())
        upgrade_database(url)
        engine = make_engine(url)
        try:
            yield url, engine
        finally:
            engine.dispose()
    finally:
        server.cleanup()


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000, help="properties to generate")
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="load time per query and server"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument(
        "--warmup", type=float, default=5.0,
        help="unmeasured seconds of load before each measured run, on each server",
    )  # fmt: skip
    parser.add_argument(
        "--load", choices=("auto", "wrk", "httpx"), default="auto",
        help="load generator: wrk (C, Debian package wrk), the Python httpx client, or "
        "auto: wrk when it is installed",
    )  # fmt: skip
    parser.add_argument(
        "--response-cache-mb", type=float, default=None,
        help="API_RESPONSE_CACHE_MB of the API (default: the app's default); 0 turns the "
        "response cache off, so every request runs its query",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, default=None,
        help="Gunicorn workers, and Datasette's SQL threads (default: the Gunicorn "
        "settings' default, 2 x CPUs + 1 up to 8)",
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="runs of each whole-roll export")
    parser.add_argument("--seed", type=int, default=2022, help="seed of the generated roll")
    parser.add_argument(
        "--export-rows", type=int, default=10_000, help="rows of the CSV export query"
    )
    parser.add_argument(
        "--search-matches", type=int, default=1_000,
        help="the free-text query searches for the word that matches closest to this many rows",
    )  # fmt: skip
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--datasette", default="datasette", help="path of the datasette executable")
    choice.add_argument(
        "--no-datasette", action="store_true", help="measure the API alone, without Datasette"
    )
    return parser.parse_args()


def main() -> None:
    arguments = parse_arguments()
    datasette = None if arguments.no_datasette else arguments.datasette
    if datasette is not None:
        check_datasette(datasette)
    workers = arguments.workers or worker_count()
    print(f"load average at start (1, 5, 15 min): {load_averages()}")

    with tempfile.TemporaryDirectory() as name, ExitStack() as stack:
        folder = Path(name)
        url, engine = stack.enter_context(embedded_database(folder))
        started = time.perf_counter()
        load(engine, generate_properties(arguments.rows, arguments.seed))
        print(f"generated and stored {arguments.rows:,} properties in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        sqlite_path = None
        if datasette is not None:
            started = time.perf_counter()
            sqlite_path = folder / "valuations.db"
            copied = copy_to_sqlite(engine, sqlite_path, ROLL_YEAR)
            print(f"copied {copied:,} properties to SQLite in "
                  f"{time.perf_counter() - started:.1f} s")  # fmt: skip

        with engine.connect() as connection:
            values = QueryValues.pick(
                connection, ROLL_YEAR, arguments.export_rows, arguments.search_matches
            )
            queries = build_queries(connection, values, ROLL_YEAR)
            version = connection.execute(text("SHOW server_version")).scalar_one()

        api_settings = {}
        if arguments.response_cache_mb is not None:
            api_settings["API_RESPONSE_CACHE_MB"] = f"{arguments.response_cache_mb:g}"
        api = stack.enter_context(api_server(url, workers, ROLL_YEAR, folder, api_settings))
        datasette_running = None
        if datasette is not None and sqlite_path is not None:
            datasette_running = stack.enter_context(
                datasette_server(datasette, sqlite_path, workers, folder)
            )
        print(f"load average before the queries: {load_averages()}")
        results = run_queries(
            queries,
            api,
            datasette_running,
            arguments.seconds,
            arguments.concurrency,
            arguments.warmup,
            arguments.load,
        )
        print(f"load average after the queries: {load_averages()}")
        exports = time_exports(api, engine, arguments.repeat)
        plans = plan_report(engine, queries, sqlite_path)

    print(
        f"\n{arguments.rows:,} properties; {arguments.seconds:g} s per query and server at "
        f"{arguments.concurrency} requests in flight after {arguments.warmup:g} s of warm-up; "
        f"Gunicorn with {workers} workers, API_RESPONSE_CACHE_MB "
        f"{'default' if arguments.response_cache_mb is None else arguments.response_cache_mb}"
        + ("" if datasette is None else f"; {datasette_version(datasette)}, one process, "
           f"{workers} SQL threads")
    )  # fmt: skip
    print(f"PostgreSQL {version}, Python {platform.python_version()}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs; load average at the end: {load_averages()}\n")  # fmt: skip
    print(values.describe())
    print()
    print_table(results)
    print_exports(exports, arguments.rows)
    print(plans)


if __name__ == "__main__":
    main()
