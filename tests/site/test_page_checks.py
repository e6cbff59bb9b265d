from __future__ import annotations

from collections.abc import Callable

import pytest

from durban_valuations.site.errors import BlockedError, LayoutChangedError, ServerError
from durban_valuations.site.page_checks import check_page, read_server_error_message

PageReader = Callable[[str], str]
URL = "http://127.0.0.1:9/FramePages/SearchCrit.aspx"


@pytest.mark.parametrize(
    "name",
    [
        "result-real-rows.html",
        "result-no-match.html",
        "criteria-full.html",
        "details-sectional.html",
    ],
)
def test_normal_page_passes(page: PageReader, name: str) -> None:
    check_page(page(name), URL)


def test_blocked_page_raises(page: PageReader) -> None:
    with pytest.raises(BlockedError, match="firewall blocked"):
        check_page(page("blocked.html"), URL)


def test_blocked_message_has_attack_id(page: PageReader) -> None:
    with pytest.raises(BlockedError, match="Attack ID: 20000052"):
        check_page(page("blocked.html"), URL)


def test_blocked_message_has_message_id(page: PageReader) -> None:
    with pytest.raises(BlockedError, match="Message ID: 000030605607"):
        check_page(page("blocked.html"), URL)


def test_blocked_error_url(page: PageReader) -> None:
    with pytest.raises(BlockedError) as caught:
        check_page(page("blocked.html"), URL)
    assert caught.value.url == URL


def test_blocked_page_without_ids() -> None:
    html = "<html><body><h1>Web Page Blocked!</h1></body></html>"
    with pytest.raises(BlockedError, match=r"blocked the request \(url"):
        check_page(html, URL)


def test_server_error_page_raises(page: PageReader) -> None:
    with pytest.raises(ServerError, match="network-related or instance-specific error"):
        check_page(page("server-error.html"), URL)


def test_server_error_message_extracted(page: PageReader) -> None:
    message = read_server_error_message(page("server-error.html"))
    assert message is not None
    assert message.endswith(
        "(provider: Named Pipes Provider, error: 40 - Could not open a connection to SQL Server)"
    )


def test_server_error_message_absent(page: PageReader) -> None:
    assert read_server_error_message(page("result-real-rows.html")) is None


def test_truncated_page_raises(page: PageReader) -> None:
    with pytest.raises(LayoutChangedError, match="truncated"):
        check_page(page("result-truncated.html"), URL)


def test_trailing_whitespace_allowed() -> None:
    check_page("<html><body></body></html>\r\n\r\n  ", URL)


def test_bytes_accepted(page: PageReader) -> None:
    with pytest.raises(BlockedError):
        check_page(page("blocked.html").encode("utf-8"), URL)
