"""Alarms and notifications: one SNS topic, with email and SMS subscriptions, receives
every alarm's ALARM and OK transitions and the failed-scrape-task events.

docs/deployment.md's runbook explains each alarm; the names here match its headings.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from durban_valuations_aws.api_service import ApiService
from durban_valuations_aws.config import EnvironmentConfig

METRIC_NAMESPACE = "DurbanValuations"
# JSON log lines of the scrape (see durban_valuations.jobs.events): one `run_finished`
# line per run, with its status and suspect_reason, and a `run_suspect` line when the
# site's results looked wrong. A suspect run has status "complete" and a reason.
COMPLETE_RUN_PATTERN = (
    '{ $.event = "run_finished" && $.status = "complete" && $.suspect_reason IS NULL }'
)
FAILED_RUN_PATTERN = (
    '{ ($.event = "run_finished" && $.status != "complete" && $.status != "interrupted") '
    '|| $.event = "run_suspect" }'
)
FIVE_XX_PERCENT = 1.0
CPU_PERCENT = 80.0
MEMORY_PERCENT = 85.0
DATABASE_CPU_PERCENT = 80.0
# Storage autoscaling adds space when less than 10 % is free, so the alarm waits for 5 %
# of the first allocation: autoscaling is at its maximum or cannot keep up.
FREE_STORAGE_FRACTION = 0.05


@dataclass(frozen=True)
class MonitoredParts:
    """The resources the alarms watch."""

    api: ApiService
    database: rds.DatabaseInstance
    cluster: ecs.ICluster
    scrape_task: ecs.FargateTaskDefinition
    scrape_logs: logs.ILogGroup


def build_topic(scope: Construct, config: EnvironmentConfig, key: kms.IKey) -> sns.Topic:
    """Return the alarm topic with its email and (if configured) SMS subscriptions."""
    topic = sns.Topic(
        scope,
        "AlarmTopic",
        topic_name=f"durban-valuations-{config.name}-alarms",
        display_name=f"durban-valuations {config.name}",
        master_key=key,
        enforce_ssl=True,
    )
    topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
    if config.alarm_sms:
        topic.add_subscription(subscriptions.SmsSubscription(config.alarm_sms))
    return topic


def build_alarms(
    scope: Construct, config: EnvironmentConfig, parts: MonitoredParts, topic: sns.ITopic
) -> list[cloudwatch.Alarm]:
    """Create every alarm, each sending ALARM and OK to `topic`; return them."""
    api, database = parts.api, parts.database
    balancer_metrics = api.load_balancer.metrics
    target_metrics = api.target_group.metrics
    five_minutes = Duration.minutes(5)
    alarms: list[cloudwatch.Alarm] = []

    def alarm(
        name: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        *,
        comparison: cloudwatch.ComparisonOperator = (
            cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        ),
        periods: int = 3,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> None:
        created = cloudwatch.Alarm(
            scope,
            name,
            alarm_name=f"durban-valuations-{config.name}-{name}",
            alarm_description=f"{description} Runbook: docs/deployment.md#{name.lower()}",
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            treat_missing_data=missing,
        )
        created.add_alarm_action(cloudwatch_actions.SnsAction(topic))
        created.add_ok_action(cloudwatch_actions.SnsAction(topic))
        alarms.append(created)

    alarm(
        "ApiLatencyP99",
        target_metrics.target_response_time(statistic="p99", period=five_minutes),
        config.api_p99_latency_seconds,
        f"The API's 99th percentile response time stayed above "
        f"{config.api_p99_latency_seconds} s for 15 minutes.",
    )
    five_xx_rate = cloudwatch.MathExpression(
        expression="100 * errors / MAX([requests, 1])",
        using_metrics={
            "errors": target_metrics.http_code_target(
                elbv2.HttpCodeTarget.TARGET_5XX_COUNT, statistic="Sum", period=five_minutes
            ),
            "requests": target_metrics.request_count(statistic="Sum", period=five_minutes),
        },
        label="5xx responses (%)",
        period=five_minutes,
    )
    alarm(
        "Api5xxRate",
        five_xx_rate,
        FIVE_XX_PERCENT,
        f"More than {FIVE_XX_PERCENT} % of API responses were server errors for 15 minutes.",
    )
    alarm(
        "LoadBalancer5xx",
        balancer_metrics.http_code_elb(
            elbv2.HttpCodeElb.ELB_5XX_COUNT, statistic="Sum", period=five_minutes
        ),
        10,
        "The load balancer answered more than 10 requests in 5 minutes with its own 5xx "
        "(no healthy task, or tasks refusing connections).",
        periods=2,
    )
    alarm(
        "UnhealthyTargets",
        target_metrics.unhealthy_host_count(statistic="Maximum", period=Duration.minutes(1)),
        0,
        "At least one API task failed the /health check for 5 minutes.",
        periods=5,
    )
    alarm(
        "NoHealthyTargets",
        target_metrics.healthy_host_count(statistic="Minimum", period=Duration.minutes(1)),
        1,
        "No API task is healthy: the API is down.",
        comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        periods=2,
        missing=cloudwatch.TreatMissingData.BREACHING,
    )
    alarm(
        "ApiCpu",
        api.service.metric_cpu_utilization(period=five_minutes),
        CPU_PERCENT,
        f"The API tasks' CPU stayed above {CPU_PERCENT} % for 15 minutes at the "
        "autoscaling maximum, or scaling lags.",
    )
    alarm(
        "ApiMemory",
        api.service.metric_memory_utilization(period=five_minutes),
        MEMORY_PERCENT,
        f"The API tasks' memory stayed above {MEMORY_PERCENT} % for 15 minutes.",
    )
    alarm(
        "DatabaseCpu",
        database.metric_cpu_utilization(period=five_minutes),
        DATABASE_CPU_PERCENT,
        f"The database's CPU stayed above {DATABASE_CPU_PERCENT} % for 15 minutes.",
    )
    alarm(
        "DatabaseConnections",
        database.metric_database_connections(period=five_minutes),
        config.db_max_connections_alarm,
        f"More than {config.db_max_connections_alarm} database connections for 15 minutes.",
    )
    free_gib = config.db_allocated_storage_gib * FREE_STORAGE_FRACTION
    alarm(
        "DatabaseFreeStorage",
        database.metric_free_storage_space(period=five_minutes),
        free_gib * 1024**3,
        f"Less than {free_gib:g} GiB of database storage is free: storage autoscaling is at "
        "its maximum, or the data grows faster than autoscaling adds storage.",
        comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        periods=2,
    )

    failed_runs = logs.MetricFilter(
        scope,
        "FailedScrapeRuns",
        log_group=parts.scrape_logs,
        metric_namespace=METRIC_NAMESPACE,
        metric_name=f"FailedScrapeRuns-{config.name}",
        filter_pattern=logs.FilterPattern.literal(FAILED_RUN_PATTERN),
        metric_value="1",
        default_value=0,
    )
    alarm(
        "ScrapeFailed",
        failed_runs.metric(statistic="Sum", period=Duration.hours(1)),
        0,
        "A scrape ended failed or suspect (the site's results looked wrong), and the alert "
        "email, if SMTP is set up, has the details.",
        periods=1,
    )
    complete_runs = logs.MetricFilter(
        scope,
        "CompleteScrapeRuns",
        log_group=parts.scrape_logs,
        metric_namespace=METRIC_NAMESPACE,
        metric_name=f"CompleteScrapeRuns-{config.name}",
        filter_pattern=logs.FilterPattern.literal(COMPLETE_RUN_PATTERN),
        metric_value="1",
        default_value=0,
    )
    hours = config.max_hours_without_complete_scrape
    alarm(
        "NoCompleteScrape",
        complete_runs.metric(statistic="Sum", period=Duration.hours(1)),
        1,
        f"No scrape completed in the last {hours} hours: the data is getting stale.",
        comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        periods=hours,
        missing=cloudwatch.TreatMissingData.BREACHING,
    )
    _failed_task_rule(scope, config, parts, topic)
    return alarms


def _failed_task_rule(
    scope: Construct, config: EnvironmentConfig, parts: MonitoredParts, topic: sns.ITopic
) -> None:
    """Send a scrape task that stopped with a non-zero exit code, or never started, to the topic.

    Exit code 1 also covers a run stopped at its deadline (resumed the next day), and 2 a
    run that found another scrape holding the lock.
    """
    rule = events.Rule(
        scope,
        "ScrapeTaskFailed",
        description="A scheduled scrape task stopped without exit code 0 or failed to start",
        event_pattern=events.EventPattern(
            source=["aws.ecs"],
            detail_type=["ECS Task State Change"],
            detail={
                "clusterArn": [parts.cluster.cluster_arn],
                "lastStatus": ["STOPPED"],
                "group": [f"family:{parts.scrape_task.family}"],
                "$or": [
                    {"containers": {"exitCode": [{"anything-but": 0}]}},
                    {"stopCode": ["TaskFailedToStart"]},
                ],
            },
        ),
    )
    rule.add_target(
        events_targets.SnsTopic(
            topic,
            message=events.RuleTargetInput.from_text(
                f"durban-valuations {config.name}: the scrape task "
                f"{events.EventField.from_path('$.detail.taskArn')} stopped "
                f"({events.EventField.from_path('$.detail.stoppedReason')}). Logs: log group "
                f"{parts.scrape_logs.log_group_name}. Runbook: "
                "docs/deployment.md#scrapetaskfailed"
            ),
        )
    )
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid="EventBridgePublishes",
            actions=["sns:Publish"],
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            resources=[topic.topic_arn],
            conditions={"ArnEquals": {"aws:SourceArn": rule.rule_arn}},
        )
    )
