"""Synthesize the CDK app of deploy/aws once per test session, for both environments.

The templates come from the same code `cdk deploy` runs, with cdk.json's context; no AWS
account is needed because the app looks nothing up.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# jsii prints a banner on Node.js releases past their end of life; the tests' Node.js is
# whatever the machine has.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "16,18,20")

import aws_cdk as cdk
from aws_cdk.assertions import Template
from durban_valuations_aws.app import REGISTRY_STACK_NAME, build_app
from durban_valuations_aws.config import EnvironmentConfig, load_environment

AWS_DIR = Path(__file__).resolve().parents[3] / "deploy" / "aws"
IMAGE_TAG = "0123456789abcdef0123456789abcdef01234567"


def cdk_context() -> dict[str, Any]:
    """The context of deploy/aws/cdk.json."""
    context: dict[str, Any] = json.loads((AWS_DIR / "cdk.json").read_text())["context"]
    return context


@dataclass(frozen=True)
class Synthesized:
    """One environment's synthesized stacks and where their templates were written."""

    config: EnvironmentConfig
    service: Template
    registry: Template
    outdir: Path

    @property
    def template_files(self) -> list[Path]:
        """The CloudFormation templates written by the synthesis."""
        return sorted(self.outdir.glob("*.template.json"))


def synthesize(environment: str, outdir: Path, **overrides: Any) -> Synthesized:
    """Synthesize the app for `environment` into `outdir`; overrides replace context keys."""
    context = cdk_context() | {"environment": environment, "image_tag": IMAGE_TAG} | overrides
    app = build_app(cdk.App(context=context, outdir=str(outdir)))
    app.synth()
    service_stack = app.node.find_child(f"DurbanValuations-{environment}")
    registry_stack = app.node.find_child(REGISTRY_STACK_NAME)
    assert isinstance(service_stack, cdk.Stack)
    assert isinstance(registry_stack, cdk.Stack)
    return Synthesized(
        config=load_environment(context, environment),
        service=Template.from_stack(service_stack),
        registry=Template.from_stack(registry_stack),
        outdir=outdir,
    )


@pytest.fixture(scope="session")
def production(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The production environment as cdk.json configures it."""
    return synthesize("production", tmp_path_factory.mktemp("cdk-production"))


@pytest.fixture(scope="session")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The staging environment as cdk.json configures it."""
    return synthesize("staging", tmp_path_factory.mktemp("cdk-staging"))


def only(template: Template, resource_type: str) -> dict[str, Any]:
    """The properties of the one resource of `resource_type`; fails unless there is one."""
    resources = template.find_resources(resource_type)
    assert len(resources) == 1, f"expected one {resource_type}, found {sorted(resources)}"
    properties: dict[str, Any] = next(iter(resources.values())).get("Properties", {})
    return properties
