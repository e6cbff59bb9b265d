"""Parsers on pages the replica renders from the 1,000 real rows, fetched over real HTTP."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterator
from importlib import resources

import pytest

from durban_valuations.clean import clean_row
from durban_valuations.replica.server import RunningReplica, running_replica
from durban_valuations.site.client import SiteClient
from durban_valuations.site.models import ResultPage, Roll, SearchQuery


@pytest.fixture(scope="module")
def site() -> Iterator[RunningReplica]:
    with running_replica(rows=3000, seed=5) as replica:
        yield replica


def real_rows() -> dict[str, dict[str, str]]:
    data = resources.files("durban_valuations.replica") / "data"
    with (data / "real-fulltitle-ratenumber-534.csv").open(encoding="utf-8") as handle:
        return {row["rate_number"]: row for row in csv.DictReader(handle)}


def search(site: RunningReplica, query: SearchQuery) -> ResultPage:
    async def run() -> ResultPage:
        async with SiteClient(site.url, rate=100, concurrency=1, retries=0) as client:
            return await client.search(query)

    return asyncio.run(run())


def test_real_rows_parse_cell_by_cell(site: RunningReplica) -> None:
    expected = real_rows()
    page = search(site, SearchQuery(Roll.FULL, rate_number="534"))
    parsed = {row.rate_number: row for row in page.rows}

    assert page.has_warning
    assert page.total == len(page.rows)
    assert set(expected) <= set(parsed)
    for rate_number, real in expected.items():
        row = parsed[rate_number]
        assert row.legal_description == real["legal_description"]
        assert row.address == real["address"]
        assert row.first_owner == real["first_owner"]
        assert row.use_code == real["use_code"]
        assert row.rating_category == real["rating_category"]
        assert row.market_value == real["market_value"]
        assert row.registered_extent.replace(",", "") == real["registered_extent"]


def test_industrial_pinetown_row_cleans(site: RunningReplica) -> None:
    page = search(site, SearchQuery(Roll.FULL, rate_number="00190534"))

    assert page.total == 1
    clean = clean_row(Roll.FULL, page.rows[0])
    assert clean.rate_number == "00190534"
    assert clean.first_owner == "ZEDEK TRADING 656 PROPRIETARY LIMITED"
    assert clean.market_value == 60_760_000
    assert clean.registered_extent == 22702
    assert clean.use_code_number == 45
    assert clean.deeds_town == "PINETOWN"
    assert clean.raw_market_value == "60,760,000"
