"""Compare the rows/s of `upsert_properties` with a plain COPY of the same rows.

Usage: python benchmarks/upsert_vs_copy.py [--rows N] [--repeat R]

Starts an embedded PostgreSQL in a temporary folder and times, with commit:
  * COPY of N generated rows into an empty table with the columns of `properties` and
    no index or constraint (the limit), and into one with every index of `properties`;
  * upsert_properties of the N rows into the empty `properties` table (first load);
  * the same rows again in a new run (all unchanged);
  * the rows again with 10% of them changed (market value, and first owner for half).
Each measure is the median of R repetitions on fresh tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, text

from durban_valuations.clean.models import CleanProperty
from durban_valuations.config import Settings
from durban_valuations.site.models import Roll
from durban_valuations.store.database import make_engine, resolve_database_url
from durban_valuations.store.migrations import upgrade_database
from durban_valuations.store.runs import start_run
from durban_valuations.store.staging import DATA_COLUMNS, copy_row, driver_connection
from durban_valuations.store.upsert import upsert_properties

ROLL_YEAR = 2022
SUBURBS = ("PINETOWN", "WESTVILLE", "UMHLANGA", "MORNINGSIDE", "CHATSWORTH", "PHOENIX")


def generate_rows(count: int) -> list[CleanProperty]:
    """Return `count` properties shaped like cleaned result rows, one in four sectional."""
    rows = []
    for pin in range(1, count + 1):
        sectional = pin % 4 == 0
        suburb = SUBURBS[pin % len(SUBURBS)]
        value = 150_000 + (pin * 7919) % 5_000_000
        extent = Decimal(200 + pin % 3000)
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
                use_code="Single Residential (15)",
                use_code_description="Single Residential",
                use_code_number=15,
                rating_category="Residential",
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
                raw_use_code="Single Residential (15)",
                raw_rating_category="Residential",
                raw_market_value=f"{value:,}",
                raw_registered_extent=str(extent),
            )
        )
    return rows


def change_tenth(rows: list[CleanProperty]) -> list[CleanProperty]:
    """Return the rows with every tenth one changed, half of those to a new first owner."""
    changed = list(rows)
    for index in range(0, len(rows), 10):
        row = rows[index]
        value = (row.market_value or 0) + 10_000
        owner = f"BUYER {row.pin}" if index % 20 == 0 else row.first_owner
        changed[index] = dataclasses.replace(
            row,
            market_value=value,
            raw_market_value=f"{value:,}",
            first_owner=owner,
            raw_first_owner=owner or "",
        )
    return changed


def reset(engine: Engine) -> None:
    """Empty the tables that the upserts write, and drop the COPY targets."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "TRUNCATE properties, owners, property_change_rows, run_sightings, "
                "scrape_runs CASCADE"
            )
        )
        connection.execute(text("DROP TABLE IF EXISTS copy_bare, copy_indexed"))


def time_copy(engine: Engine, rows: list[CleanProperty], *, indexed: bool) -> float:
    """Return the seconds to COPY `rows` into a fresh table like `properties`."""
    table = "copy_indexed" if indexed else "copy_bare"
    # Generated columns (the search vector) are computed in both tables, as in properties.
    like = "INCLUDING ALL" if indexed else "INCLUDING DEFAULTS INCLUDING GENERATED"
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
        connection.execute(text(f"CREATE TABLE {table} (LIKE properties {like})"))
    # The same columns that the upsert writes: the result row, roll year and first run.
    columns = ", ".join((*DATA_COLUMNS, "roll_year", "first_seen_run_id"))
    started = time.perf_counter()
    with engine.begin() as connection:
        driver = driver_connection(connection)
        with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((*copy_row(row), ROLL_YEAR, 1))
    return time.perf_counter() - started


def time_upsert(engine: Engine, rows: list[CleanProperty]) -> float:
    """Return the seconds to upsert `rows` in a new run, in one transaction."""
    started = time.perf_counter()
    with engine.begin() as connection:
        run_id = start_run(connection, ROLL_YEAR, "all", "http://127.0.0.1:9/")
        upsert_properties(connection, ROLL_YEAR, run_id, rows)
    return time.perf_counter() - started


def median_seconds(repeat: int, prepare: Callable[[], None], measure: Callable[[], float]) -> float:
    """Return the median of `repeat` measures, each after `prepare` (which is not timed)."""
    samples = []
    for _ in range(repeat):
        prepare()
        samples.append(measure())
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows per load")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per measure")
    arguments = parser.parse_args()
    rows = generate_rows(arguments.rows)
    changed = change_tenth(rows)
    repeat = arguments.repeat

    with tempfile.TemporaryDirectory() as folder:
        url = resolve_database_url(Settings(_env_file=None, data_dir=Path(folder)))
        upgrade_database(url)
        engine = make_engine(url)
        try:

            def nothing() -> None:
                return None

            def empty() -> None:
                reset(engine)

            def loaded() -> None:
                reset(engine)
                time_upsert(engine, rows)

            results = {
                "COPY, no indexes (limit)": median_seconds(
                    repeat, nothing, lambda: time_copy(engine, rows, indexed=False)
                ),
                "COPY, indexes of properties": median_seconds(
                    repeat, nothing, lambda: time_copy(engine, rows, indexed=True)
                ),
                "upsert, first load": median_seconds(
                    repeat, empty, lambda: time_upsert(engine, rows)
                ),
                "upsert, all unchanged": median_seconds(
                    repeat, loaded, lambda: time_upsert(engine, rows)
                ),
                "upsert, 10% changed": median_seconds(
                    repeat, loaded, lambda: time_upsert(engine, changed)
                ),
            }
            with engine.connect() as connection:
                version = connection.execute(text("SHOW server_version")).scalar_one()
        finally:
            engine.dispose()

    print(
        f"rows: {arguments.rows:,}; median of {repeat}; Python {platform.python_version()}, "
        f"PostgreSQL {version}"
    )
    limit = arguments.rows / results["COPY, no indexes (limit)"]
    print(f"{'measure':32} {'seconds':>8} {'rows/s':>10} {'of COPY':>8}")
    for name, seconds in results.items():
        rate = arguments.rows / seconds
        print(f"{name:32} {seconds:8.2f} {rate:10,.0f} {rate / limit:8.0%}")


if __name__ == "__main__":
    main()
