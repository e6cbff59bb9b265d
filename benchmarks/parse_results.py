"""Measure rows per second of `parse_result_page` against building the HTML tree alone.

Usage: python benchmarks/parse_results.py [--pages N] [--repeats R]

The pages are rendered by the replica's result page renderer from a generated roll, 1,000
rows each, and encoded to UTF-8 bytes as the client receives them. Each repeat times one
pass of `parse_result_page` over every page, then one pass of `LexborHTMLParser` over the
same bytes (the tree that `parse_result_page` builds, without checks or row extraction).
The medians of the repeats are printed, with their ratio against the target of 50 %.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

from selectolax.lexbor import LexborHTMLParser

from durban_valuations.replica.generate import generate_roll
from durban_valuations.replica.html_result import render_result_page
from durban_valuations.site.parse_results import parse_result_page

ROWS_PER_PAGE = 1000
TARGET_RATIO = 0.5


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


def time_pass(pages: list[bytes], handle: Callable[[bytes], object]) -> float:
    """Return the seconds one call of `handle` per page takes."""
    started = time.perf_counter()
    for page in pages:
        handle(page)
    return time.perf_counter() - started


def check_pages(pages: list[bytes]) -> None:
    """Raise RuntimeError unless every page parses to its 1,000 rows."""
    for index, page in enumerate(pages, 1):
        parsed = parse_result_page(page)
        if len(parsed.rows) != ROWS_PER_PAGE:
            raise RuntimeError(f"page {index} parsed to {len(parsed.rows)} rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10, help="result pages of 1,000 rows")
    parser.add_argument("--repeats", type=int, default=9, help="timed passes of each kind")
    parser.add_argument("--seed", type=int, default=2022, help="seed of the generated roll")
    arguments = parser.parse_args()

    pages = render_pages(arguments.pages, arguments.seed)
    check_pages(pages)
    rows = len(pages) * ROWS_PER_PAGE

    parse_rates: list[float] = []
    tree_rates: list[float] = []
    for _ in range(arguments.repeats):
        parse_rates.append(rows / time_pass(pages, parse_result_page))
        tree_rates.append(rows / time_pass(pages, LexborHTMLParser))

    parse_median = statistics.median(parse_rates)
    tree_median = statistics.median(tree_rates)
    ratio = parse_median / tree_median
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, cores: {len(os.sched_getaffinity(0))}"
    )
    print(
        f"pages: {len(pages)} of {ROWS_PER_PAGE} rows, "
        f"{sum(map(len, pages)) / len(pages) / 1e6:.2f} MB each, repeats: {arguments.repeats}"
    )
    print(f"parse_result_page: {parse_median:,.0f} rows/s (median)")
    print(f"LexborHTMLParser tree only: {tree_median:,.0f} rows/s (median)")
    verdict = "met" if ratio >= TARGET_RATIO else "not met"
    print(f"ratio: {ratio:.1%} (target {TARGET_RATIO:.0%}: {verdict})")


if __name__ == "__main__":
    main()
