"""A per-process cache of whole data responses, valid while the last complete run stays the same.

A data response depends on its path and query, the roll year's last complete run and the
app version, which are the parts of its ETag, and on whether the client accepts gzip.
So the bytes sent once can answer the same request again until a newer run completes,
without routing, parameter checks, a database query or serialization.

What is stored: 200 responses with an ETag and a public Cache-Control (the data routes
after a complete run), whose body came in one piece of at most `max_entry_bytes`.
Streamed exports, errors and `no-store` responses are never stored. Requests with
If-None-Match or If-Modified-Since pass by the cache, so the routes answer them with 304.

A stored response is used only while the process's CompletedRunCache holds a reading
that is younger than API_RUN_CACHE_SECONDS and names the same run. When the run
changes, every stored response is dropped.

NOTE: like the ETags, stored responses follow complete runs only. While a scrape is
running, its writes show in a stored response only once the run completes.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class ResponseCache:
    """Responses under one run, least recently used dropped first beyond `max_bytes`.

    Used from the event loop only, so it takes no lock.
    """

    def __init__(self, max_bytes: int, max_entry_bytes: int | None = None) -> None:
        if max_bytes < 1:
            raise ValueError(f"invalid max_bytes {max_bytes}: expected at least 1")
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes or max(max_bytes // 8, 1)
        self.size = 0
        self._run: CompletedRun | None = None
        self._entries: OrderedDict[CacheKey, CachedResponse] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CacheKey, run: CompletedRun) -> CachedResponse | None:
        """Return the response stored for `key` under `run`, or None."""
        self._follow(run)
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: CacheKey, run: CompletedRun, entry: CachedResponse) -> None:
        """Store `entry` for `key` under `run`, unless it is larger than `max_entry_bytes`."""
        if entry.size > self.max_entry_bytes:
            return
        self._follow(run)
        previous = self._entries.pop(key, None)
        if previous is not None:
            self.size -= previous.size
        self._entries[key] = entry
        self.size += entry.size
        while self.size > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self.size -= dropped.size

    def _follow(self, run: CompletedRun) -> None:
        """Drop every entry when `run` is not the run they were stored under."""
        if run != self._run:
            self._entries.clear()
            self.size = 0
            self._run = run


def _cacheable_headers(status: int, headers: Headers) -> bool:
    cache_control = headers.get("cache-control", "")
    return status == 200 and "etag" in headers and cache_control.startswith("public")


class ResponseCacheMiddleware:
    """Answers a GET request from the ResponseCache, or passes it on and stores the response.

    Sits outside the gzip middleware, so a stored response is the compressed or the plain
    one, and the key says which.
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
            entry = self.cache.get(key, run)
            if entry is not None:
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
            self.cache.put(key, run, entry)


async def _send_entry(entry: CachedResponse, send: Send) -> None:
    await send(
        {"type": "http.response.start", "status": entry.status, "headers": list(entry.headers)}
    )
    await send({"type": "http.response.body", "body": entry.body})
