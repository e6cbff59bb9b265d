"""Fargate task definitions of the image's roles: api, scrape and migrate.

Every container runs the same image as the non-root user the Dockerfile sets, on a
read-only root file system with a scratch volume at /tmp (DATA_DIR and Gunicorn's metric
files live there), and logs JSON lines to its own CloudWatch log group.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from durban_valuations_aws.config import EnvironmentConfig

API_PORT = 8000
SCRATCH_VOLUME = "scratch"
# Keys of the SMTP secret and the settings they fill (see .env.example).
SMTP_SECRET_KEYS = {
    "SMTP_SERVER": "host",
    "SMTP_PORT": "port",
    "SMTP_SECURITY": "security",
    "SMTP_USERNAME": "username",
    "EMAIL_PASSWORD": "password",
    "SENDER_EMAIL": "sender",
    "RECIPIENT_EMAIL": "recipient",
}


@dataclass(frozen=True)
class TaskInputs:
    """Inputs that every task definition of one environment shares."""

    config: EnvironmentConfig
    image: ecs.ContainerImage
    database: rds.DatabaseInstance
    smtp_secret: secretsmanager.ISecret
    key: kms.IKey
    retention: logs.RetentionDays


def image_from(repository: ecr.IRepository, tag: str) -> ecs.ContainerImage:
    """Return the container image of `tag` in the registry stack's repository."""
    return ecs.ContainerImage.from_ecr_repository(repository, tag)


def build_task(
    scope: Construct,
    inputs: TaskInputs,
    role: str,
    *,
    cpu: int,
    memory_mib: int,
    command: list[str],
    with_alerts: bool = False,
) -> tuple[ecs.FargateTaskDefinition, ecs.ContainerDefinition, logs.LogGroup]:
    """Return the task definition, its one container and its log group for `role`."""
    config = inputs.config
    construct_id = role.capitalize()
    log_group = logs.LogGroup(
        scope,
        f"{construct_id}Logs",
        log_group_name=f"/durban-valuations/{config.name}/{role}",
        retention=inputs.retention,
        encryption_key=inputs.key,
        removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    )
    task = ecs.FargateTaskDefinition(
        scope,
        f"{construct_id}Task",
        family=f"durban-valuations-{config.name}-{role}",
        cpu=cpu,
        memory_limit_mib=memory_mib,
        runtime_platform=ecs.RuntimePlatform(
            operating_system_family=ecs.OperatingSystemFamily.LINUX,
            cpu_architecture=ecs.CpuArchitecture.X86_64,
        ),
        volumes=[ecs.Volume(name=SCRATCH_VOLUME)],
    )
    assert inputs.database.secret is not None
    secrets = {"DATABASE_CREDENTIALS": ecs.Secret.from_secrets_manager(inputs.database.secret)}
    if with_alerts:
        secrets.update(
            {
                setting: ecs.Secret.from_secrets_manager(inputs.smtp_secret, field)
                for setting, field in SMTP_SECRET_KEYS.items()
            }
        )
    container = task.add_container(
        role,
        container_name=role,
        image=inputs.image,
        command=command,
        essential=True,
        readonly_root_filesystem=True,
        user="10001:10001",
        environment={
            "LOG_FORMAT": "json",
            "DATA_DIR": "/tmp/durban-valuations",  # noqa: S108 - the task's scratch volume
            "VALUATION_SITE_URL": config.valuation_site_url,
            "REQUEST_RATE": str(config.request_rate),
            "EXTRACTION_INTERVAL": "1",
            "ALERT_API_URL": f"https://{config.domain_name}",
        },
        secrets=secrets,
        logging=ecs.LogDrivers.aws_logs(stream_prefix=role, log_group=log_group),
    )
    container.add_mount_points(
        ecs.MountPoint(
            container_path="/tmp",  # noqa: S108 - a volume of this task only
            source_volume=SCRATCH_VOLUME,
            read_only=False,
        )
    )
    return task, container, log_group
