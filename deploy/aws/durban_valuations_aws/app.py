"""Build the CDK app's stacks from the context (cdk.json and -c options)."""

from __future__ import annotations

import os

import aws_cdk as cdk

from durban_valuations_aws.config import ConfigError, check_image_tag, load_environment
from durban_valuations_aws.registry_stack import RegistryStack
from durban_valuations_aws.service_stack import ServiceStack

REGISTRY_STACK_NAME = "DurbanValuations-Registry"


def build_app(app: cdk.App) -> cdk.App:
    """Add the registry stack, and the environment's stack when -c environment is given."""
    context = {
        key: app.node.try_get_context(key)
        for key in ("environments", "github_repository", "ecr_repository_name")
    }
    repository_name = context["ecr_repository_name"]
    github_repository = context["github_repository"]
    if not isinstance(repository_name, str) or not isinstance(github_repository, str):
        raise ConfigError("cdk.json must set ecr_repository_name and github_repository")
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    environments = context["environments"]
    if not isinstance(environments, dict) or not environments:
        raise ConfigError("cdk.json has no `environments` object in its context")
    provider_arn = app.node.try_get_context("github_oidc_provider_arn")
    RegistryStack(
        app,
        REGISTRY_STACK_NAME,
        repository_name=repository_name,
        github_repository=github_repository,
        environment_names=list(environments),
        github_oidc_provider_arn=str(provider_arn) if provider_arn else None,
        env=cdk.Environment(account=account, region=os.environ.get("CDK_DEFAULT_REGION")),
        description="durban-valuations: image repository and GitHub Actions deploy role",
    )
    environment = app.node.try_get_context("environment")
    if environment is None:
        return app
    config = load_environment(context, str(environment))
    image_tag = check_image_tag(app.node.try_get_context("image_tag"))
    ServiceStack(
        app,
        config.stack_name,
        config=config,
        repository_name=repository_name,
        image_tag=image_tag,
        env=cdk.Environment(account=account, region=config.region),
        description=f"durban-valuations {config.name}: API, daily scrape, database, alarms",
    )
    return app
