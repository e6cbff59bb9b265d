"""Async HTTP client of the valuation roll site, polite by default.

Every request passes a concurrency semaphore and a global rate limiter, and failed attempts
are retried with exponential backoff. Responses are checked with `check_page` before
parsing, because the site serves some failures as HTTP 200 pages.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from types import TracebackType

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from durban_valuations.config.settings import Settings
from durban_valuations.site.errors import (
    BlockedError,
    ClientRequestError,
    LayoutChangedError,
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
    read_server_error_message,
)
from durban_valuations.site.parse_criteria import parse_criteria_page
from durban_valuations.site.parse_details import parse_details_page
from durban_valuations.site.parse_results import parse_result_page
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
    # Bytes of response bodies received.
    bytes: int = 0


class SiteClient:
    """Client of the site's criteria, result and details pages, used with `async with`.

    After `retries` failed retries the client raises the typed error of the last attempt:
    RequestTimeoutError, ServerError (HTTP 5xx, an ASP.NET error page or a failed
    connection) or BlockedError (the firewall page, or HTTP 429). A truncated page is
    retried like those and then raises LayoutChangedError. Other HTTP 4xx responses raise
    ClientRequestError at once, and so does an ASP.NET request validation error.
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
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if retries < 0:
            raise ValueError(f"retries must be 0 or more, got {retries}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff or Backoff()
        self.stats = ClientStats()
        self._limiter = RateLimiter(rate)
        self._semaphore = asyncio.Semaphore(concurrency)
        self._http = httpx.AsyncClient(
            headers={"User-Agent": user_agent},
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
        )

    @classmethod
    def from_settings(cls, settings: Settings, base_url: str | None = None) -> SiteClient:
        """Build a client from the request settings, with `base_url` overriding the site URL."""
        return cls(
            base_url or settings.site_url,
            rate=settings.request_rate,
            concurrency=settings.request_concurrency,
            timeout=settings.request_timeout,
            retries=settings.request_retries,
            user_agent=settings.user_agent,
        )

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
        """Fetch and parse the result page of one search."""
        url = search_url(self.base_url, query)
        return parse_result_page(await self.fetch_page(url), url)

    async def fetch_details(self, details_href: str) -> PropertyDetails:
        """Fetch and parse the property profile that a result row's link points to."""
        url = details_url(self.base_url, details_href)
        return parse_details_page(await self.fetch_page(url), url)

    async def fetch_page(self, url: str) -> str:
        """Fetch a page with retries and return its checked text.

        Raises:
            SiteError: the typed error described in the class docstring.
        """
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=self._retry_delay,
            retry=retry_if_exception_type(RetryableAttemptError),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._fetch_once(url)
        except RetryableAttemptError as failure:
            attempts = self.retries + 1
            logger.error("request failed after %d attempts: %s: %s", attempts, url, failure.error)
            raise failure.error from failure.__cause__
        except SiteError as error:
            logger.error("request failed without retry: %s: %s", url, error)
            raise
        # AsyncRetrying either returns from the loop or raises, so this line never runs.
        raise AssertionError("the retry loop ended without a result")

    def _retry_delay(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        retry_after = error.retry_after if isinstance(error, RetryableAttemptError) else None
        return self.backoff.delay(state.attempt_number, retry_after)

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

    async def _fetch_once(self, url: str) -> str:
        async with self._semaphore:
            await self._limiter.wait()
            self.stats.requests += 1
            try:
                # httpx times out each phase separately, so this bounds the whole response.
                async with asyncio.timeout(self.timeout):
                    response = await self._http.get(url)
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

        self.stats.bytes += len(response.content)
        return self._read_response(response, url)

    def _read_response(self, response: httpx.Response, url: str) -> str:
        status = response.status_code
        text = response.text
        retry_after = parse_retry_after(response.headers.get("Retry-After"))

        if status == 429:
            self.stats.blocks += 1
            throttled = BlockedError("the site responded with HTTP 429 Too Many Requests", url=url)
            raise RetryableAttemptError(throttled, retry_after)

        # The firewall's status code is unknown, so its page is recognised by its text.
        if BLOCK_PAGE_MARKER in text:
            self.stats.blocks += 1
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

        return text
