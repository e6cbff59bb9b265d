"""Request middleware: request id, access log line, request metrics, last-resort 500 response."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from durban_valuations.api.errors import handle_error
from durban_valuations.api.metrics import (
    UNMATCHED_ROUTE,
    observe_request,
    observe_unhandled_exception,
)
from durban_valuations.config.log_setup import bind_request_id

access_logger = logging.getLogger("durban_valuations.access")

REQUEST_ID_HEADER = "X-Request-ID"
# A request id taken from the client must fit in a log line and a header: ids of
# load balancers and tracing systems (UUIDs, hex, base64) match this, other values
# are replaced by a new id.
_ACCEPTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")
# Requests of probes and Prometheus, logged at DEBUG so that polling does not flood the log.
QUIET_ROUTES = frozenset({"/health", "/ready", "/metrics"})


def request_id_from(headers: Headers) -> str:
    """Return the client's X-Request-ID when it is acceptable, else a new random id."""
    offered = headers.get(REQUEST_ID_HEADER, "").strip()
    if _ACCEPTED_REQUEST_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """Return the path template of the route that matched, such as /properties/{rate_number}.

    The template, not the path, labels metrics, so the number of label values stays
    bounded. Requests that matched no route share UNMATCHED_ROUTE.
    """
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class RequestObservationMiddleware:
    """Gives every HTTP request an id, then logs and measures it once its response is sent.

    The id goes into the context of every log record of the request and into the
    X-Request-ID response header. An exception that no handler of the app caught is
    counted and gets the API's 500 error response here, inside this
    middleware, so that response and its log line carry the request id too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = request_id_from(Headers(scope=scope))
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_request_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with bind_request_id(request_id):
            try:
                await self.app(scope, receive, send_with_request_id)
            except Exception as error:
                observe_unhandled_exception(scope["method"], route_template(scope), error)
                if response_started:
                    # Too late for an error response: the server closes the connection.
                    raise
                response = await handle_error(Request(scope), error)
                await response(scope, receive, send_with_request_id)
            finally:
                seconds = time.perf_counter() - started
                _record(scope, status, seconds)


def _record(scope: Scope, status: int, seconds: float) -> None:
    method: str = scope["method"]
    route = route_template(scope)
    observe_request(method, route, status, seconds)
    client = scope.get("client")
    level = logging.DEBUG if route in QUIET_ROUTES and status < 400 else logging.INFO
    access_logger.log(
        level,
        "%s %s %d %.1f ms",
        method,
        scope["path"],
        status,
        seconds * 1000,
        extra={
            "event": "http_request",
            "method": method,
            "path": scope["path"],
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "client": client[0] if client else None,
        },
    )
