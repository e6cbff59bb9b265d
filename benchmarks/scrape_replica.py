"""Time a complete scrape of both rolls from a local replica into a fresh embedded database.

Usage: python benchmarks/scrape_replica.py [--rows N] [--seed S]

Prints the wall time of each phase, the searches made against the minimum (properties
divided by 1,000), and the peak resident memory of this process, which serves the
replica in a thread beside the scraper.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

from durban_valuations.config import Settings
from durban_valuations.jobs.scrape import run_scrape
from durban_valuations.replica.generate import DEFAULT_ROWS
from durban_valuations.replica.server import running_replica
from durban_valuations.site.models import Roll
from durban_valuations.store.database import make_engine, resolve_database_url
from durban_valuations.store.migrations import upgrade_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--concurrency", type=int, default=4)
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            _env_file=None,
            data_dir=Path(folder),
            request_rate=1000,
            request_concurrency=arguments.concurrency,
        )
        started = time.perf_counter()
        url = resolve_database_url(settings)
        upgrade_database(url)
        engine = make_engine(url)
        database_seconds = time.perf_counter() - started

        started = time.perf_counter()
        with running_replica(rows=arguments.rows, seed=arguments.seed) as site:
            replica_seconds = time.perf_counter() - started
            started = time.perf_counter()
            result = run_scrape(
                settings, engine, rolls=[Roll.FULL, Roll.SECTIONAL], source_url=site.url
            )
            scrape_seconds = time.perf_counter() - started
        engine.dispose()

    properties = result.rows(Roll.FULL) + result.rows(Roll.SECTIONAL)
    searches = sum(item["searches"] for item in result.reports)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, cores: {len(os.sched_getaffinity(0))}"
    )
    print(f"rows: {arguments.rows}, seed: {arguments.seed}, status: {result.status}")
    print(f"embedded database start and migrations: {database_seconds:.1f} s")
    print(f"replica generation and start: {replica_seconds:.1f} s")
    print(f"scrape of both rolls: {scrape_seconds:.1f} s")
    print(
        f"properties: {properties}, searches: {searches}, "
        f"minimum searches: {properties / 1000:.0f}, splits: "
        f"{sum(item['splits'] for item in result.reports)}"
    )
    print(f"peak resident memory (scraper and replica together): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
