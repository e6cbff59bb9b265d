"""Crawl a full-size replica with throttling off: wall time, searches, peak memory.

Usage: python benchmarks/crawl_full.py [--rows 500000] [--seed 2022] [--port 8499]

The replica runs in its own process (`durban-valuations replica`), so the peak resident
memory reported is the scraper's alone. The database is a fresh embedded PostgreSQL in
a temporary folder.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from durban_valuations.config import Settings
from durban_valuations.jobs.scrape import run_scrape
from durban_valuations.site.models import Roll
from durban_valuations.store.database import make_engine, resolve_database_url
from durban_valuations.store.migrations import upgrade_database


def wait_for_replica(url: str, process: subprocess.Popen[bytes]) -> None:
    while True:
        if process.poll() is not None:
            raise RuntimeError("the replica process exited before it served a page")
        try:
            httpx.get(f"{url}/FramePages/blank.htm", timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--port", type=int, default=8499)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--policy", choices=["evidence", "always"], default="evidence")
    parser.add_argument(
        "--dimensions", default=None, help="CRAWL_DIMENSIONS, e.g. volume,rate_number"
    )
    parser.add_argument("--max-page-bytes", type=int, default=None, help="MAX_PAGE_BYTES")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    url = f"http://127.0.0.1:{arguments.port}"
    replica = subprocess.Popen(
        [sys.executable, "-m", "durban_valuations.cli", "--log-level", "WARNING", "replica",
         "--port", str(arguments.port), "--rows", str(arguments.rows),
         "--seed", str(arguments.seed)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        started = time.perf_counter()
        wait_for_replica(url, replica)
        replica_seconds = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as folder:
            overrides: dict[str, object] = {}
            if arguments.dimensions:
                overrides["crawl_dimensions"] = arguments.dimensions
            if arguments.max_page_bytes:
                overrides["max_page_bytes"] = arguments.max_page_bytes
            settings = Settings(
                _env_file=None,
                data_dir=Path(folder),
                request_rate=100_000,
                request_concurrency=arguments.concurrency,
                request_timeout=300,
                crawl_split_policy=arguments.policy,
                **overrides,
            )
            database_url = resolve_database_url(settings)
            upgrade_database(database_url)
            engine = make_engine(database_url)
            started = time.perf_counter()
            result = run_scrape(settings, engine, rolls=[Roll.FULL, Roll.SECTIONAL], source_url=url)
            crawl_seconds = time.perf_counter() - started
            engine.dispose()
    finally:
        replica.terminate()
        replica.wait()

    properties = result.rows(Roll.FULL) + result.rows(Roll.SECTIONAL)
    searches = sum(item["searches"] for item in result.reports)
    minimum = properties / 1000
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"machine: {platform.machine()}, CPython {platform.python_version()}, "
        f"cores: {len(os.sched_getaffinity(0))}"
    )
    print(
        f"rows: {arguments.rows}, seed: {arguments.seed}, policy: {arguments.policy}, "
        f"dimensions: {','.join(settings.crawl_dimensions)}, "
        f"max page bytes: {settings.max_page_bytes}, status: {result.status}"
    )
    print(f"replica generation and start (own process): {replica_seconds:.1f} s")
    print(f"crawl of both rolls: {crawl_seconds:.1f} s")
    for report in result.reports:
        print(
            f"  {report['roll']}: {report['searches']} searches, {report['splits']} splits, "
            f"{report['properties']} properties, by dimension "
            f"{report['properties_by_dimension']}"
        )
    print(
        f"searches: {searches}, minimum (properties / 1000): {minimum:.0f}, "
        f"ratio: {searches / minimum:.2f}"
    )
    print(f"peak resident memory of the scraper process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
