"""The account-wide stack deployed first: the image repository and GitHub's deploy role."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
DEPLOY_ROLE_NAME = "durban-valuations-github-deploy"
# Qualifier of the roles that `cdk bootstrap` creates (the CDK's default).
CDK_BOOTSTRAP_QUALIFIER = "hnb659fds"


class RegistryStack(Stack):
    """ECR repository for the one image, and the IAM role that GitHub Actions deploys with."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repository_name: str,
        github_repository: str,
        environment_names: Sequence[str],
        github_oidc_provider_arn: str | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]

        key = kms.Key(
            self,
            "RegistryKey",
            description="Encrypts the durban-valuations image repository",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.repository = ecr.Repository(
            self,
            "Repository",
            repository_name=repository_name,
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.KMS,
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    description="Drop untagged layers a day after a push replaced them",
                    rule_priority=1,
                    tag_status=ecr.TagStatus.UNTAGGED,
                    max_image_age=Duration.days(1),
                ),
                ecr.LifecycleRule(
                    description="Keep every release image (tags v1.2.3 are pushed as 1.2.3)",
                    rule_priority=2,
                    tag_status=ecr.TagStatus.TAGGED,
                    tag_pattern_list=["*.*.*"],
                    max_image_count=9999,
                ),
                ecr.LifecycleRule(
                    description="Keep the 50 newest commit images, enough to roll back",
                    rule_priority=3,
                    tag_status=ecr.TagStatus.ANY,
                    max_image_count=50,
                ),
            ],
        )

        # An account has at most one provider per URL: pass the existing one's ARN with
        # -c github_oidc_provider_arn=ARN (or in cdk.json) when the account has it already.
        if github_oidc_provider_arn:
            provider_arn = github_oidc_provider_arn
        else:
            provider = iam.OidcProviderNative(
                self,
                "GitHubProvider",
                url=GITHUB_OIDC_URL,
                client_ids=["sts.amazonaws.com"],
            )
            provider_arn = provider.oidc_provider_arn
        subjects = [
            f"repo:{github_repository}:ref:refs/heads/main",
            f"repo:{github_repository}:ref:refs/tags/v*",
            *(f"repo:{github_repository}:environment:{name}" for name in environment_names),
        ]
        self.deploy_role = iam.Role(
            self,
            "DeployRole",
            role_name=DEPLOY_ROLE_NAME,
            description="Assumed by GitHub Actions of the durban-valuations repository to deploy",
            max_session_duration=Duration.hours(2),
            assumed_by=iam.WebIdentityPrincipal(
                provider_arn,
                conditions={
                    "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com"},
                    "StringLike": {f"{GITHUB_OIDC_HOST}:sub": subjects},
                },
            ),
        )
        self._grant_deploy(key, environment_names)

        CfnOutput(self, "RepositoryUri", value=self.repository.repository_uri)
        CfnOutput(self, "RepositoryName", value=self.repository.repository_name)
        CfnOutput(self, "DeployRoleArn", value=self.deploy_role.role_arn)

    def _grant_deploy(self, key: kms.Key, environment_names: Sequence[str]) -> None:
        role = self.deploy_role
        self.repository.grant_pull_push(role)
        key.grant_encrypt_decrypt(role)
        role.add_to_policy(
            iam.PolicyStatement(
                sid="AssumeCdkBootstrapRoles",
                actions=["sts:AssumeRole"],
                resources=[
                    f"arn:{self.partition}:iam::{self.account}:role/cdk-{CDK_BOOTSTRAP_QUALIFIER}-*"
                ],
            )
        )
        stack_arns = [
            f"arn:{self.partition}:cloudformation:*:{self.account}:stack/DurbanValuations-{name}/*"
            for name in environment_names
        ]
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadStackOutputs",
                actions=["cloudformation:DescribeStacks"],
                resources=stack_arns,
            )
        )
        # RegisterTaskDefinition, DescribeTaskDefinition and the task list calls take no
        # resource ARN; RunTask and DescribeTasks are limited to this account's resources.
        role.add_to_policy(
            iam.PolicyStatement(
                sid="RunMigrationTask",
                actions=[
                    "ecs:DescribeTaskDefinition",
                    "ecs:RegisterTaskDefinition",
                    "ecs:TagResource",
                ],
                resources=["*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WatchTasksAndServices",
                actions=["ecs:RunTask", "ecs:DescribeTasks", "ecs:DescribeServices"],
                resources=[
                    f"arn:{self.partition}:ecs:*:{self.account}:task-definition/durban-valuations-*",
                    f"arn:{self.partition}:ecs:*:{self.account}:task/*",
                    f"arn:{self.partition}:ecs:*:{self.account}:service/*",
                ],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="PassTaskRoles",
                actions=["iam:PassRole"],
                resources=[f"arn:{self.partition}:iam::{self.account}:role/DurbanValuations-*"],
                conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadMigrationLogs",
                actions=["logs:GetLogEvents", "logs:FilterLogEvents"],
                resources=[
                    f"arn:{self.partition}:logs:*:{self.account}:log-group:/durban-valuations/*"
                ],
            )
        )
