"""Checks that a fetched body is a complete page of the site and not an error page.

The site serves some failures as HTTP 200 pages without data, so a scraper that
only looked for the result table would read them as "no results". `check_page` turns each of
those pages into a typed error instead.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

from durban_valuations.site.errors import BlockedError, LayoutChangedError, ServerError

BLOCK_PAGE_MARKER = "Web Page Blocked!"
SERVER_ERROR_MARKER = "Server Error in '/' Application."

_ATTACK_ID = re.compile(r"Attack ID:\s*(\d+)")
_MESSAGE_ID = re.compile(r"Message ID:\s*(\d+)")
_EXCEPTION_DETAILS = re.compile(r"Exception Details:\s*(.+)")
_TAIL_LENGTH = 64


def decode_page(html: str | bytes) -> str:
    """Return the page as text, decoding bytes as UTF-8 (the site's response encoding)."""
    if isinstance(html, bytes):
        return html.decode("utf-8", errors="replace")
    return html


def is_truncated(html: str) -> bool:
    """Return True when the page does not end with a closing `</html>` tag.

    The criteria pages print their search script after `</html>`, so complete script
    blocks at the end of the page are skipped before the check.
    """
    text = html.rstrip()
    while text[-9:].lower() == "</script>":
        start = text.lower().rfind("<script")
        if start < 0:
            return True
        text = text[:start].rstrip()
    return not text[-_TAIL_LENGTH:].lower().endswith("</html>")


def truncation_message(length: int) -> str:
    """Return the error message for a page of `length` characters that ends without `</html>`."""
    return f"the page is truncated: it ends without </html> after {length} characters"


def describe_block_page(html: str) -> str:
    """Return the error message for a firewall block page, with its Attack ID and Message ID."""
    text = LexborHTMLParser(html).text(separator=" ")
    ids = []
    attack = _ATTACK_ID.search(text)
    if attack:
        ids.append(f"Attack ID: {attack.group(1)}")
    message = _MESSAGE_ID.search(text)
    if message:
        ids.append(f"Message ID: {message.group(1)}")
    detail = f" ({', '.join(ids)})" if ids else ""
    return f"the site's firewall blocked the request{detail}"


def read_server_error_message(html: str) -> str | None:
    """Return the exception message of an ASP.NET error page, or None for any other page.

    The error page prints the message in italics under its "Server Error" heading and again
    after "Exception Details:". The `<title>` is the last fallback.
    """
    if SERVER_ERROR_MARKER not in html:
        return None

    tree = LexborHTMLParser(html)
    heading = tree.css_first("h2 i")
    if heading is not None and heading.text().strip():
        return " ".join(heading.text().split())

    body = tree.body
    details = _EXCEPTION_DETAILS.search(body.text() if body is not None else "")
    if details:
        return details.group(1).strip()

    title = tree.css_first("title")
    if title is not None and title.text().strip():
        return title.text().strip()
    return "no exception message on the error page"


def check_page(html: str | bytes, url: str | None = None) -> None:
    """Raise the typed error when the body is not a complete, normal page of the site.

    Raises:
        BlockedError: the body is the firewall's "Web Page Blocked!" page, which the firewall
            serves with HTTP 200.
        ServerError: the body is an ASP.NET "Server Error" page. The message is copied into
            the error.
        LayoutChangedError: the body does not end with `</html>`, so it was truncated.
    """
    text = decode_page(html)

    if BLOCK_PAGE_MARKER in text:
        raise BlockedError(describe_block_page(text), url=url)

    server_message = read_server_error_message(text)
    if server_message is not None:
        raise ServerError(f"the site returned an ASP.NET error page: {server_message}", url=url)

    # Checked after the error page, because the ASP.NET error page appends the stack trace
    # in a comment after its `</html>`.
    if is_truncated(text):
        raise LayoutChangedError(truncation_message(len(text)), url=url)
