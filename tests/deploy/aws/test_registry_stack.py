"""The registry stack: the image repository and the role GitHub Actions deploys with."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk.assertions import Match

from .conftest import Synthesized, only, synthesize


def test_repository_scans_pushes_keeps_tags_and_expires_old_images(
    production: Synthesized,
) -> None:
    repository = only(production.registry, "AWS::ECR::Repository")
    assert repository["RepositoryName"] == "durban-valuations"
    assert repository["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert repository["ImageTagMutability"] == "IMMUTABLE"
    assert repository["EncryptionConfiguration"]["EncryptionType"] == "KMS"
    rules = json.loads(repository["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    by_status = {rule["selection"]["tagStatus"]: rule["selection"] for rule in rules}
    assert by_status["untagged"]["countType"] == "sinceImagePushed"
    assert by_status["tagged"]["tagPatternList"] == ["*.*.*"]
    assert by_status["any"] == {"tagStatus": "any", "countType": "imageCountMoreThan",
                                "countNumber": 50}  # fmt: skip


def test_github_assumes_the_deploy_role_only_from_this_repository(
    production: Synthesized,
) -> None:
    provider = only(production.registry, "AWS::IAM::OIDCProvider")
    assert provider["Url"] == "https://token.actions.githubusercontent.com"
    assert provider["ClientIdList"] == ["sts.amazonaws.com"]
    role = only(production.registry, "AWS::IAM::Role")
    assert role["RoleName"] == "durban-valuations-github-deploy"
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    conditions = statement["Condition"]
    assert conditions["StringEquals"] == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"
    }
    repository = "repo:durban-valuations/durban-valuations"
    assert conditions["StringLike"]["token.actions.githubusercontent.com:sub"] == [
        f"{repository}:ref:refs/heads/main",
        f"{repository}:ref:refs/tags/v*",
        f"{repository}:environment:staging",
        f"{repository}:environment:production",
    ]


def test_deploy_role_can_push_assume_cdk_roles_and_pass_only_task_roles(
    production: Synthesized,
) -> None:
    policy = only(production.registry, "AWS::IAM::Policy")
    statements = policy["PolicyDocument"]["Statement"]
    actions = {
        action
        for statement in statements
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    assert {"ecr:PutImage", "ecr:UploadLayerPart", "ecr:GetAuthorizationToken"} <= actions
    assert {"ecs:RunTask", "ecs:RegisterTaskDefinition", "sts:AssumeRole"} <= actions
    (pass_role,) = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }
    production.registry.has_output("DeployRoleArn", Match.any_value())
    production.registry.has_output("RepositoryUri", Match.any_value())


def test_an_existing_github_provider_is_reused(tmp_path: Path) -> None:
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    synthesized = synthesize("staging", tmp_path, github_oidc_provider_arn=arn)
    synthesized.registry.resource_count_is("AWS::IAM::OIDCProvider", 0)
    role = only(synthesized.registry, "AWS::IAM::Role")
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Federated": arn}
