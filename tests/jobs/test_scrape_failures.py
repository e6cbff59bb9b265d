"""A failing site makes a run incomplete or failed, and never costs stored data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from starlette.types import ASGIApp, Receive, Scope, Send

from durban_valuations.config import Settings
from durban_valuations.jobs.scrape import run_scrape
from durban_valuations.replica.generate import generate_roll
from durban_valuations.replica.server import RunningReplica, running_replica
from durban_valuations.site.models import Roll

ROWS = 4000
SEED = 3

BLOCK_PAGE = b"""<html><head><title>Web Page Blocked!</title></head><body>
<h1>Web Page Blocked!</h1><p>The page cannot be displayed. Please contact the administrator
for additional information.</p><p>Attack ID: 20000052</p><p>Message ID: 000030605607</p>
</body></html>"""
ERROR_PAGE = b"""<html><head><title>Execution Timeout Expired.</title></head><body>
<span><h1>Server Error in '/' Application.<hr width=100% size=1 color=silver></h1>
<h2> <i>Execution Timeout Expired.</i> </h2></span></body></html>"""
TRUNCATED_PAGE = b"""<html><body><div id="resultPanel"><table class="searchResultTable">
<tr><td colspan="9" class="searchResultCaption">Search Results (Total found records: 3)"""


def settings() -> Settings:
    # The failures below are injected into one suburb's search.
    return Settings(
        _env_file=None,
        request_rate=2000,
        request_concurrency=4,
        request_retries=1,
        crawl_dimensions=("suburb", "volume"),
    )


def answer_suburb_with(suburb: str, status: int, body: bytes) -> Callable[[ASGIApp], ASGIApp]:
    """Return a wrapper that returns a fixed page for every search of one suburb."""
    marker = f"&Suburb={suburb}&".encode()

    def wrap(app: ASGIApp) -> ASGIApp:
        async def faulty(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and marker in scope["query_string"]:
                headers = [(b"content-type", b"text/html; charset=utf-8")]
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await app(scope, receive, send)

        return faulty

    return wrap


@pytest.fixture(scope="module")
def small_suburb() -> str:
    # A suburb with a few full-title rows, so its search is never split.
    counts: dict[str, int] = {}
    for item in generate_roll(ROWS, SEED).full:
        if item.suburb_id is not None:
            counts[item.suburb_id] = counts.get(item.suburb_id, 0) + 1
    return next(suburb for suburb, count in sorted(counts.items()) if 3 <= count <= 50)


def count_properties(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM properties")).scalar_one())


@pytest.mark.parametrize(
    ("status", "body", "error_text"),
    [
        (200, BLOCK_PAGE, "firewall blocked"),
        (500, ERROR_PAGE, "Execution Timeout Expired"),
        (200, TRUNCATED_PAGE, "truncated"),
    ],
    ids=["block-page", "error-page", "truncated-page"],
)
def test_failing_search_makes_run_incomplete(
    engine: Engine, small_suburb: str, status: int, body: bytes, error_text: str
) -> None:
    wrap = answer_suburb_with(small_suburb, status, body)
    with running_replica(rows=ROWS, seed=SEED, wrap=wrap) as site:
        result = run_scrape(settings(), engine, rolls=[Roll.FULL], source_url=site.url)
        expected = len(site.roll.full)

    failed = result.report(Roll.FULL)["failed_searches"]
    assert result.status == "incomplete"
    assert [failure["search"] for failure in failed] == [f"Suburb={small_suburb}"]
    assert error_text in failed[0]["error"]
    # The volume searches still reach that suburb's properties.
    assert count_properties(engine) == expected
    with engine.connect() as connection:
        status_text, failed_count = connection.execute(
            text("SELECT status, failed_searches FROM scrape_runs")
        ).one()
    assert status_text == "incomplete"
    assert failed_count == 1


def test_failed_run_keeps_stored_rows(engine: Engine, tmp_path: Path) -> None:
    site: RunningReplica
    with running_replica(rows=ROWS, seed=SEED) as site:
        first = run_scrape(settings(), engine, rolls=[Roll.FULL], source_url=site.url)
    stored = count_properties(engine)

    down = Settings(_env_file=None, request_retries=0, request_timeout=2)
    second = run_scrape(down, engine, rolls=[Roll.FULL], source_url="http://127.0.0.1:9")

    assert first.status == "complete"
    assert second.status == "failed"
    assert count_properties(engine) == stored
