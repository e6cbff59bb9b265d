"""Async HTTP client of the valuation roll site, polite by default.

Every request passes a concurrency semaphore and a global rate limiter, and failed attempts
are retried with exponential backoff. Responses are checked with `check_page` before
parsing, because the site serves some failures as HTTP 200 pages. Firewall blocks slow the
shared rate down and, when consecutive, pause every request (see `block_guard`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from types import TracebackType

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from durban_valuations.config.settings import Settings
from durban_valuations.site.block_guard import BlockGuard, EventCallback
from durban_valuations.site.errors import (
    BlockedError,
    ClientRequestError,
    DeadlineReachedError,
    LayoutChangedError,
    PageTooLargeError,
    RequestTimeoutError,
    ServerError,
    SiteError,
    SiteUnreachableError,
)
from durban_valuations.site.models import (
    CriteriaOptions,
    PropertyDetails,
    ResultPage,
    Roll,
    SearchQuery,
)
from durban_valuations.site.page_checks import (
    BLOCK_PAGE_MARKER,
    check_page,
    describe_block_page,
    is_truncated,
    read_server_error_message,
)
from durban_valuations.site.parse_criteria import parse_criteria_page
from durban_valuations.site.parse_details import parse_details_page
from durban_valuations.site.parse_results import ResultPageParser, parse_result_page
from durban_valuations.site.rate_limit import RateLimiter
from durban_valuations.site.retry_policy import (
    Backoff,
    RetryableAttemptError,
    is_permanent_server_error,
    parse_retry_after,
)
from durban_valuations.site.urls import criteria_url, details_url, search_url

logger = logging.getLogger("durban_valuations.site")

_DEFAULTS = Settings.model_fields

# A result page longer than this is parsed while it arrives instead of after it, so
# memory stays bounded for searches of tens of thousands of rows. Firewall block pages
# and error pages are a few kilobytes, so they always take the buffered path.
STREAM_AFTER_BYTES = 256 * 1024
# Bytes kept from the end of a streamed page to check that it ends with `</html>`.
_STREAM_TAIL_BYTES = 4096


@dataclass(slots=True)
class _StreamedPage:
    """A result page parsed while it arrived, with the response it came in."""

    response: httpx.Response
    page: ResultPage


@dataclass(slots=True)
class ClientStats:
    """Counters of one client's traffic. `requests` counts every attempt, retries included."""

    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    # HTTP 5xx, ASP.NET error pages served with 200, and failed connections.
    server_errors: int = 0
    # Firewall block pages and HTTP 429 responses.
    blocks: int = 0
    # Pauses of all requests after consecutive blocks.
    pauses: int = 0
    # Bytes of response bodies received.
    bytes: int = 0
    # time.monotonic() when the client was created.
    started_at: float = field(default_factory=time.monotonic)

    def requests_per_second(self, now: float | None = None) -> float:
        """Return the attempts per second since the client was created (0.0 at the start)."""
        elapsed = (time.monotonic() if now is None else now) - self.started_at
        return self.requests / elapsed if elapsed > 0 else 0.0


class SiteClient:
    """Client of the site's criteria, result and details pages, used with `async with`.

    After `retries` failed retries the client raises the typed error of the last attempt:
    RequestTimeoutError, ServerError (HTTP 5xx, an ASP.NET error page or a failed
    connection) or BlockedError (the firewall page, or HTTP 429). A truncated page is
    retried like those and then raises LayoutChangedError. Other HTTP 4xx responses raise
    ClientRequestError at once, and so does an ASP.NET request validation error.

    `deadline` is a time.monotonic() value. Once it has passed, new requests and retries
    raise DeadlineReachedError without sending anything, and so does a retry whose backoff
    sleep would end after it. A request already sent finishes normally. `on_event` receives
    the events listed in `block_guard`, such as "blocked_pause".
    """

    def __init__(
        self,
        base_url: str,
        *,
        rate: float = _DEFAULTS["request_rate"].default,
        concurrency: int = _DEFAULTS["request_concurrency"].default,
        timeout: float = _DEFAULTS["request_timeout"].default,
        retries: int = _DEFAULTS["request_retries"].default,
        user_agent: str = _DEFAULTS["user_agent"].default,
        backoff: Backoff | None = None,
        block_pause_after: int = _DEFAULTS["block_pause_after"].default,
        block_pause_seconds: float = _DEFAULTS["block_pause_seconds"].default,
        deadline: float | None = None,
        on_event: EventCallback | None = None,
        max_page_bytes: int | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if retries < 0:
            raise ValueError(f"retries must be 0 or more, got {retries}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff or Backoff()
        self.deadline = deadline
        self.max_page_bytes = max_page_bytes
        self.stats = ClientStats()
        self._limiter = RateLimiter(rate)
        self._block_guard = BlockGuard(
            self._limiter,
            pause_after=block_pause_after,
            pause_seconds=block_pause_seconds,
            on_event=on_event,
        )
        self._semaphore = asyncio.Semaphore(concurrency)
        self._http = httpx.AsyncClient(
            headers={"User-Agent": user_agent},
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        base_url: str | None = None,
        *,
        deadline: float | None = None,
        on_event: EventCallback | None = None,
    ) -> SiteClient:
        """Build a client from the request settings, with `base_url` overriding the site URL."""
        return cls(
            base_url or settings.site_url,
            rate=settings.request_rate,
            concurrency=settings.request_concurrency,
            timeout=settings.request_timeout,
            retries=settings.request_retries,
            user_agent=settings.user_agent,
            block_pause_after=settings.block_pause_after,
            block_pause_seconds=settings.block_pause_seconds,
            backoff=Backoff(
                initial=settings.retry_backoff_seconds,
                maximum=settings.retry_backoff_max_seconds,
                jitter=settings.retry_backoff_seconds,
            ),
            deadline=deadline,
            on_event=on_event,
            max_page_bytes=settings.max_page_bytes,
        )

    @property
    def on_event(self) -> EventCallback | None:
        """Callback that receives the client's events, such as "blocked_pause"."""
        return self._block_guard.on_event

    @on_event.setter
    def on_event(self, callback: EventCallback | None) -> None:
        self._block_guard.on_event = callback

    def deadline_passed(self) -> bool:
        """Return True when a deadline was given and it has passed."""
        return self.deadline is not None and time.monotonic() >= self.deadline

    @property
    def current_rate(self) -> float:
        """Requests per second the client allows now, lowered after blocks."""
        return self._limiter.current_rate

    @property
    def blocks_in_a_row(self) -> int:
        """Blocks since the last successful response or pause."""
        return self._block_guard.blocks_in_a_row

    async def __aenter__(self) -> SiteClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def fetch_criteria(self, roll: Roll) -> CriteriaOptions:
        """Fetch and parse the roll's criteria page."""
        url = criteria_url(self.base_url, roll)
        return parse_criteria_page(await self.fetch_page(url), roll, url)

    async def search(self, query: SearchQuery) -> ResultPage:
        """Fetch and parse the result page of one search.

        A page longer than STREAM_AFTER_BYTES is parsed as it arrives, so its memory does
        not grow with the number of rows beyond the parsed rows themselves.
        """
        url = search_url(self.base_url, query)
        fetched = await self._fetch(url, stream_results=True)
        if isinstance(fetched, ResultPage):
            return fetched
        return parse_result_page(fetched, url)

    async def fetch_details(self, details_href: str) -> PropertyDetails:
        """Fetch and parse the property profile that a result row's link points to."""
        url = details_url(self.base_url, details_href)
        return parse_details_page(await self.fetch_page(url), url)

    async def fetch_page(self, url: str) -> str:
        """Fetch a page with retries and return its checked text.

        Raises:
            SiteError: the typed error described in the class docstring.
        """
        fetched = await self._fetch(url, stream_results=False)
        if isinstance(fetched, ResultPage):
            raise AssertionError("a page fetched without streaming was parsed as results")
        return fetched

    async def _fetch(self, url: str, *, stream_results: bool) -> str | ResultPage:
        """Fetch with retries: the checked text, or the parsed page of a streamed result."""
        self._check_deadline(url)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=self._retry_delay,
            retry=retry_if_exception_type(RetryableAttemptError),
            before_sleep=self._log_retry,
            reraise=True,
        )
        timed_out: RetryableAttemptError | None = None
        try:
            async for attempt in retrying:
                with attempt:
                    try:
                        return await self._fetch_once(url, stream_results)
                    except RetryableAttemptError as failure:
                        if isinstance(failure.error, RequestTimeoutError):
                            timed_out = failure
                        raise
        except RetryableAttemptError as failure:
            attempts = self.retries + 1
            logger.error("request failed after %d attempts: %s: %s", attempts, url, failure.error)
            if timed_out is not None and failure is not timed_out:
                # A search that timed out once and never succeeded is most likely too
                # broad for the site, so it is reported as a timeout and gets narrowed.
                raise timed_out.error from timed_out.__cause__
            raise failure.error from failure.__cause__
        except DeadlineReachedError as error:
            # Every waiting request ends this way at once; the crawl logs the deadline once.
            logger.debug("request stopped by the deadline: %s: %s", url, error)
            raise
        except PageTooLargeError as error:
            logger.info("page too large, not read: %s: %s", url, error)
            raise
        except SiteError as error:
            logger.error("request failed without retry: %s: %s", url, error)
            raise
        # AsyncRetrying either returns from the loop or raises, so this line never runs.
        raise AssertionError("the retry loop ended without a result")

    def _check_deadline(self, url: str) -> None:
        if self.deadline is None:
            return
        overdue = time.monotonic() - self.deadline
        if overdue >= 0:
            raise DeadlineReachedError(
                f"the client's deadline passed {overdue:.1f} s ago, so no request is sent",
                url=url,
            )

    def _retry_delay(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        retry_after = error.retry_after if isinstance(error, RetryableAttemptError) else None
        delay = self.backoff.delay(state.attempt_number, retry_after)
        if self.deadline is not None and time.monotonic() + delay >= self.deadline:
            last_error = error.error if isinstance(error, RetryableAttemptError) else error
            url = last_error.url if isinstance(last_error, SiteError) else None
            # tenacity lets an error raised here propagate, so no backoff sleep starts.
            raise DeadlineReachedError(
                f"the client's deadline passes before the retry in {delay:.2f} s, so the "
                f"request stops after its last attempt failed with {type(last_error).__name__}",
                url=url,
            ) from last_error
        return delay

    def _log_retry(self, state: RetryCallState) -> None:
        self.stats.retries += 1
        error = state.outcome.exception() if state.outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        logger.warning(
            "retrying in %.2f s (retry %d of %d): %s",
            delay,
            state.attempt_number,
            self.retries,
            error.error if isinstance(error, RetryableAttemptError) else error,
        )

    async def _wait_for_turn(self, url: str) -> None:
        """Wait for the rate limiter, raising DeadlineReachedError when the deadline comes first."""
        if self.deadline is None:
            await self._limiter.wait()
            return
        # asyncio measures its timeouts on the event loop's clock, not time.monotonic().
        loop_deadline = asyncio.get_running_loop().time() + self.deadline - time.monotonic()
        try:
            async with asyncio.timeout_at(loop_deadline):
                await self._limiter.wait()
        except TimeoutError as error:
            raise DeadlineReachedError(
                "the client's deadline passed while the request waited for the rate limit "
                "or a block pause, so it was not sent",
                url=url,
            ) from error
        self._check_deadline(url)

    async def _fetch_once(self, url: str, stream_results: bool) -> str | ResultPage:
        self._check_deadline(url)
        async with self._semaphore:
            await self._wait_for_turn(url)
            self.stats.requests += 1
            try:
                # httpx times out each phase separately, so this bounds the whole response.
                async with asyncio.timeout(self.timeout):
                    fetched = await self._get_limited(url, stream_results)
            except (TimeoutError, httpx.TimeoutException) as error:
                self.stats.timeouts += 1
                timeout_error = RequestTimeoutError(f"no response within {self.timeout} s", url=url)
                raise RetryableAttemptError(timeout_error) from error
            except httpx.TransportError as error:
                self.stats.server_errors += 1
                reason = str(error) or type(error).__name__
                connection_error = SiteUnreachableError(
                    f"could not connect to the site ({reason}); check the site URL "
                    "(--source or VALUATION_SITE_URL)",
                    url=url,
                )
                raise RetryableAttemptError(connection_error) from error

        if isinstance(fetched, _StreamedPage):
            self._block_guard.record_success()
            return fetched.page
        return self._read_response(fetched, url)

    async def _get_limited(self, url: str, stream_results: bool) -> httpx.Response | _StreamedPage:
        """GET `url`, reading the body in chunks and stopping once it passes max_page_bytes.

        A search that matches a large part of the roll returns a page of many megabytes.
        With `stream_results`, an HTTP 200 body longer than STREAM_AFTER_BYTES goes to a
        `ResultPageParser` chunk by chunk instead of being kept whole.
        """
        async with self._http.stream("GET", url) as response:
            chunks: list[bytes] = []
            size = 0
            parser: ResultPageParser | None = None
            tail = b""
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if self.max_page_bytes is not None and size > self.max_page_bytes:
                    raise PageTooLargeError(
                        f"the page is larger than {self.max_page_bytes} bytes "
                        "(MAX_PAGE_BYTES), so its search must be narrowed",
                        url=url,
                    )
                if parser is not None:
                    parser.feed(chunk)
                    tail = (tail + chunk)[-_STREAM_TAIL_BYTES:]
                    continue
                chunks.append(chunk)
                if stream_results and response.status_code == 200 and size > STREAM_AFTER_BYTES:
                    parser = ResultPageParser(url)
                    for piece in chunks:
                        parser.feed(piece)
                    tail = b"".join(chunks[-2:])[-_STREAM_TAIL_BYTES:]
                    chunks = []
        self.stats.bytes += size
        if parser is None:
            return httpx.Response(
                response.status_code,
                headers=response.headers,
                content=b"".join(chunks),
                request=response.request,
            )
        if is_truncated(tail.decode("utf-8", errors="replace")):
            # A dropped connection cuts a page short, so the search is worth another attempt.
            raise RetryableAttemptError(
                LayoutChangedError(
                    f"the page is truncated: it ends without </html> after {size} bytes", url=url
                )
            )
        return _StreamedPage(response, parser.close())

    def _read_response(self, response: httpx.Response, url: str) -> str:
        status = response.status_code
        text = response.text
        retry_after = parse_retry_after(response.headers.get("Retry-After"))

        if status == 429:
            self._record_block(url)
            throttled = BlockedError("the site responded with HTTP 429 Too Many Requests", url=url)
            raise RetryableAttemptError(throttled, retry_after)

        # The firewall's status code is unknown, so its page is recognised by its text.
        if BLOCK_PAGE_MARKER in text:
            self._record_block(url)
            raise RetryableAttemptError(
                BlockedError(describe_block_page(text), url=url), retry_after
            )

        if status >= 500:
            self.stats.server_errors += 1
            message = read_server_error_message(text) or response.reason_phrase
            error = ServerError(f"HTTP {status}: {message}", url=url, status=status)
            if is_permanent_server_error(message):
                raise error
            raise RetryableAttemptError(error, retry_after)

        if status >= 400:
            raise ClientRequestError(f"HTTP {status} {response.reason_phrase}", url=url)

        if status >= 300:
            location = response.headers.get("Location", "")
            raise LayoutChangedError(f"unexpected HTTP {status} redirect to {location!r}", url=url)

        try:
            check_page(text, url)
        except ServerError as error:
            self.stats.server_errors += 1
            raise RetryableAttemptError(error, retry_after) from error
        except LayoutChangedError as error:
            # check_page raises LayoutChangedError only for a truncated page, which a
            # dropped connection can cause, so it is worth another attempt.
            raise RetryableAttemptError(error, retry_after) from error

        self._block_guard.record_success()
        return text

    def _record_block(self, url: str) -> None:
        self.stats.blocks += 1
        if self._block_guard.record_block(url):
            self.stats.pauses += 1
