"""The "Web Page Blocked!" page of the Fortinet-style web application firewall."""

from __future__ import annotations

from html import escape

# The IDs of the block page a Selenium scraper met on the live site in July 2024.
ATTACK_ID = "20000052"
MESSAGE_ID = "000030605607"
BLOCK_HEADING = "Web Page Blocked!"
BLOCK_TEXT = (
    "The page cannot be displayed. Please contact the administrator for additional information."
)


def render_block_page(url: str, client_ip: str) -> str:
    """Render the block page for a request of `url` (host and path, no scheme) from `client_ip`."""
    return (
        "<!DOCTYPE html>\n<html>\n<head>\n"
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
        '<meta name="viewport" content="initial-scale=1.0">\n'
        "<title>Web Page Blocked</title>\n"
        "<style>body{font-family:Arial,Helvetica,sans-serif;margin:0;}"
        ".main{margin:40px auto;width:600px;}h1{color:#c00;}</style>\n"
        '</head>\n<body>\n<div class="main">\n'
        f"<h1>{BLOCK_HEADING}</h1>\n"
        f"<p>{BLOCK_TEXT}</p>\n"
        f"<p>URL: {escape(url)}</p>\n"
        f"<p>Client IP: {escape(client_ip)}</p>\n"
        f"<p>Attack ID: {ATTACK_ID}</p>\n"
        f"<p>Message ID: {MESSAGE_ID}</p>\n"
        "</div>\n</body>\n</html>\n"
    )
