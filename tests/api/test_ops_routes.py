"""GET /ready and /metrics, request ids and the last-resort 500 response, in one process."""

from __future__ import annotations

import io
import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, select, update

from durban_valuations.api.app import create_app
from durban_valuations.config.log_setup import make_handler
from durban_valuations.config.settings import Settings
from durban_valuations.store.database import make_engine
from durban_valuations.store.migrations import alembic_config, head_revision
from durban_valuations.store.runs import finish_run
from durban_valuations.store.tables import properties, scrape_runs

from .problem import problem


def _settings() -> Settings:
    return Settings(_env_file=None, roll_year=2022)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _metric(metrics_text: str, sample_name: str, **labels: str) -> float | None:
    """Return the value of the sample with exactly these labels, or None when absent."""
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == sample_name and sample.labels == labels:
                return float(sample.value)
    return None


def _scrape(client: TestClient) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.text


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """JSON lines of every record at INFO and above, as production writes them."""
    stream = io.StringIO()
    handler = make_handler(stream, "json", secrets=[])
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous_level)


def _records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_ready_ok(client: TestClient) -> None:
    response = client.get("/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "revision": head_revision()}


def test_ready_503_behind_head(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    engine.dispose()
    app = create_app(empty_database_url, settings=_settings())

    with TestClient(app) as test_client:
        response = test_client.get("/ready")

    assert response.status_code == 503
    error = problem(response)
    assert error["status"] == 503
    assert "revision 0001" in error["detail"]
    assert head_revision() in error["detail"]
    assert "durban-valuations db upgrade" in error["detail"]
    assert error["parameter"] is None


def test_ready_503_unreachable() -> None:
    url = f"postgresql://postgres:pw@127.0.0.1:{_free_port()}/durban?connect_timeout=5"
    app = create_app(url, settings=_settings())

    with TestClient(app) as test_client:
        response = test_client.get("/ready")
        metrics_text = _scrape(test_client)

    assert response.status_code == 503
    assert "database is unreachable" in problem(response)["detail"]
    assert _metric(metrics_text, "durban_valuations_database_up") == 0.0
    assert _metric(metrics_text, "durban_valuations_properties", roll="full") is None


def test_ops_routes_not_in_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    assert "/ready" not in paths
    assert "/metrics" not in paths


def test_request_id_echoed(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": "lb-7f3e.42"})

    assert response.headers["X-Request-ID"] == "lb-7f3e.42"


@pytest.mark.parametrize("offered", [None, "", "has spaces", "x" * 129, "semi;colon"])
def test_request_id_generated(client: TestClient, offered: str | None) -> None:
    headers = {} if offered is None else {"X-Request-ID": offered}

    first = client.get("/health", headers=headers).headers["X-Request-ID"]
    second = client.get("/health", headers=headers).headers["X-Request-ID"]

    assert len(first) == 32
    assert int(first, 16) >= 0
    assert first != second


def test_request_id_in_log_lines(client: TestClient, json_log: io.StringIO) -> None:
    client.get("/properties/99999999", headers={"X-Request-ID": "trace-1"})

    [access] = [record for record in _records(json_log) if record["event"] == "http_request"]
    assert access["request_id"] == "trace-1"
    assert access["route"] == "/properties/{rate_number}"
    assert access["path"] == "/properties/99999999"
    assert access["status"] == 404
    assert access["level"] == "INFO"


def test_metrics_label_route_template(client: TestClient) -> None:
    name = "durban_valuations_http_request_duration_seconds_count"
    labels = {"method": "GET", "route": "/properties/{rate_number}", "status": "200"}
    before = _metric(_scrape(client), name, **labels) or 0.0

    for rate_number in ("10000001", "10000002", "20000006"):
        assert client.get(f"/properties/{rate_number}").status_code == 200
    metrics_text = _scrape(client)

    assert _metric(metrics_text, name, **labels) == before + 3
    assert "/properties/10000001" not in metrics_text


def test_metrics_count_5xx() -> None:
    url = f"postgresql://postgres:pw@127.0.0.1:{_free_port()}/durban?connect_timeout=5"
    app = create_app(url, settings=_settings())
    name = "durban_valuations_http_server_errors_total"
    labels = {"method": "GET", "route": "/suburbs", "status": "503"}

    with TestClient(app) as test_client:
        before = _metric(_scrape(test_client), name, **labels) or 0.0
        assert test_client.get("/suburbs").status_code == 503
        after = _metric(_scrape(test_client), name, **labels)

    assert after == before + 1


def _app_with_failing_route(engine: Engine) -> FastAPI:
    app = create_app(engine, settings=_settings())

    def fail() -> None:
        raise RuntimeError("route failed on purpose")

    app.add_api_route("/fail", fail)
    return app


def test_unhandled_exception_500(loaded_engine: Engine, json_log: io.StringIO) -> None:
    app = _app_with_failing_route(loaded_engine)
    exceptions = "durban_valuations_http_unhandled_exceptions_total"
    errors = "durban_valuations_http_server_errors_total"
    labels = {"method": "GET", "route": "/fail"}

    with TestClient(app) as test_client:
        metrics_before = _scrape(test_client)
        response = test_client.get("/fail", headers={"X-Request-ID": "fail-1"})
        metrics_after = _scrape(test_client)

    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "fail-1"
    assert problem(response)["detail"].startswith("internal server error")
    before = _metric(metrics_before, exceptions, exception="RuntimeError", **labels) or 0.0
    assert _metric(metrics_after, exceptions, exception="RuntimeError", **labels) == before + 1
    errors_before = _metric(metrics_before, errors, status="500", **labels) or 0.0
    assert _metric(metrics_after, errors, status="500", **labels) == errors_before + 1
    [failure] = [r for r in _records(json_log) if r["message"].startswith("unhandled error")]
    assert failure["request_id"] == "fail-1"
    assert failure["level"] == "ERROR"
    assert "route failed on purpose" in failure["exception"]


def _run_id(engine: Engine) -> int:
    with engine.connect() as connection:
        run_id: int = connection.execute(select(scrape_runs.c.id)).scalar_one()
    return run_id


def _mark_not_seen(engine: Engine, pin: int) -> None:
    run_id = _run_id(engine)
    with engine.begin() as connection:
        connection.execute(
            update(properties)
            .where(properties.c.roll_year == 2022, properties.c.pin == pin)
            .values(not_seen_since_run_id=run_id)
        )


def test_metrics_properties_per_roll(
    loaded_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METRICS_CACHE_SECONDS", "0")
    app = create_app(loaded_engine, settings=_settings())

    with TestClient(app) as test_client:
        before = _scrape(test_client)
        _mark_not_seen(loaded_engine, 8)
        after = _scrape(test_client)

    assert _metric(before, "durban_valuations_database_up") == 1.0
    assert _metric(before, "durban_valuations_properties", roll="full") == 6
    assert _metric(before, "durban_valuations_properties", roll="sectional") == 2
    assert _metric(after, "durban_valuations_properties", roll="full") == 5


def test_metrics_database_gauges_cached(
    loaded_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METRICS_CACHE_SECONDS", "3600")
    app = create_app(loaded_engine, settings=_settings())

    with TestClient(app) as test_client:
        before = _scrape(test_client)
        _mark_not_seen(loaded_engine, 8)
        after = _scrape(test_client)

    assert _metric(before, "durban_valuations_properties", roll="full") == 6
    assert _metric(after, "durban_valuations_properties", roll="full") == 6


def test_metrics_last_complete_run_age(
    loaded_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METRICS_CACHE_SECONDS", "0")
    app = create_app(loaded_engine, settings=_settings())
    name = "durban_valuations_last_complete_run_age_seconds"

    with TestClient(app) as test_client:
        running = _scrape(test_client)
        with loaded_engine.begin() as connection:
            finish_run(connection, _run_id(loaded_engine), "complete")
        complete = _scrape(test_client)

    assert _metric(running, name, roll="full") is None
    for roll in ("full", "sectional"):
        age = _metric(complete, name, roll=roll)
        assert age is not None
        assert 0 <= age < 60


def test_metrics_process_metrics(client: TestClient) -> None:
    metrics_text = _scrape(client)

    assert _metric(metrics_text, "process_resident_memory_bytes") is not None


def test_metrics_cache_seconds_invalid(
    loaded_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METRICS_CACHE_SECONDS", "soon")

    with pytest.raises(ValueError, match="METRICS_CACHE_SECONDS"):
        create_app(loaded_engine, settings=_settings())
