"""The stack of one environment: network, database, API, daily scrape and monitoring."""

from __future__ import annotations

import json

from aws_cdk import Aspects, CfnOutput, Duration, RemovalPolicy, Stack, Tags, TimeZone
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from durban_valuations_aws.api_service import build_api_service
from durban_valuations_aws.checkov import SkipDeploymentHandlerChecks, skip_check
from durban_valuations_aws.config import LOG_RETENTION_NAMES, EnvironmentConfig
from durban_valuations_aws.database import POSTGRES_PORT, build_database
from durban_valuations_aws.monitoring import MonitoredParts, build_alarms, build_topic
from durban_valuations_aws.network import build_vpc
from durban_valuations_aws.tasks import TaskInputs, build_task, image_from

# The settings the operator fills in after the first deploy (docs/deployment.md); an
# empty host leaves alert emails off. The generated password is a placeholder.
SMTP_TEMPLATE = {
    "host": "",
    "port": "587",
    "security": "starttls",
    "username": "",
    "sender": "",
    "recipient": "",
}


class ServiceStack(Stack):
    """Everything one environment runs, built from its EnvironmentConfig."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        repository_name: str,
        image_tag: str,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        Tags.of(self).add("project", "durban-valuations")
        Tags.of(self).add("environment", config.name)
        Aspects.of(self).add(SkipDeploymentHandlerChecks())
        retention = logs.RetentionDays[LOG_RETENTION_NAMES[config.log_retention_days]]

        key = self._key(config)
        vpc = build_vpc(self, config, key, retention)
        database = build_database(self, config, vpc, key, retention)
        smtp_secret = secretsmanager.Secret(
            self,
            "SmtpSecret",
            secret_name=f"durban-valuations/{config.name}/smtp",
            description="SMTP settings of the scrape's alert emails; fill in host, sender "
            "and recipient (docs/deployment.md)",
            encryption_key=key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps(SMTP_TEMPLATE),
                generate_string_key="password",
                exclude_punctuation=True,
            ),
        )
        skip_check(
            smtp_secret,
            "CKV2_AWS_57",
            "the SMTP password belongs to the mail provider, which rotates it; "
            "docs/deployment.md has the update procedure",
        )
        assert database.secret is not None
        skip_check(
            database.secret,
            "CKV2_AWS_57",
            "tasks read the password when they start, so a rotation breaks the running "
            "API tasks' new connections; docs/deployment.md has the manual rotation",
        )

        cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=f"durban-valuations-{config.name}",
            vpc=vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        repository = ecr.Repository.from_repository_name(self, "Repository", repository_name)
        inputs = TaskInputs(
            config=config,
            image=image_from(repository, image_tag),
            database=database,
            smtp_secret=smtp_secret,
            key=key,
            retention=retention,
        )
        tasks_group = ec2.SecurityGroup(
            self,
            "TaskSecurityGroup",
            vpc=vpc,
            description="durban-valuations tasks: API, scrape and migrations",
            allow_all_outbound=True,
        )
        database.connections.allow_from(
            tasks_group, ec2.Port.tcp(POSTGRES_PORT), "tasks to PostgreSQL"
        )

        api_task, api_container, _ = build_task(
            self,
            inputs,
            "api",
            cpu=config.api_cpu,
            memory_mib=config.api_memory_mib,
            command=["api"],
        )
        api_container.add_port_mappings(ecs.PortMapping(container_port=8000))
        api_container.add_environment("WEB_CONCURRENCY", str(max(2, config.api_cpu // 256)))
        # 5 steady and 5 overflow connections per worker: at api_max_tasks, the API opens
        # at most 10 x workers x tasks connections (240 in production, 40 in staging),
        # below the DatabaseConnections alarms with room for scrapes.
        api_container.add_environment("API_DATABASE_POOL_SIZE", "5")
        # Only the load balancer reaches the tasks (security group), so its
        # X-Forwarded-For header gives the client address in the access log.
        api_container.add_environment("FORWARDED_ALLOW_IPS", "*")
        api = build_api_service(
            self,
            config,
            cluster=cluster,
            task=api_task,
            container=api_container,
            security_group=tasks_group,
        )

        deadline_minutes = config.scrape_timeout_hours * 60
        scrape_task, _, scrape_logs = build_task(
            self,
            inputs,
            "scrape",
            cpu=config.scrape_cpu,
            memory_mib=config.scrape_memory_mib,
            command=["scrape", "--deadline", str(deadline_minutes)],
            with_alerts=True,
        )
        migrate_task, migrate_container, _ = build_task(
            self, inputs, "migrate", cpu=256, memory_mib=512, command=["migrate"]
        )
        scheduler.Schedule(
            self,
            "DailyScrape",
            schedule_name=f"durban-valuations-{config.name}-scrape",
            description="Scrape the valuation roll into the database",
            schedule=scheduler.ScheduleExpression.expression(
                config.scrape_schedule, time_zone=TimeZone.of(config.scrape_timezone)
            ),
            key=key,
            target=scheduler_targets.EcsRunFargateTask(
                cluster,
                task_definition=scrape_task,
                security_groups=[tasks_group],
                vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                assign_public_ip=False,
                propagate_tags=True,
                retry_attempts=2,
                max_event_age=Duration.hours(1),
            ),
        )

        topic = build_topic(self, config, key)
        build_alarms(
            self,
            config,
            MonitoredParts(
                api=api,
                database=database,
                cluster=cluster,
                scrape_task=scrape_task,
                scrape_logs=scrape_logs,
            ),
            topic,
        )

        private_subnets = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        outputs = {
            "ApiUrl": f"https://{config.domain_name}",
            "LoadBalancerDnsName": api.load_balancer.load_balancer_dns_name,
            "ClusterName": cluster.cluster_name,
            "ApiServiceName": api.service.service_name,
            "MigrateTaskFamily": migrate_task.family,
            "MigrateContainerName": migrate_container.container_name,
            "TaskSubnetIds": ",".join(private_subnets.subnet_ids),
            "TaskSecurityGroupId": tasks_group.security_group_id,
            "ScrapeTaskFamily": scrape_task.family,
            "AlarmTopicArn": topic.topic_arn,
            "DatabaseSecretArn": database.secret.secret_arn,
            "SmtpSecretArn": smtp_secret.secret_arn,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)

    def _key(self, config: EnvironmentConfig) -> kms.Key:
        """Create the environment's customer managed key, usable by the services that encrypt."""
        key = kms.Key(
            self,
            "Key",
            alias=f"alias/durban-valuations-{config.name}",
            description=f"Encrypts durban-valuations {config.name}: database, secrets, logs, "
            "alarm topic",
            enable_key_rotation=True,
            # Kept when the stack is deleted (snapshots and retained logs need it), but
            # removed when a first deploy rolls back.
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogs",
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                principals=[iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com")],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:*"
                        )
                    }
                },
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlarmsAndEventsPublishToTopic",
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                principals=[
                    iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                    iam.ServicePrincipal("events.amazonaws.com"),
                ],
                resources=["*"],
            )
        )
        return key
