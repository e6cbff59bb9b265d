from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

import pytest

from durban_valuations.site.client import ClientStats, SiteClient
from durban_valuations.site.errors import BlockedError, DeadlineReachedError, ServerError
from durban_valuations.site.models import Roll, SearchQuery
from durban_valuations.site.retry_policy import Backoff

if TYPE_CHECKING:
    # Only for annotations: the fixture's module is not importable under importlib mode.
    from conftest import ScriptedServer

PageReader = Callable[[str], str]
Event = tuple[str, dict[str, Any]]

FAST_BACKOFF = Backoff(initial=0.01, maximum=0.02, jitter=0.0, retry_after_cap=5.0)
QUERY = SearchQuery(roll=Roll.FULL, rate_number="534")
PAUSE = 0.4


def make_client(server: ScriptedServer, events: list[Event] | None = None, **options: Any) -> Any:
    settings: dict[str, Any] = {
        "rate": 1000.0,
        "concurrency": 4,
        "timeout": 2.0,
        "retries": 5,
        "user_agent": "durban-valuations-tests/1.0",
        "backoff": FAST_BACKOFF,
        "block_pause_after": 3,
        "block_pause_seconds": PAUSE,
    }
    settings.update(options)
    client = SiteClient(server.base_url, **settings)
    if events is not None:
        client.on_event = lambda kind, details: events.append((kind, details))
    return client


def run_searches(client: SiteClient, count: int = 1) -> ClientStats:
    async def main() -> ClientStats:
        async with client:
            await asyncio.gather(*(client.search(QUERY) for _ in range(count)))
        return client.stats

    return asyncio.run(main())


def test_pause_after_consecutive_blocks(site_server: ScriptedServer, page: PageReader) -> None:
    blocked = page("blocked.html")
    site_server.reply(body=blocked).reply(body=blocked).reply(body=blocked)
    site_server.reply(body=page("result-no-match.html"))
    events: list[Event] = []
    stats = run_searches(make_client(site_server, events))

    assert stats.blocks == 3
    assert stats.pauses == 1
    gap = site_server.start_times[3] - site_server.start_times[2]
    assert gap >= PAUSE * 0.9


def test_pause_event_sent(site_server: ScriptedServer, page: PageReader) -> None:
    blocked = page("blocked.html")
    site_server.reply(body=blocked).reply(body=blocked).reply(body=blocked)
    site_server.reply(body=page("result-no-match.html"))
    events: list[Event] = []
    run_searches(make_client(site_server, events))

    assert len(events) == 1
    kind, details = events[0]
    assert kind == "blocked_pause"
    assert details["blocks_in_a_row"] == 3
    assert details["pause_seconds"] == PAUSE
    assert "SearchResult.aspx" in details["url"]


def test_pause_holds_every_caller(site_server: ScriptedServer, page: PageReader) -> None:
    blocked = page("blocked.html")
    for _ in range(4):
        site_server.reply(body=blocked)
    site_server.reply(body=page("result-no-match.html"))
    # The backoff outlasts the arrival of all four blocks, so no retry starts before them.
    backoff = Backoff(initial=0.1, maximum=0.1, jitter=0.0)
    stats = run_searches(make_client(site_server, backoff=backoff), count=4)

    # Four callers start at once and all are blocked. The third block starts the pause and
    # the fourth arrives during it, so it does not count. Every retry, whichever caller
    # sends it, starts only once the pause has ended.
    assert stats.blocks == 4
    assert stats.pauses == 1
    starts = sorted(site_server.start_times)
    retries = starts[4:]
    assert len(retries) == 4
    for start in retries:
        assert start - starts[2] >= PAUSE * 0.9


def test_success_resets_block_count(site_server: ScriptedServer, page: PageReader) -> None:
    blocked = page("blocked.html")
    ok = page("result-no-match.html")
    site_server.reply(body=blocked).reply(body=blocked).reply(body=ok)
    site_server.reply(body=blocked).reply(body=blocked).reply(body=ok)
    events: list[Event] = []
    client = make_client(site_server, events)

    async def main() -> None:
        async with client:
            await client.search(QUERY)
            assert client.blocks_in_a_row == 0
            await client.search(QUERY)

    asyncio.run(main())
    assert client.stats.blocks == 4
    assert client.stats.pauses == 0
    assert events == []


def test_pause_logged(
    site_server: ScriptedServer, page: PageReader, caplog: pytest.LogCaptureFixture
) -> None:
    site_server.reply(body=page("blocked.html"))
    caplog.set_level(logging.WARNING, logger="durban_valuations.site")
    with pytest.raises(BlockedError):
        run_searches(make_client(site_server, retries=2, block_pause_seconds=0.05))
    messages = [record.getMessage() for record in caplog.records]
    assert any("all requests pause for 0.1 s" in message for message in messages)


def test_failing_callback_logged(
    site_server: ScriptedServer, page: PageReader, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = page("blocked.html")
    site_server.reply(body=blocked).reply(body=blocked).reply(body=blocked)
    site_server.reply(body=page("result-no-match.html"))
    client = make_client(site_server)

    def fail(kind: str, details: dict[str, Any]) -> None:
        raise RuntimeError("alert channel down")

    client.on_event = fail
    caplog.set_level(logging.ERROR, logger="durban_valuations.site")
    stats = run_searches(client)
    assert stats.pauses == 1
    assert "on_event callback failed" in caplog.records[0].getMessage()


def test_block_halves_rate(site_server: ScriptedServer, page: PageReader) -> None:
    site_server.reply(body=page("blocked.html")).reply(body=page("result-no-match.html"))
    client = make_client(site_server, rate=100.0)

    async def main() -> list[float]:
        rates = []
        async with client:
            await client.search(QUERY)
            rates.append(client.current_rate)
            for _ in range(10):
                await client.search(QUERY)
                rates.append(client.current_rate)
        return rates

    rates = asyncio.run(main())
    # The block halves 100 to 50, and every success adds 5 back, up to 100.
    assert rates[0] == pytest.approx(55.0)
    assert rates[4] == pytest.approx(75.0)
    assert rates[9] == pytest.approx(100.0)
    assert rates[10] == 100.0


def test_block_spaces_next_requests(site_server: ScriptedServer, page: PageReader) -> None:
    blocked = page("blocked.html")
    site_server.reply(body=blocked).reply(body=blocked).reply(body=page("result-no-match.html"))
    no_wait = Backoff(initial=0.0, maximum=0.0, jitter=0.0)
    run_searches(make_client(site_server, rate=10.0, backoff=no_wait))

    # Two blocks take 10 requests/s down to 2.5, so the third request waits about 0.4 s.
    gap = site_server.start_times[2] - site_server.start_times[1]
    assert gap >= 0.4 * 0.9


def test_past_deadline_sends_nothing(site_server: ScriptedServer, page: PageReader) -> None:
    site_server.reply(body=page("result-no-match.html"))
    client = make_client(site_server, deadline=time.monotonic() - 1.0)
    with pytest.raises(DeadlineReachedError, match="deadline passed"):
        run_searches(client)
    assert site_server.paths == []
    assert client.deadline_passed() is True


def test_deadline_stops_backoff_sleep(site_server: ScriptedServer) -> None:
    site_server.reply(503, "busy", {"Retry-After": "5"})
    started = time.monotonic()
    client = make_client(site_server, deadline=started + 1.0)
    with pytest.raises(DeadlineReachedError, match="ServerError") as caught:
        run_searches(client)
    assert time.monotonic() - started < 0.9
    assert len(site_server.paths) == 1
    assert isinstance(caught.value.__cause__, ServerError)


def test_deadline_ends_pause_wait(site_server: ScriptedServer, page: PageReader) -> None:
    site_server.reply(body=page("blocked.html"))
    started = time.monotonic()
    client = make_client(
        site_server, block_pause_after=1, block_pause_seconds=30.0, deadline=started + 0.5
    )
    with pytest.raises(DeadlineReachedError, match="block pause"):
        run_searches(client)
    elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < 5.0
    assert len(site_server.paths) == 1


def test_deadline_spares_request_in_flight(site_server: ScriptedServer, page: PageReader) -> None:
    site_server.reply(body=page("result-no-match.html"), delay=0.5)
    client = make_client(site_server, deadline=time.monotonic() + 0.2)
    stats = run_searches(client)
    assert stats.requests == 1
    assert client.deadline_passed() is True


def test_retry_after_http_date(site_server: ScriptedServer, page: PageReader) -> None:
    later = datetime.now(UTC) + timedelta(seconds=2)
    site_server.reply(429, "", {"Retry-After": format_datetime(later, usegmt=True)})
    site_server.reply(body=page("result-no-match.html"))
    run_searches(make_client(site_server))
    # HTTP dates have whole seconds, so the wait is between 1 and 2 seconds.
    gap = site_server.start_times[1] - site_server.start_times[0]
    assert 0.9 <= gap < 4.0


def test_requests_per_second() -> None:
    stats = ClientStats(requests=30, started_at=100.0)
    assert stats.requests_per_second(now=110.0) == 3.0
    assert stats.requests_per_second(now=100.0) == 0.0


@pytest.mark.parametrize(
    ("option", "value"), [("block_pause_after", 0), ("block_pause_seconds", 0.0)]
)
def test_invalid_block_options(option: str, value: float) -> None:
    with pytest.raises(ValueError, match=option):
        SiteClient("http://127.0.0.1:9", **{option: value})
