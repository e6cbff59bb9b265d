"""Check that a response is an RFC 9457 problem details object and return its members."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Protocol

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance", "parameter"}


class _Response(Protocol):
    status_code: int
    headers: Any

    def json(self) -> Any: ...


def problem(response: _Response) -> dict[str, Any]:
    """Return the problem body of an error response after checking its common members."""
    assert response.headers["content-type"] == "application/problem+json", response.headers
    body: dict[str, Any] = response.json()
    assert set(body) == PROBLEM_MEMBERS, body
    assert body["type"] == "about:blank"
    assert body["status"] == response.status_code
    assert body["title"] == HTTPStatus(response.status_code).phrase
    assert body["instance"].startswith("/")
    return body
