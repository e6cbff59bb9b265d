"""URLs of the site's pages, built the way the site's own links and scripts build them."""

from __future__ import annotations

from urllib.parse import quote, urljoin, urlsplit

from durban_valuations.site.errors import LayoutChangedError
from durban_valuations.site.models import Roll, SearchQuery

SEARCH_RESULT_PATH = "/FramePages/SearchResult.aspx"
FRAME_PAGES_FOLDER = "/FramePages/"


def criteria_url(base_url: str, roll: Roll) -> str:
    """Return the URL of the roll's criteria page."""
    return base_url.rstrip("/") + roll.criteria_page


def encode_query(parameters: list[tuple[str, str]]) -> str:
    """Return `name=value` pairs joined by `&`, every reserved character percent-encoded.

    The site's own script sends values without encoding, so a scheme name such as
    `SS SUN & SAND` is split at its `&` by the server. Encoding `&` as `%26` (and a space as
    `%20`) keeps the value whole.
    """
    return "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in parameters)


def search_url(base_url: str, query: SearchQuery) -> str:
    """Return the result page URL with all 12 parameters in the order the site's script sends."""
    return f"{base_url.rstrip('/')}{SEARCH_RESULT_PATH}?{encode_query(query.to_params())}"


def details_url(base_url: str, details_href: str) -> str:
    """Join a result row's details link to `/FramePages/` without touching its query string.

    The details page reads its query parameters by position (id, PType, FType), so the link
    is followed verbatim and never rebuilt or reordered.

    Raises:
        LayoutChangedError: the joined link leaves the site's host.
    """
    root = base_url.rstrip("/")
    url = urljoin(root + FRAME_PAGES_FOLDER, details_href)
    if urlsplit(url).netloc != urlsplit(root).netloc:
        raise LayoutChangedError(f"the details link {details_href!r} points to another host")
    return url
