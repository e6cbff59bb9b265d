"""Fixtures of the site tests: the saved pages and a scripted HTTP server on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

PAGES = Path(__file__).parent / "pages"


def read_page(name: str) -> str:
    """Return a saved page as text, CRLF line endings kept."""
    return (PAGES / name).read_bytes().decode("utf-8")


@pytest.fixture
def page() -> Callable[[str], str]:
    return read_page


@dataclass
class Reply:
    """One scripted response; `delay` seconds pass before the status line is sent."""

    status: int = 200
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class ScriptedServer:
    """Replies in the scripted order, then repeats the last one; records every request."""

    base_url: str
    replies: list[Reply] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    user_agents: list[str] = field(default_factory=list)
    start_times: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reply(
        self,
        status: int = 200,
        body: str = "",
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> ScriptedServer:
        """Append a reply to the script and return the server, so calls can be chained."""
        self.replies.append(Reply(status, body, headers or {}, delay))
        return self

    def next_reply(self, path: str, user_agent: str) -> Reply:
        with self.lock:
            self.paths.append(path)
            self.user_agents.append(user_agent)
            self.start_times.append(time.monotonic())
            index = min(len(self.paths), len(self.replies)) - 1
            return self.replies[index]


def _handler(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            reply = server.next_reply(self.path, self.headers.get("User-Agent", ""))
            if reply.delay:
                time.sleep(reply.delay)
            body = reply.body.encode("utf-8")
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up on a slow reply, which the timeout tests expect.
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def site_server() -> Iterator[ScriptedServer]:
    """Start a scripted server on 127.0.0.1 with an ephemeral port."""
    scripted = ScriptedServer(base_url="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(scripted))
    httpd.daemon_threads = True
    scripted.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield scripted
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
