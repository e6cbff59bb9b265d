"""docker-compose.yml: valid for Compose, and the stack's start order and health checks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"


def rendered() -> dict[str, Any]:
    """Return the file as Compose resolves it (`docker-compose config`, no engine needed)."""
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.fail("docker-compose is not installed: `apt-get install docker-compose`")
    result = subprocess.run(
        [compose, "--file", str(COMPOSE), "--project-directory", str(ROOT), "config"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = yaml.safe_load(result.stdout)
    return document


def test_compose_has_the_whole_stack() -> None:
    services = rendered()["services"]
    assert set(services) == {
        "postgres", "redis", "mailpit", "migrate", "api", "scheduler", "worker", "beat",
    }  # fmt: skip
    assert services["postgres"]["image"].startswith("postgres:16")


def test_start_order_waits_for_health_and_migrations() -> None:
    services = rendered()["services"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "scheduler", "worker"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name
    assert services["worker"]["depends_on"]["redis"]["condition"] == "service_healthy"
    for name in ("postgres", "redis", "api"):
        assert "healthcheck" in services[name], name


def test_roles_and_shared_settings() -> None:
    services = rendered()["services"]
    roles = {name: services[name]["command"][0] for name in ("migrate", "api", "worker", "beat")}
    assert roles == {"migrate": "migrate", "api": "api", "worker": "worker", "beat": "beat"}
    environment = services["api"]["environment"]
    assert environment["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert environment["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert environment["SMTP_SERVER"] == "mailpit"
    # Published ports listen on the loopback interface only.
    assert all(str(port).startswith("127.0.0.1:") for port in services["api"]["ports"])
