"""Schemathesis fuzzing of every operation in the committed openapi.yaml, over HTTP.

The operations come from the file, not from the running app, so the test fails when the
committed document promises what the server does not do. Uvicorn serves the real app on
127.0.0.1 at a free port, on one database that all operations share: ROLL_2022 of both
rolls, two complete runs with changes, and a third run that is still running.

Each operation runs Schemathesis' examples, coverage and fuzzing phases with valid and
invalid inputs. The seed is fixed and generation is deterministic, so every run sends the
same requests. No response may be a server error (5xx), and every response must match
its documented status code, content type and schema. For each failing operation,
Schemathesis reports the smallest failing case it found, with a curl command.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
import uvicorn
from sqlalchemy import Engine

from durban_valuations.api.app import create_app
from durban_valuations.config.settings import Settings
from durban_valuations.store.database import make_engine
from durban_valuations.store.runs import finish_run, start_run
from durban_valuations.store.upsert import upsert_properties

from .conftest import PropertyFactory, load_roll_2022, roll_2022_properties

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "openapi.yaml"
# API_FUZZ_SEED and API_FUZZ_MAX_EXAMPLES change the requests for a longer local search;
# CI runs the defaults.
SEED = int(os.environ.get("API_FUZZ_SEED", "20220701"))
EXAMPLES_PER_OPERATION = int(os.environ.get("API_FUZZ_MAX_EXAMPLES", "100"))
# Exports stream every matching row, so each of their cases costs more than a JSON page.
EXAMPLES_PER_EXPORT = max(1, EXAMPLES_PER_OPERATION * 2 // 5)
STARTUP_TIMEOUT = 30.0
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES_PER_OPERATION,
            "deterministic": True,
            "database": "none",
        },
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "operations": [
            {
                "include-path-regex": r"\.(csv|ndjson|parquet)$",
                "generation": {"max-examples": EXAMPLES_PER_EXPORT},
            }
        ],
    }
)
schema = schemathesis.openapi.from_path(SCHEMA_FILE, config=CONFIG)

# The report of a finished run, with the keys that jobs/scrape.py writes.
REPORT = {
    "scope": "all",
    "resumed": False,
    "rolls": [
        {
            "roll": "full",
            "searches": 12,
            "pending": 0,
            "splits": 2,
            "rows_seen": 900,
            "properties": 6,
            "properties_by_dimension": {"suburb": 6, "volume": 5},
            "properties_only_in": {"suburb": 1, "volume": 0},
            "failed_searches": [{"search": "volume=7", "dimension": "volume", "error": "timeout"}],
        }
    ],
}


def _load_history(engine: Engine, make_property: PropertyFactory) -> None:
    """Load ROLL_2022 with a history of runs in every state.

    Run 1 is an interrupted run of one suburb, still running. Fuzzers try the smallest
    valid id early, so they reach the run with the shortest report.
    """
    with engine.begin() as connection:
        start_run(connection, 2022, "full", "http://127.0.0.1:8001", scope="PINETOWN")
    first_run = load_roll_2022(engine, make_property)
    with engine.begin() as connection:
        finish_run(connection, first_run, "complete", report=REPORT)
    rows = roll_2022_properties(make_property)
    changed = list(rows)
    changed[0] = dataclasses.replace(rows[0], market_value=550_000)
    changed[4] = dataclasses.replace(rows[4], first_owner="NEW OWNER")
    with engine.begin() as connection:
        second_run = start_run(connection, 2022, "all", "http://127.0.0.1:8001")
        upsert_properties(connection, 2022, second_run, changed)
        finish_run(connection, second_run, "complete", report=REPORT, requests=40, retries=2)
    with engine.begin() as connection:
        third_run = start_run(connection, 2022, "full", "http://127.0.0.1:8001")
        finish_run(connection, third_run, "failed", error="site unreachable")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def base_url(module_database_url: str, make_property: PropertyFactory) -> Iterator[str]:
    """URL of Uvicorn serving the app on the loaded database, for the 2022 roll."""
    engine = make_engine(module_database_url)
    _load_history(engine, make_property)
    app = create_app(engine, settings=Settings(_env_file=None, roll_year=2022))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="fuzz-api-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        assert thread.is_alive(), "uvicorn exited during startup"
        assert time.monotonic() < deadline, f"uvicorn did not start within {STARTUP_TIMEOUT:g} s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=STARTUP_TIMEOUT)
    engine.dispose()


@schema.parametrize()
def test_api_fuzz(case: schemathesis.Case[schemathesis.APIOperation], base_url: str) -> None:
    case.call_and_validate(base_url=base_url)
