"""The scheduler against a replica that goes down and comes back: one failure mail, one
recovery mail, through a real local SMTP server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from durban_valuations.alerts.notifier import AlertsHandle
from durban_valuations.config import Settings
from durban_valuations.jobs.schedule import ScrapeScheduler, scrape_job
from durban_valuations.replica.server import running_replica
from durban_valuations.site.models import Roll

from .conftest import StartServer, alert_settings

DOWN_PAGE = b"<html><body><h1>Service Unavailable</h1></body></html>"


def switchable(down: threading.Event) -> Callable[[ASGIApp], ASGIApp]:
    """Return a wrapper that responds with HTTP 503 to every request while `down` is set."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def maybe_down(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and down.is_set():
                headers = [(b"content-type", b"text/html; charset=utf-8")]
                await send({"type": "http.response.start", "status": 503, "headers": headers})
                await send({"type": "http.response.body", "body": DOWN_PAGE})
                return
            await app(scope, receive, send)

        return maybe_down

    return wrap


def wait_for(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_scheduled_failure_then_recovery_mails_once_each(
    engine: Engine, smtp_server: StartServer, install: Callable[[Settings], AlertsHandle]
) -> None:
    server = smtp_server()
    settings = alert_settings(
        server.port,
        request_rate=2000,
        request_concurrency=4,
        request_retries=1,
        retry_backoff_seconds=0.01,
        retry_backoff_max_seconds=0.01,
    )
    handle = install(settings)
    down = threading.Event()
    down.set()

    with running_replica(rows=2000, seed=5, wrap=switchable(down)) as site:
        scheduler = ScrapeScheduler(
            scrape_job(settings, engine, [Roll.FULL], site.url), timedelta(seconds=0.3)
        )
        scheduler.start()
        try:
            # Three failed runs while the site is down give one mail.
            wait_for(lambda: scheduler.stats.statuses.count("failed") >= 3, 60)
            down.clear()
            wait_for(lambda: "complete" in scheduler.stats.statuses, 120)
        finally:
            scheduler.stop()
    assert handle.flush(timeout=30)

    subjects = [str(message["Subject"]).strip() for message in server.messages]
    assert len(subjects) == 2, subjects
    assert " failed: " in subjects[0]
    assert " recovered: " in subjects[1]
    failure = server.messages[0].get_content()
    assert "status:    failed" in failure
    assert "HTTP 503" in failure
    assert "GET /runs/" in failure
    recovery = server.messages[1].get_content()
    assert "properties" in recovery
