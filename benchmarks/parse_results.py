"""Measure rows per second and peak memory of the result page parsers against the tree alone.

Usage: python benchmarks/parse_results.py [--pages N] [--repeats R] [--stream-rows N]

The pages are rendered by the replica's result page renderer from a generated roll, 1,000
rows each, and encoded to UTF-8 bytes as the client receives them. Each repeat times one
pass over every page of `parse_result_page`, of `ResultPageParser` fed in chunks of 65,536
bytes, of the tree reader alone (`parse_result_page_with_tree`), then of `LexborHTMLParser`
over the same bytes (the tree that the tree reader builds, without checks or row
extraction). The medians of the repeats are printed, with their ratio against the target of
50 % of the tree's rows/s.

The memory part renders one page of `--stream-rows` rows and parses it in a fresh process per
measure: with the tree reader alone and with `parse_result_page` given the whole body, and
with `ResultPageParser` fed in chunks of 65,536 bytes. It reports the peak of allocations
traced by tracemalloc, which include lexbor's trees because selectolax 1.0.2 allocates them
through Python's allocator, and the growth of the peak resident set size (VmHWM, reset
through /proc/self/clear_refs, Linux only).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable

from selectolax.lexbor import LexborHTMLParser

from durban_valuations.replica.generate import generate_roll
from durban_valuations.replica.html_result import render_result_page
from durban_valuations.site.models import ResultPage
from durban_valuations.site.parse_results import (
    ResultPageParser,
    parse_result_page,
    parse_result_page_with_tree,
)

ROWS_PER_PAGE = 1000
TARGET_RATIO = 0.5
CHUNK_BYTES = 65536
MEMORY_MEASURES = (
    "tree:traced",
    "tree:resident",
    "whole:traced",
    "whole:resident",
    "stream:traced",
    "stream:resident",
)


def render_pages(count: int, seed: int) -> list[bytes]:
    """Render `count` result pages of 1,000 full-title rows each, as UTF-8 bytes."""
    roll = generate_roll(rows=max(1000, count * ROWS_PER_PAGE * 4 // 3 + 1000), seed=seed)
    pages = []
    for index in range(count):
        properties = roll.full[index * ROWS_PER_PAGE : (index + 1) * ROWS_PER_PAGE]
        if len(properties) != ROWS_PER_PAGE:
            raise RuntimeError(f"the roll has too few full-title rows for page {index + 1}")
        pages.append(render_result_page(properties, "Roll=1").encode("utf-8"))
    return pages


def render_page(rows: int, seed: int) -> bytes:
    """Render one page of `rows` full-title rows, as UTF-8 bytes."""
    roll = generate_roll(rows=max(1000, rows * 4 // 3 + 1000), seed=seed)
    if len(roll.full) < rows:
        raise RuntimeError(f"the roll has {len(roll.full)} full-title rows, {rows} needed")
    return render_result_page(roll.full[:rows], "Roll=1").encode("utf-8")


def parse_in_chunks(body: bytes) -> ResultPage:
    """Parse `body` with ResultPageParser, fed in chunks of CHUNK_BYTES."""
    parser = ResultPageParser()
    for start in range(0, len(body), CHUNK_BYTES):
        parser.feed(body[start : start + CHUNK_BYTES])
    return parser.close()


def time_pass(pages: list[bytes], handle: Callable[[bytes], object]) -> float:
    """Return the seconds one call of `handle` per page takes."""
    started = time.perf_counter()
    for page in pages:
        handle(page)
    return time.perf_counter() - started


def check_pages(pages: list[bytes]) -> None:
    """Raise RuntimeError unless both parsers read every page to its 1,000 rows."""
    for index, page in enumerate(pages, 1):
        parsed = parse_result_page(page)
        if len(parsed.rows) != ROWS_PER_PAGE:
            raise RuntimeError(f"page {index} parsed to {len(parsed.rows)} rows")
        if parse_in_chunks(page) != parsed:
            raise RuntimeError(f"page {index} parsed in chunks differs from the whole page")


def read_kilobytes(field: str) -> int:
    """Return a memory field of /proc/self/status, such as VmHWM, in kilobytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field} line")


def measure_memory(measure: str, rows: int, seed: int) -> dict[str, int]:
    """Parse one page of `rows` rows and return the peak memory of `measure` in bytes."""
    kind, counter = measure.split(":")
    body = render_page(rows, seed)
    parsers: dict[str, Callable[[bytes], ResultPage]] = {
        "tree": parse_result_page_with_tree,
        "whole": parse_result_page,
        "stream": parse_in_chunks,
    }
    parse = parsers[kind]
    gc.collect()

    if counter == "traced":
        tracemalloc.start()
        parsed = parse(body)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    else:
        # Writing 5 resets VmHWM to the current resident set size.
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        before = read_kilobytes("VmRSS")
        parsed = parse(body)
        peak = (read_kilobytes("VmHWM") - before) * 1024

    if len(parsed.rows) != rows:
        raise RuntimeError(f"the page parsed to {len(parsed.rows)} rows, expected {rows}")
    return {"page_bytes": len(body), "peak_bytes": peak}


def run_memory_measure(measure: str, rows: int, seed: int) -> dict[str, int]:
    """Run one memory measure in a fresh Python process, so earlier runs do not skew it."""
    finished = subprocess.run(
        [sys.executable, __file__, "--memory-of", measure, "--stream-rows", str(rows),
         "--seed", str(seed)],
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    result: dict[str, int] = json.loads(finished.stdout)
    return result


def report_speed(pages: list[bytes], repeats: int) -> None:
    rows = len(pages) * ROWS_PER_PAGE
    rates: dict[str, list[float]] = {"parse": [], "stream": [], "tree reader": [], "tree": []}
    for _ in range(repeats):
        rates["parse"].append(rows / time_pass(pages, parse_result_page))
        rates["stream"].append(rows / time_pass(pages, parse_in_chunks))
        rates["tree reader"].append(rows / time_pass(pages, parse_result_page_with_tree))
        rates["tree"].append(rows / time_pass(pages, LexborHTMLParser))

    parse_median = statistics.median(rates["parse"])
    stream_median = statistics.median(rates["stream"])
    tree_reader_median = statistics.median(rates["tree reader"])
    tree_median = statistics.median(rates["tree"])
    print(
        f"pages: {len(pages)} of {ROWS_PER_PAGE} rows, "
        f"{sum(map(len, pages)) / len(pages) / 1e6:.2f} MB each, repeats: {repeats}"
    )
    print(f"parse_result_page: {parse_median:,.0f} rows/s (median)")
    print(
        f"ResultPageParser, {CHUNK_BYTES:,}-byte chunks: {stream_median:,.0f} rows/s (median), "
        f"{stream_median / tree_median:.1%} of the tree"
    )
    print(
        f"parse_result_page_with_tree: {tree_reader_median:,.0f} rows/s (median), "
        f"{tree_reader_median / tree_median:.1%} of the tree"
    )
    print(f"LexborHTMLParser tree only: {tree_median:,.0f} rows/s (median)")
    ratio = parse_median / tree_median
    verdict = "met" if ratio >= TARGET_RATIO else "not met"
    print(f"ratio: {ratio:.1%} (target {TARGET_RATIO:.0%}: {verdict})")


def report_memory(rows: int, seed: int) -> None:
    results = {measure: run_memory_measure(measure, rows, seed) for measure in MEMORY_MEASURES}
    page_bytes = results[MEMORY_MEASURES[0]]["page_bytes"]
    print(f"memory: one page of {rows:,} rows, {page_bytes / 1e6:.1f} MB")
    labels = {
        "tree": "parse_result_page_with_tree, whole body",
        "whole": "parse_result_page, whole body",
        "stream": f"ResultPageParser, {CHUNK_BYTES:,}-byte chunks",
    }
    for measure, result in results.items():
        kind, counter = measure.split(":")
        name = "traced peak (tracemalloc)" if counter == "traced" else "peak RSS growth"
        peak = result["peak_bytes"]
        print(f"{labels[kind]}: {name} {peak / 1e6:.1f} MB, {peak / page_bytes:.2f} x page size")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10, help="result pages of 1,000 rows")
    parser.add_argument("--repeats", type=int, default=9, help="timed passes of each kind")
    parser.add_argument(
        "--stream-rows", type=int, default=30000, help="rows of the page for the memory measures"
    )
    parser.add_argument("--seed", type=int, default=2022, help="seed of the generated roll")
    # Internal: run one memory measure and print its result as JSON.
    parser.add_argument("--memory-of", choices=MEMORY_MEASURES, help=argparse.SUPPRESS)
    arguments = parser.parse_args()

    if arguments.memory_of:
        result = measure_memory(arguments.memory_of, arguments.stream_rows, arguments.seed)
        print(json.dumps(result))
        return

    pages = render_pages(arguments.pages, arguments.seed)
    check_pages(pages)
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, cores: {len(os.sched_getaffinity(0))}"
    )
    report_speed(pages, arguments.repeats)
    report_memory(arguments.stream_rows, arguments.seed)


if __name__ == "__main__":
    main()
