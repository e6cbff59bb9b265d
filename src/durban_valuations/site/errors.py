"""Errors of the site client and parsers; each carries the URL or text that caused it."""

from __future__ import annotations


class SiteError(Exception):
    """Base class: a page could not be fetched or read as the site's page."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message if url is None else f"{message} (url: {url})")
        self.url = url


class BlockedError(SiteError):
    """The site's web application firewall returned its "Web Page Blocked!" page."""


class ServerError(SiteError):
    """The site returned an HTTP 5xx or an ASP.NET "Server Error" page."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        super().__init__(message, url=url)
        self.status = status


class SiteUnreachableError(ServerError):
    """The connection to the site failed or broke before a response arrived."""


class RequestTimeoutError(SiteError):
    """The site did not respond within the configured timeout."""


class LayoutChangedError(SiteError):
    """A page lacks the structure the parser relies on (truncated, or the site changed)."""


class ClientRequestError(SiteError):
    """The site rejected the request itself (HTTP 4xx other than 429)."""


class DeadlineReachedError(SiteError):
    """The client's deadline passed, or would pass during a retry's backoff sleep."""


class PageTooLargeError(SiteError):
    """A response grew past the client's page size limit; the search should be narrowed."""
