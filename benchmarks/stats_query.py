"""Time the statistics query and GET /stats on a generated roll, and print the query plan.

Usage: python benchmarks/stats_query.py [--rows 100000] [--repeat 5] [--suburbs 300]

Starts an embedded PostgreSQL in a temporary folder, stores the generated rows with
`upsert_properties` in one complete run, runs ANALYZE, then reports the median of
`--repeat` timings of:
  * `compute_statistics` over the whole roll and over one suburb (the cache is bypassed);
  * `last_completed_run`, the query that every statistics request makes;
  * GET /stats through the app, first request (computed) and later ones (cached).
It ends with EXPLAIN (ANALYZE, BUFFERS) of the whole-roll and one-suburb queries.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text

from durban_valuations.api.app import create_app
from durban_valuations.clean.models import CleanProperty
from durban_valuations.config import Settings
from durban_valuations.site.models import Roll
from durban_valuations.store.database import make_engine, resolve_database_url
from durban_valuations.store.migrations import upgrade_database
from durban_valuations.store.runs import finish_run, start_run
from durban_valuations.store.staging import driver_connection
from durban_valuations.store.stats import compute_statistics, last_completed_run
from durban_valuations.store.upsert import upsert_properties

ROLL_YEAR = 2022
CATEGORIES = ("Residential", "Business and Commercial", "Agricultural", "Industrial", None)
USE_CODES = [(number, f"Use code {number}") for number in range(1, 60)] + [(None, None)]
BATCH_ROWS = 10_000


def generate_rows(count: int, suburbs: int, seed: int = 2022) -> list[CleanProperty]:
    """Return `count` properties with random values, one in four sectional.

    About 5 % have no market value, and extents include None (most sectional titles) and 0.
    """
    generator = random.Random(seed)
    rows = []
    for pin in range(1, count + 1):
        sectional = pin % 4 == 0
        suburb = f"SUBURB {generator.randrange(suburbs):03d}"
        number, description = generator.choice(USE_CODES)
        category = generator.choice(CATEGORIES)
        value = None if generator.random() < 0.05 else generator.randint(10_000, 50_000_000)
        extent: Decimal | None
        if sectional and generator.random() < 0.8:
            extent = None
        elif generator.random() < 0.02:
            extent = Decimal(0)
        else:
            extent = Decimal(generator.randint(30, 20_000))
        use_code = "" if number is None else f"{description} ({number})"
        rows.append(
            CleanProperty(
                roll=Roll.SECTIONAL if sectional else Roll.FULL,
                pin=pin,
                ptype="S" if sectional else "F",
                ftype="R",
                details_href=f"/FramePages/Details.aspx?PIN={pin}",
                rate_number=f"{pin:08d}",
                legal_description=f"ERF {pin} of {suburb}",
                address=f"{pin % 300} MAIN ROAD, {suburb}",
                street_number=str(pin % 300),
                street_name="MAIN ROAD",
                suburb=suburb,
                first_owner=f"OWNER {pin}",
                use_code=use_code or None,
                use_code_description=description,
                use_code_number=number,
                rating_category=category,
                market_value=value,
                registered_extent=extent,
                erf=str(pin),
                portion=None,
                is_remainder=False,
                deeds_town=suburb,
                section_number=str(pin % 40) if sectional else None,
                scheme_name=f"SS {pin // 40} PARK" if sectional else None,
                raw_rate_number=f"{pin:08d}",
                raw_legal_description=f"ERF {pin} of {suburb}",
                raw_address=f"{pin % 300} MAIN ROAD, {suburb}",
                raw_first_owner=f"OWNER {pin}",
                raw_use_code=use_code,
                raw_rating_category=category or "",
                raw_market_value="" if value is None else f"{value:,}",
                raw_registered_extent="" if extent is None else str(extent),
            )
        )
    return rows


def load(engine: Engine, rows: list[CleanProperty]) -> None:
    """Store `rows` in one run, finished as complete, and ANALYZE the table."""
    with engine.begin() as connection:
        run_id = start_run(connection, ROLL_YEAR, "all", "http://127.0.0.1:9/")
        for start in range(0, len(rows), BATCH_ROWS):
            upsert_properties(connection, ROLL_YEAR, run_id, rows[start : start + BATCH_ROWS])
        finish_run(connection, run_id, "complete")
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("ANALYZE properties")
        )


def median_ms(repeat: int, measure: Callable[[], object]) -> float:
    """Return the median wall time of `repeat` calls of `measure`, in milliseconds."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        measure()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="properties to generate")
    parser.add_argument("--repeat", type=int, default=5, help="timings per measure")
    parser.add_argument("--suburbs", type=int, default=300, help="distinct suburbs")
    arguments = parser.parse_args()
    rows = generate_rows(arguments.rows, arguments.suburbs)

    with tempfile.TemporaryDirectory() as folder:
        url = resolve_database_url(Settings(_env_file=None, data_dir=Path(folder)))
        upgrade_database(url)
        engine = make_engine(url)
        try:
            started = time.perf_counter()
            load(engine, rows)
            print(f"loaded {len(rows):,} rows in {time.perf_counter() - started:.1f} s")
            report(engine, arguments.repeat)
        finally:
            engine.dispose()


def report(engine: Engine, repeat: int) -> None:
    """Print the timings and the query plans."""
    suburb = "SUBURB 007"
    with engine.connect() as connection:
        version = connection.execute(text("SHOW server_version")).scalar_one()
        results = {
            "compute_statistics, whole roll": median_ms(
                repeat, lambda: compute_statistics(connection, ROLL_YEAR)
            ),
            "compute_statistics, one suburb": median_ms(
                repeat, lambda: compute_statistics(connection, ROLL_YEAR, suburb=suburb)
            ),
            "last_completed_run": median_ms(
                repeat, lambda: last_completed_run(connection, ROLL_YEAR)
            ),
        }

    app = create_app(engine, settings=Settings(_env_file=None, roll_year=ROLL_YEAR))
    with TestClient(app) as client:
        started = time.perf_counter()
        client.get("/stats").raise_for_status()
        results["GET /stats, first request (computed)"] = (time.perf_counter() - started) * 1000
        results["GET /stats, cached"] = median_ms(
            repeat, lambda: client.get("/stats").raise_for_status()
        )

    print(f"PostgreSQL {version}, Python {platform.python_version()}, {platform.machine()}")
    for name, milliseconds in results.items():
        print(f"{name:40} {milliseconds:9.1f} ms")
    for label, suburb_name in (("whole roll", None), ("one suburb", suburb)):
        print(f"\nEXPLAIN (ANALYZE, BUFFERS), {label}:")
        print(plan(engine, suburb_name))


def plan(engine: Engine, suburb: str | None) -> str:
    """Return the EXPLAIN (ANALYZE, BUFFERS) output of the statistics query for `suburb`."""
    statements: list[tuple[str, Mapping[str, Any]]] = []

    def capture(
        database_connection: object,
        cursor: object,
        statement: str,
        parameters: Mapping[str, Any],
        *rest: object,
    ) -> None:
        statements.append((statement, parameters))

    with engine.connect() as connection:
        event.listen(connection, "before_cursor_execute", capture)
        compute_statistics(connection, ROLL_YEAR, suburb=suburb)
        event.remove(connection, "before_cursor_execute", capture)
        statement, parameters = statements[-1]
        # The captured statement is in the driver's parameter style, so the driver runs it.
        with driver_connection(connection).cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
            return "\n".join(row[0] for row in cursor.fetchall())


if __name__ == "__main__":
    main()
