"""RDS PostgreSQL 16 in the isolated subnets, credentials generated into Secrets Manager."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from constructs import Construct

from durban_valuations_aws.checkov import skip_check
from durban_valuations_aws.config import EnvironmentConfig

DATABASE_NAME = "durban_valuations"
DATABASE_USER = "durban_valuations"
ENGINE_VERSION = rds.PostgresEngineVersion.VER_16_9
LOG_EXPORTS = ("postgresql", "upgrade")
POSTGRES_PORT = 5432


def build_database(
    scope: Construct,
    config: EnvironmentConfig,
    vpc: ec2.IVpc,
    key: kms.IKey,
    retention: logs.RetentionDays,
) -> rds.DatabaseInstance:
    """Return the database instance; its `secret` contains the generated credentials."""
    engine = rds.DatabaseInstanceEngine.postgres(version=ENGINE_VERSION)
    parameters = rds.ParameterGroup(
        scope,
        "DatabaseParameters",
        engine=engine,
        description="durban-valuations: TLS only, slow statements and connections logged",
        parameters={
            "rds.force_ssl": "1",
            "log_min_duration_statement": "1000",
            "log_connections": "1",
            "log_disconnections": "1",
        },
    )
    identifier = f"durban-valuations-{config.name}"
    # The log groups RDS exports to, made here with the key and retention (instead of the
    # CDK's log-retention Lambda function).
    log_groups = [
        logs.LogGroup(
            scope,
            f"DatabaseLogs{kind.capitalize()}",
            log_group_name=f"/aws/rds/instance/{identifier}/{kind}",
            retention=retention,
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        for kind in LOG_EXPORTS
    ]
    # The secret names the database (dbname) as well: the app builds its URL from it.
    secret = rds.DatabaseSecret(
        scope,
        "DatabaseSecret",
        username=DATABASE_USER,
        dbname=DATABASE_NAME,
        secret_name=f"durban-valuations/{config.name}/database",
        encryption_key=key,
    )
    security_group = ec2.SecurityGroup(
        scope,
        "DatabaseSecurityGroup",
        vpc=vpc,
        description="durban-valuations database: PostgreSQL from the tasks only",
        allow_all_outbound=False,
    )
    database = rds.DatabaseInstance(
        scope,
        "Database",
        port=POSTGRES_PORT,
        security_groups=[security_group],
        instance_identifier=identifier,
        engine=engine,
        instance_type=ec2.InstanceType(config.db_instance_class),
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        multi_az=config.db_multi_az,
        database_name=DATABASE_NAME,
        credentials=rds.Credentials.from_secret(secret),
        parameter_group=parameters,
        storage_encrypted=True,
        storage_encryption_key=key,
        storage_type=rds.StorageType.GP3,
        allocated_storage=config.db_allocated_storage_gib,
        max_allocated_storage=config.db_max_allocated_storage_gib,
        backup_retention=Duration.days(config.db_backup_retention_days),
        preferred_backup_window="00:00-00:30",
        preferred_maintenance_window="sun:22:00-sun:23:00",
        copy_tags_to_snapshot=True,
        deletion_protection=True,
        removal_policy=RemovalPolicy.SNAPSHOT,
        enable_performance_insights=True,
        performance_insight_encryption_key=key,
        performance_insight_retention=rds.PerformanceInsightRetention.DEFAULT,
        monitoring_interval=Duration.seconds(60),
        cloudwatch_logs_exports=list(LOG_EXPORTS),
        iam_authentication=True,
        auto_minor_version_upgrade=True,
        publicly_accessible=False,
    )
    for log_group in log_groups:
        database.node.add_dependency(log_group)
    if not config.db_multi_az:
        skip_check(
            database,
            "CKV_AWS_157",
            f"{config.name} runs the database in one zone to halve its cost; production "
            "sets db_multi_az",
        )
    return database
