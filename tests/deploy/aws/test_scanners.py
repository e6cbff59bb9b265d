"""cfn-lint and checkov on the synthesized templates of both environments.

checkov comes from `bash tools/install` (its own virtual environment in tools/.venv) or
from PATH. Every check skipped in the templates must carry its justification.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import Synthesized

TOOLS = Path(__file__).resolve().parents[3] / "tools"


def checkov_command() -> str:
    local = TOOLS / ".venv" / "bin" / "checkov"
    if local.exists():
        return str(local)
    found = shutil.which("checkov")
    if found is None:
        pytest.fail("checkov is not installed: run `bash tools/install`")
    return found


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_cfn_lint_reports_no_errors(environment: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(environment)
    cfn_lint = shutil.which("cfn-lint")
    if cfn_lint is None:
        pytest.fail("cfn-lint is not installed: `pip install -e '.[dev]'` installs it")
    result = subprocess.run(
        [cfn_lint, "--non-zero-exit-code", "error", "--format", "parseable",
         *map(str, synthesized.template_files)],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_checkov_fails_no_check(environment: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(environment)
    command = [checkov_command(), "--framework", "cloudformation", "--output", "json",
               "--skip-download", "--quiet"]  # fmt: skip
    for template in synthesized.template_files:
        command += ["--file", str(template)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    reports = json.loads(result.stdout)
    if isinstance(reports, dict):
        reports = [reports]
    failed = [
        f"{check['check_id']} {check['resource']}: {check['check_name']}"
        for report in reports
        for check in report["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)
    assert result.returncode == 0, result.stderr
    passed = sum(report["summary"]["passed"] for report in reports)
    assert passed > 100, "checkov checked almost nothing: did it read the templates?"


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_every_skipped_check_is_justified(environment: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(environment)
    for path in synthesized.template_files:
        for logical_id, resource in json.loads(path.read_text())["Resources"].items():
            skips = resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
            for skip in skips:
                assert len(skip.get("comment", "")) > 20, f"{path.name} {logical_id}: {skip}"
