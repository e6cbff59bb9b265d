"""Real scrapes of the replica site send the alert mails through a local SMTP server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from durban_valuations.alerts.notifier import AlertsHandle
from durban_valuations.config import Settings
from durban_valuations.jobs.scrape import run_scrape
from durban_valuations.replica.config import ReplicaConfig
from durban_valuations.replica.fault_config import FaultConfig, FirewallConfig
from durban_valuations.replica.server import running_replica
from durban_valuations.site.models import Roll

from .conftest import StartServer, alert_settings, closed_port

Install = Callable[[Settings], AlertsHandle]
ROWS = 2000
SEED = 5


def scrape_settings(smtp_port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "request_rate": 2000,
        "request_concurrency": 4,
        "request_retries": 0,
        "request_timeout": 2,
        "retry_backoff_seconds": 0.01,
        "retry_backoff_max_seconds": 0.01,
    }
    values.update(overrides)
    return alert_settings(smtp_port, **values)


def subject_of(server_messages: list[Any], index: int) -> str:
    # The email parser keeps the space of a fold before the subject's first word.
    return str(server_messages[index]["Subject"]).strip()


def test_failed_scrape_then_recovery(
    engine: Engine, smtp_server: StartServer, install: Install
) -> None:
    server = smtp_server()
    settings = scrape_settings(server.port)
    handle = install(settings)

    down = run_scrape(
        settings, engine, rolls=[Roll.FULL], source_url=f"http://127.0.0.1:{closed_port()}"
    )
    assert handle.flush(timeout=30)

    assert down.status == "failed"
    assert down.error is not None
    assert len(server.messages) == 1
    assert subject_of(server.messages, 0).startswith(
        f"[durban-valuations] Scrape run {down.run_id} failed: "
    )
    body = server.messages[0].get_content()
    assert f"Run {down.run_id}\n  status:    failed\n" in body
    assert down.error.splitlines()[0] in body
    assert f"GET /runs/{down.run_id}" in body

    with running_replica(rows=ROWS, seed=SEED) as site:
        good = run_scrape(settings, engine, rolls=[Roll.FULL], source_url=site.url)
        properties = len(site.roll.full)
    assert handle.flush(timeout=30)

    assert good.status == "complete"
    assert len(server.messages) == 2
    assert subject_of(server.messages, 1) == (
        f"[durban-valuations] Scrape run {good.run_id} recovered: failed or incomplete runs"
    )
    body = server.messages[1].get_content()
    assert f"  - Failed or incomplete runs since run {down.run_id} (" in body
    assert f"  full: {properties:,} properties, " in body
    assert f"  source:    {site.url}\n" in body


def test_blocked_scrape_alerts_once(
    engine: Engine, smtp_server: StartServer, install: Install
) -> None:
    server = smtp_server()
    settings = scrape_settings(
        server.port,
        request_rate=500,
        request_retries=8,
        retry_backoff_seconds=0.02,
        retry_backoff_max_seconds=0.3,
        block_pause_after=3,
        block_pause_seconds=0.3,
    )
    handle = install(settings)
    firewall = FirewallConfig(max_requests=40, window_seconds=1.0, block_seconds=0.3)
    config = ReplicaConfig(faults=FaultConfig(firewall=firewall))

    with running_replica(rows=ROWS, seed=SEED, config=config) as site:
        blocked = run_scrape(settings, engine, rolls=[Roll.FULL], source_url=site.url)
    assert handle.flush(timeout=30)

    assert blocked.status == "complete"
    assert blocked.blocks >= 3
    # The run paused at least once, but only the first pause sends a mail, and the run
    # that was blocked does not close its own incident.
    assert len(server.messages) == 1
    assert subject_of(server.messages, 0).startswith(
        f"[durban-valuations] Scrape run {blocked.run_id} blocked: "
    )

    with running_replica(rows=ROWS, seed=SEED) as site:
        clean = run_scrape(settings, engine, rolls=[Roll.FULL], source_url=site.url)
    assert handle.flush(timeout=30)

    assert clean.status == "complete"
    assert len(server.messages) == 2
    assert subject_of(server.messages, 1) == (
        f"[durban-valuations] Scrape run {clean.run_id} recovered: firewall blocks"
    )
