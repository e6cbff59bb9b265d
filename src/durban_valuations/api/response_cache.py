"""A per-process cache of whole data responses, valid while the last complete run stays the same.

A data response depends on its path and query, the roll year's last complete run and the
app version, which are the parts of its ETag, and on whether the client accepts gzip.
So the bytes sent once can serve the same request again until a newer run completes,
without routing, parameter checks, a database query or serialization.

What is stored: 200 responses with an ETag and a public Cache-Control (the data routes
after a complete run), whose body came in one piece of at most 1/8 of the cache.
Streamed exports, errors and `no-store` responses are never stored. Requests with
If-None-Match or If-Modified-Since pass by the cache, so the routes return 304 to them.

A stored response is used only while the process's CompletedRunCache contains a reading
that is younger than API_RUN_CACHE_SECONDS and names the same run. When the run
changes, every stored response is dropped.

NOTE: like the ETags, stored responses follow complete runs only. While a scrape is
running, its writes show in a stored response only once the run completes.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from durban_valuations.api.per_run_cache import RunCache
from durban_valuations.api.run_cache import COMPLETED_RUN_STATE_KEY, CompletedRunCache
from durban_valuations.store.stats import CompletedRun

# Bytes counted for an entry besides its body and headers: the key, the record, the
# dictionary slot.
ENTRY_OVERHEAD_BYTES = 300
_CONDITIONAL_HEADERS = (b"if-none-match", b"if-modified-since")

CacheKey = tuple[str, bytes, bool]


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """A complete response as sent: status, headers and body.

    `route` is the route that made it, put back into the scope of each request that the
    entry serves, so access logs and metrics name the route of a cached response too.
    """

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    route: object = None

    @property
    def size(self) -> int:
        header_bytes = sum(len(name) + len(value) for name, value in self.headers)
        return len(self.body) + header_bytes + ENTRY_OVERHEAD_BYTES


ResponseCache = RunCache[CachedResponse]


def response_cache(max_bytes: int) -> ResponseCache:
    """Create a response cache of at most `max_bytes`, each response at most 1/8 of it."""
    return RunCache(max_bytes, size=_response_size, max_item_size=max(max_bytes // 8, 1))


def _response_size(entry: CachedResponse) -> int:
    return entry.size


def _cacheable_headers(status: int, headers: Headers) -> bool:
    cache_control = headers.get("cache-control", "")
    return status == 200 and "etag" in headers and cache_control.startswith("public")


class ResponseCacheMiddleware:
    """Serves a GET request from the response cache, or passes it on and stores the response.

    Sits outside the gzip middleware, so a stored response is the compressed or the plain
    one, and the key records which.
    """

    def __init__(self, app: ASGIApp, cache: ResponseCache, runs: CompletedRunCache) -> None:
        self.app = app
        self.cache = cache
        self.runs = runs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        request_headers = dict(scope["headers"])
        if any(name in request_headers for name in _CONDITIONAL_HEADERS):
            await self.app(scope, receive, send)
            return
        accepts_gzip = b"gzip" in request_headers.get(b"accept-encoding", b"")
        key: CacheKey = (scope["path"], scope["query_string"], accepts_gzip)

        fresh, run = self.runs.current()
        if fresh and run is not None:
            found, entry = self.cache.lookup(key, run)
            if found and entry is not None:
                if entry.route is not None:
                    scope["route"] = entry.route
                await _send_entry(entry, send)
                return

        await self._pass_and_store(key, scope, receive, send)

    async def _pass_and_store(
        self, key: CacheKey, scope: Scope, receive: Receive, send: Send
    ) -> None:
        start: Message | None = None
        body: bytes | None = None
        storable = True

        async def send_and_copy(message: Message) -> None:
            nonlocal start, body, storable
            if message["type"] == "http.response.start":
                start = message
                storable = _cacheable_headers(message["status"], Headers(raw=message["headers"]))
            elif message["type"] == "http.response.body" and storable:
                if body is None and not message.get("more_body", False):
                    body = message.get("body", b"")
                else:
                    # Streamed in pieces: an export, never stored.
                    storable, body = False, None
            await send(message)

        await self.app(scope, receive, send_and_copy)

        run: CompletedRun | None = scope.get("state", {}).get(COMPLETED_RUN_STATE_KEY)
        if storable and start is not None and body is not None and run is not None:
            entry = CachedResponse(
                start["status"], list(start["headers"]), body, scope.get("route")
            )
            self.cache.store(key, run, entry)


async def _send_entry(entry: CachedResponse, send: Send) -> None:
    await send(
        {"type": "http.response.start", "status": entry.status, "headers": list(entry.headers)}
    )
    await send({"type": "http.response.body", "body": entry.body})
