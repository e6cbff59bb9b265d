"""The response cache and the cached last complete run, on a real database."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from durban_valuations.api.app import create_app
from durban_valuations.api.response_cache import CachedResponse, response_cache
from durban_valuations.api.run_cache import CompletedRunCache, keep_fresh
from durban_valuations.config.settings import Settings
from durban_valuations.store.stats import CompletedRun

from .runs import complete_run

FINISHED_AT = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
RUN = CompletedRun(id=1, finished_at=FINISHED_AT, complete_runs=1)
NEWER_RUN = CompletedRun(id=2, finished_at=FINISHED_AT + timedelta(days=1), complete_runs=2)


def _set_value(engine: Engine, rate_number: str, value: int) -> None:
    """Change a market value behind the API's back, as a running scrape would."""
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE properties SET market_value = :value WHERE rate_number = :rate"),
            {"value": value, "rate": rate_number},
        )


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, roll_year=2022, **values)  # type: ignore[arg-type]


@pytest.fixture
def cached_client(loaded_engine: Engine) -> Iterator[TestClient]:
    """Client of an app with both caches on, after one complete run."""
    complete_run(loaded_engine, FINISHED_AT)
    app = create_app(loaded_engine, settings=_settings(api_run_cache_seconds=60))
    with TestClient(app) as test_client:
        yield test_client


def _market_value(client: TestClient, path: str = "/v1/properties/10000002") -> int:
    response = client.get(path)
    assert response.status_code == 200, response.text
    value: int = response.json()["properties"][0]["market_value"]
    return value


def test_repeated_request_is_answered_from_the_cache(
    cached_client: TestClient, loaded_engine: Engine
) -> None:
    first = cached_client.get("/v1/properties/10000002")
    _set_value(loaded_engine, "10000002", 1)

    second = cached_client.get("/v1/properties/10000002")

    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["cache-control"] == "public, max-age=300"
    # Each response still has its own request id.
    assert second.headers["x-request-id"] != first.headers["x-request-id"]


def test_cached_response_is_logged_with_its_route(
    cached_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="durban_valuations.access"):
        cached_client.get("/v1/properties/10000002")
        cached_client.get("/v1/properties/10000002")

    routes = [getattr(record, "route", None) for record in caplog.records]
    assert routes == ["/properties/{rate_number}", "/properties/{rate_number}"]


def test_other_query_is_not_answered_from_the_cache(
    cached_client: TestClient, loaded_engine: Engine
) -> None:
    cached_client.get("/v1/properties?suburb=PINETOWN")
    _set_value(loaded_engine, "10000002", 1)

    listed = cached_client.get("/v1/properties?suburb=PINETOWN&limit=10").json()["items"]

    assert {item["rate_number"]: item["market_value"] for item in listed}["10000002"] == 1


def test_conditional_request_passes_by_the_cache(cached_client: TestClient) -> None:
    first = cached_client.get("/v1/properties/10000002")

    revalidated = cached_client.get(
        "/v1/properties/10000002", headers={"If-None-Match": first.headers["etag"]}
    )

    assert revalidated.status_code == 304
    assert revalidated.content == b""


def test_gzip_and_plain_responses_are_stored_apart(cached_client: TestClient) -> None:
    path = "/v1/properties?limit=8"
    compressed = cached_client.get(path, headers={"Accept-Encoding": "gzip"})
    plain = cached_client.get(path, headers={"Accept-Encoding": "identity"})
    compressed_again = cached_client.get(path, headers={"Accept-Encoding": "gzip"})

    assert compressed.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert compressed_again.headers["content-encoding"] == "gzip"
    assert compressed.json() == plain.json() == compressed_again.json()


def test_exports_and_errors_are_not_stored(
    cached_client: TestClient, loaded_engine: Engine
) -> None:
    cached_client.get("/v1/properties.csv?rate_number=10000002")
    assert cached_client.get("/v1/properties?limit=0").status_code == 422
    _set_value(loaded_engine, "10000002", 7)

    exported = cached_client.get("/v1/properties.csv?rate_number=10000002").text
    error = cached_client.get("/v1/properties?limit=0")

    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [row["market_value"] for row in rows] == ["7"]
    assert error.status_code == 422
    assert error.headers["cache-control"] == "no-store"


def test_nothing_is_stored_before_the_firstcomplete_run(
    loaded_engine: Engine,
) -> None:
    app = create_app(loaded_engine, settings=_settings(api_run_cache_seconds=60))
    with TestClient(app) as client:
        assert _market_value(client) == 250_000
        _set_value(loaded_engine, "10000002", 3)

        assert _market_value(client) == 3


def test_newer_complete_run_replaces_stored_responses(loaded_engine: Engine) -> None:
    complete_run(loaded_engine, FINISHED_AT)
    app = create_app(loaded_engine, settings=_settings(api_run_cache_seconds=0.2))
    with TestClient(app) as client:
        first = client.get("/v1/properties/10000002")
        _set_value(loaded_engine, "10000002", 5)
        assert _market_value(client) == 250_000

        complete_run(loaded_engine, FINISHED_AT + timedelta(hours=1))
        deadline = time.monotonic() + 10
        while _market_value(client) != 5:
            assert time.monotonic() < deadline, "the newer run never reached the responses"
            time.sleep(0.05)

        assert client.get("/v1/properties/10000002").headers["etag"] != first.headers["etag"]


def test_zero_megabytes_turns_the_response_cache_off(loaded_engine: Engine) -> None:
    complete_run(loaded_engine, FINISHED_AT)
    settings = _settings(api_run_cache_seconds=60, api_response_cache_mb=0)
    with TestClient(create_app(loaded_engine, settings=settings)) as client:
        assert _market_value(client) == 250_000
        _set_value(loaded_engine, "10000002", 9)

        assert _market_value(client) == 9


def _entry(body: bytes) -> CachedResponse:
    return CachedResponse(200, [(b"content-type", b"application/json")], body)


def test_cache_drops_least_recently_used_bytes() -> None:
    entry_size = _entry(b"x" * 1000).size
    cache = response_cache(max_bytes=entry_size * 8)
    for name in "abcdefgh":
        cache.store((f"/{name}", b"", False), RUN, _entry(b"x" * 1000))
    assert cache.lookup(("/a", b"", False), RUN)[0]

    cache.store(("/i", b"", False), RUN, _entry(b"x" * 1000))

    assert not cache.lookup(("/b", b"", False), RUN)[0]
    assert cache.lookup(("/a", b"", False), RUN)[0]
    assert len(cache) == 8
    assert cache.total_size == entry_size * 8


def test_cache_skips_entries_above_an_eighth() -> None:
    cache = response_cache(max_bytes=8_000)

    cache.store(("/big", b"", False), RUN, _entry(b"x" * 1_000))

    assert len(cache) == 0
    assert cache.total_size == 0


def test_cache_empties_when_the_run_changes() -> None:
    cache = response_cache(max_bytes=100_000)
    cache.store(("/a", b"", False), RUN, _entry(b"{}"))

    assert cache.lookup(("/a", b"", False), NEWER_RUN) == (False, None)
    assert len(cache) == 0
    assert cache.total_size == 0


def test_cache_keeps_newer_run_entries() -> None:
    cache = response_cache(max_bytes=100_000)
    cache.store(("/a", b"", False), NEWER_RUN, _entry(b"{}"))

    # A response computed under the older run arrives late: it is not stored.
    cache.store(("/b", b"", False), RUN, _entry(b"{}"))

    assert cache.lookup(("/a", b"", False), NEWER_RUN)[0]
    assert not cache.lookup(("/b", b"", False), NEWER_RUN)[0]


def test_cache_rejects_a_size_below_one_byte() -> None:
    with pytest.raises(ValueError, match="invalid max_size 0"):
        response_cache(max_bytes=0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_run_cache_reading_expires(loaded_engine: Engine) -> None:
    clock = FakeClock()
    cache = CompletedRunCache(2022, max_age=1.0, clock=clock)
    assert cache.current() == (False, None)
    run_id = complete_run(loaded_engine, FINISHED_AT)

    with loaded_engine.connect() as connection:
        run = cache.read(connection)
    clock.now += 0.9
    fresh = cache.current()
    clock.now += 0.1
    stale = cache.current()

    assert run is not None
    assert run.id == run_id
    assert fresh == (True, run)
    assert stale == (False, None)


def test_run_cache_max_age_zero(loaded_engine: Engine) -> None:
    cache = CompletedRunCache(2022, max_age=0)
    with loaded_engine.connect() as connection:
        cache.read(connection)

    assert cache.current() == (False, None)
    assert cache.has_reading()


def test_keep_fresh_waits_for_first_reading(loaded_engine: Engine) -> None:
    cache = CompletedRunCache(2022, max_age=0.1)

    async def run_for(seconds: float) -> None:
        task = asyncio.create_task(keep_fresh(cache, lambda: loaded_engine))
        await asyncio.sleep(seconds)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run_for(0.3))
    assert not cache.has_reading()

    with loaded_engine.connect() as connection:
        cache.read(connection)
    run_id = complete_run(loaded_engine, FINISHED_AT)
    asyncio.run(run_for(0.3))

    fresh, run = cache.current()
    assert fresh
    assert run is not None
    assert run.id == run_id


def test_keep_fresh_logs_a_failing_read_once(
    loaded_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    cache = CompletedRunCache(2022, max_age=0.1)
    with loaded_engine.connect() as connection:
        cache.read(connection)

    def broken_engine() -> Engine:
        raise RuntimeError("database unreachable")

    async def run_for(seconds: float) -> None:
        task = asyncio.create_task(keep_fresh(cache, broken_engine))
        await asyncio.sleep(seconds)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run_for(0.4))

    warnings = [record for record in caplog.records if "background" in record.getMessage()]
    assert len(warnings) == 1
    assert "database unreachable" in warnings[0].getMessage()
    assert cache.current() == (False, None)


def test_stored_gzip_response_decodes(cached_client: TestClient) -> None:
    path = "/v1/properties?limit=8"
    cached_client.get(path, headers={"Accept-Encoding": "gzip"})
    stored = cached_client.get(path, headers={"Accept-Encoding": "gzip"})

    # httpx decodes the body; the length header is that of the compressed bytes.
    assert stored.headers["content-encoding"] == "gzip"
    assert int(stored.headers["content-length"]) < len(stored.content)
    assert len(stored.json()["items"]) == 8
