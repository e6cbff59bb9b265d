from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from durban_valuations.config.settings import Settings
from durban_valuations.site.client import ClientStats, SiteClient
from durban_valuations.site.errors import (
    BlockedError,
    ClientRequestError,
    LayoutChangedError,
    RequestTimeoutError,
    ServerError,
)
from durban_valuations.site.models import Roll, SearchQuery
from durban_valuations.site.retry_policy import Backoff

if TYPE_CHECKING:
    # Only for annotations: the fixture's module is not importable under importlib mode.
    from conftest import ScriptedServer

PageReader = Callable[[str], str]
T = TypeVar("T")

FAST_BACKOFF = Backoff(initial=0.01, maximum=0.02, jitter=0.0, retry_after_cap=5.0)
QUERY = SearchQuery(roll=Roll.FULL, rate_number="534")


def make_client(server: ScriptedServer, **options: Any) -> SiteClient:
    settings: dict[str, Any] = {
        "rate": 1000.0,
        "concurrency": 4,
        "timeout": 2.0,
        "retries": 3,
        "user_agent": "durban-valuations-tests/1.0",
        "backoff": FAST_BACKOFF,
    }
    settings.update(options)
    return SiteClient(server.base_url, **settings)


def run_with(
    server: ScriptedServer,
    call: Callable[[SiteClient], Coroutine[Any, Any, T]],
    **options: Any,
) -> tuple[T, ClientStats]:
    async def main() -> tuple[T, ClientStats]:
        async with make_client(server, **options) as client:
            return await call(client), client.stats

    return asyncio.run(main())


def search(client: SiteClient) -> Coroutine[Any, Any, Any]:
    return client.search(QUERY)


def test_search_parses_page(site_server: ScriptedServer, page: PageReader) -> None:
    site_server.reply(body=page("result-real-rows.html"))
    result, _ = run_with(site_server, search)
    assert result.total == 6


def test_search_sends_encoded_query(site_server: ScriptedServer, page: PageReader) -> None:
    site_server.reply(body=page("result-no-match.html"))
    query = SearchQuery(roll=Roll.SECTIONAL, scheme_name="SS SUN & SAND", whole_scheme=True)
    run_with(site_server, lambda client: client.search(query))
    assert site_server.paths == [
        "/FramePages/SearchResult.aspx?Roll=2&VolumeNo=&RateNumber=&StreetNo=&StreetName="
        "&Suburb=&ERF=&Portion=&DeedsTown=&SchemeName=SS%20SUN%20%26%20SAND&SectionNumber="
        "&All=true"
    ]


def test_user_agent_sent(site_server: ScriptedServer, page: PageReader) -> None:
    site_server.reply(body=page("result-no-match.html"))
    run_with(site_server, search)
    assert site_server.user_agents == ["durban-valuations-tests/1.0"]


def test_default_user_agent_names_project() -> None:
    assert Settings.model_fields["user_agent"].default.startswith("durban-valuations/")


def test_fetch_criteria_path(site_server: ScriptedServer, page: PageReader) -> None:
    site_server.reply(body=page("criteria-sectional.html"))
    options, _ = run_with(site_server, lambda client: client.fetch_criteria(Roll.SECTIONAL))
    assert site_server.paths == ["/FramePages/SearchCrit2.aspx"]
    assert options.schemes[-1].text == "SS SUN & SAND"


def test_fetch_details_follows_href(site_server: ScriptedServer, page: PageReader) -> None:
    site_server.reply(body=page("details-full.html"))
    href = "../FramePages/SearchDeatils.aspx?id=6809553&PType=1&FType=1"
    details, _ = run_with(site_server, lambda client: client.fetch_details(href))
    assert site_server.paths == ["/FramePages/SearchDeatils.aspx?id=6809553&PType=1&FType=1"]
    assert details.owners[0] == "SHABALALA THEMBA"


def test_server_errors_then_ok(site_server: ScriptedServer, page: PageReader) -> None:
    error_page = page("server-error.html")
    site_server.reply(500, error_page).reply(500, error_page).reply(
        body=page("result-real-rows.html")
    )
    result, stats = run_with(site_server, search)
    assert result.total == 6
    assert stats.requests == 3
    assert stats.retries == 2
    assert stats.server_errors == 2


def test_server_error_retries_exhausted(site_server: ScriptedServer, page: PageReader) -> None:
    site_server.reply(500, page("server-error.html"))
    with pytest.raises(ServerError, match="error: 40") as caught:
        run_with(site_server, search, retries=2)
    assert caught.value.status == 500
    assert len(site_server.paths) == 3


def test_retries_logged(
    site_server: ScriptedServer, page: PageReader, caplog: pytest.LogCaptureFixture
) -> None:
    site_server.reply(503, "busy")
    caplog.set_level(logging.WARNING, logger="durban_valuations.site")
    with pytest.raises(ServerError):
        run_with(site_server, search, retries=2)
    levels = [record.levelname for record in caplog.records]
    assert levels == ["WARNING", "WARNING", "ERROR"]
    assert "SearchResult.aspx" in caplog.records[-1].getMessage()


def test_block_page_then_ok(site_server: ScriptedServer, page: PageReader) -> None:
    site_server.reply(body=page("blocked.html")).reply(body=page("result-warning.html"))
    result, stats = run_with(site_server, search)
    assert result.has_warning is True
    assert stats.blocks == 1
    assert stats.retries == 1


def test_block_page_exhausted(site_server: ScriptedServer, page: PageReader) -> None:
    site_server.reply(403, page("blocked.html"))
    with pytest.raises(BlockedError, match="Attack ID: 20000052"):
        run_with(site_server, search, retries=1)
    assert len(site_server.paths) == 2


def test_retry_after_honoured(site_server: ScriptedServer, page: PageReader) -> None:
    site_server.reply(429, "", {"Retry-After": "1"}).reply(body=page("result-no-match.html"))
    run_with(site_server, search)
    gap = site_server.start_times[1] - site_server.start_times[0]
    assert gap >= 0.9


def test_retry_after_capped(site_server: ScriptedServer, page: PageReader) -> None:
    site_server.reply(503, "", {"Retry-After": "3600"}).reply(body=page("result-no-match.html"))
    capped = Backoff(initial=0.01, maximum=0.02, jitter=0.0, retry_after_cap=0.2)
    run_with(site_server, search, backoff=capped)
    gap = site_server.start_times[1] - site_server.start_times[0]
    assert 0.15 <= gap < 2.0


def test_too_many_requests_exhausted(site_server: ScriptedServer) -> None:
    site_server.reply(429, "")
    with pytest.raises(BlockedError, match="429"):
        run_with(site_server, search, retries=1)


def test_slow_reply_times_out(site_server: ScriptedServer) -> None:
    site_server.reply(body="<html></html>", delay=1.0)
    with pytest.raises(RequestTimeoutError, match=r"no response within 0\.2 s"):
        run_with(site_server, search, retries=1, timeout=0.2)
    assert len(site_server.paths) == 2


def test_timeouts_counted(site_server: ScriptedServer) -> None:
    site_server.reply(body="<html></html>", delay=1.0)
    client = make_client(site_server, retries=1, timeout=0.2)

    async def main() -> None:
        async with client:
            await client.search(QUERY)

    with pytest.raises(RequestTimeoutError):
        asyncio.run(main())
    assert client.stats.timeouts == 2


def test_not_found_not_retried(site_server: ScriptedServer) -> None:
    site_server.reply(404, "<html><body>The resource cannot be found.</body></html>")
    with pytest.raises(ClientRequestError, match="HTTP 404"):
        run_with(site_server, search)
    assert len(site_server.paths) == 1


def test_request_validation_not_retried(site_server: ScriptedServer) -> None:
    body = (
        "<html><body><span><H1>Server Error in '/' Application.</H1>"
        "<h2> <i>A potentially dangerous Request.QueryString value was detected from the "
        'client (StreetName="&lt;b").</i> </h2></span></body></html>'
    )
    site_server.reply(500, body)
    with pytest.raises(ServerError, match="potentially dangerous"):
        run_with(site_server, search)
    assert len(site_server.paths) == 1


def test_truncated_page_retried(site_server: ScriptedServer, page: PageReader) -> None:
    site_server.reply(body=page("result-truncated.html")).reply(body=page("result-real-rows.html"))
    result, _ = run_with(site_server, search)
    assert result.total == 6
    assert len(site_server.paths) == 2


def test_truncated_page_exhausted(site_server: ScriptedServer, page: PageReader) -> None:
    site_server.reply(body=page("result-truncated.html"))
    with pytest.raises(LayoutChangedError, match="truncated"):
        run_with(site_server, search, retries=1)


def test_layout_change_not_retried(site_server: ScriptedServer, page: PageReader) -> None:
    site_server.reply(body=page("result-count-mismatch.html"))
    with pytest.raises(LayoutChangedError, match="counts 3 records"):
        run_with(site_server, search)
    assert len(site_server.paths) == 1


def test_bytes_counted(site_server: ScriptedServer, page: PageReader) -> None:
    body = page("result-no-match.html")
    site_server.reply(body=body)
    _, stats = run_with(site_server, search)
    assert stats.bytes == len(body.encode("utf-8"))


def test_rate_limit_spaces_requests(site_server: ScriptedServer, page: PageReader) -> None:
    site_server.reply(body=page("result-no-match.html"))
    count, rate = 5, 10.0

    async def many(client: SiteClient) -> None:
        await asyncio.gather(*(client.search(QUERY) for _ in range(count)))

    started = time.monotonic()
    run_with(site_server, many, rate=rate, concurrency=5)
    elapsed = time.monotonic() - started
    # Loose bound: the first request starts at once, each later one waits 1 / rate.
    assert elapsed >= (count - 1) / rate * 0.9
    assert len(site_server.paths) == count


def test_from_settings_uses_settings() -> None:
    settings = Settings(request_rate=2.0, request_retries=7, request_timeout=9.0)
    client = SiteClient.from_settings(settings, base_url="http://127.0.0.1:9/")
    assert (client.base_url, client.retries, client.timeout) == ("http://127.0.0.1:9", 7, 9.0)
    assert client.current_rate == 2.0
    assert client.deadline is None
    asyncio.run(client.aclose())


def big_result_page(rows: int) -> str:
    """A result page of `rows` generated full-title rows, as the replica renders it."""
    from durban_valuations.replica.generate import generate_roll
    from durban_valuations.replica.html_result import render_result_page

    roll = generate_roll(rows=rows * 2, seed=7)
    return render_result_page(roll.full[:rows], "Roll=1")


def test_large_page_parsed_while_streaming(site_server: ScriptedServer) -> None:
    from durban_valuations.site.client import STREAM_AFTER_BYTES
    from durban_valuations.site.parse_results import parse_result_page

    body = big_result_page(1500)
    assert len(body.encode()) > STREAM_AFTER_BYTES
    site_server.reply(body=body)
    result, stats = run_with(site_server, search)
    assert result == parse_result_page(body)
    assert result.total == 1500
    assert result.has_warning
    assert stats.bytes == len(body.encode("utf-8"))


def test_large_truncated_page_retried(site_server: ScriptedServer) -> None:
    body = big_result_page(1500)
    site_server.reply(body=body[: len(body) * 2 // 3]).reply(body=body)
    result, stats = run_with(site_server, search)
    assert result.total == 1500
    assert stats.retries == 1


def test_large_page_layout_change_not_retried(site_server: ScriptedServer) -> None:
    body = big_result_page(1500).replace("Total found records: 1500", "Total found records: 1499")
    site_server.reply(body=body)
    with pytest.raises(LayoutChangedError, match="1499"):
        run_with(site_server, search)
    assert len(site_server.paths) == 1


def test_timeout_then_server_error_reported_as_timeout(site_server: ScriptedServer) -> None:
    # A search that timed out once and never succeeded is narrowed by the crawl, so the
    # timeout wins over the last attempt's server error.
    site_server.reply(delay=1.0, body="late").reply(500, "<html>busy</html>")
    with pytest.raises(RequestTimeoutError):
        run_with(site_server, search, timeout=0.3, retries=1)
