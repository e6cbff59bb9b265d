"""Settings of one deployment environment, read from cdk.json's context.

cdk.json contains an `environments` object with one entry per environment (staging,
production); the stacks are built from these values, so the environments differ only in
their parameters. Every value is checked here, and an error names the environment, the
key and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

# E.164 phone number, as SNS SMS subscriptions require: "+", country code, number.
_PHONE = re.compile(r"\+[1-9][0-9]{7,14}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_REGION = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-[0-9]")
_CERTIFICATE_ARN = re.compile(r"arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+")
_IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# Fargate's valid CPU units and, for each, the memory sizes (MiB) it accepts.
_FARGATE_MEMORY: dict[int, range] = {
    256: range(512, 2048 + 1, 512),
    512: range(1024, 4096 + 1, 1024),
    1024: range(2048, 8192 + 1, 1024),
    2048: range(4096, 16384 + 1, 1024),
    4096: range(8192, 30720 + 1, 1024),
}

# Retention periods CloudWatch Logs accepts, with the CDK's names for them.
LOG_RETENTION_NAMES = {
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    731: "TWO_YEARS",
    1827: "FIVE_YEARS",
}

# Keys that may be null (or left out) in cdk.json.
OPTIONAL_KEYS = ("hosted_zone_id", "hosted_zone_name", "certificate_arn", "alarm_sms")


class ConfigError(ValueError):
    """A value in cdk.json or on the command line cannot be deployed."""


@dataclass(frozen=True)
class EnvironmentConfig:
    """Parameters of one environment; cdk.json's `environments.<name>` sets each field."""

    name: str
    region: str
    domain_name: str
    hosted_zone_id: str | None
    hosted_zone_name: str | None
    certificate_arn: str | None
    alarm_email: str
    alarm_sms: str | None
    nat_gateways: int
    api_cpu: int
    api_memory_mib: int
    api_min_tasks: int
    api_max_tasks: int
    api_requests_per_task: int
    api_p99_latency_seconds: float
    scrape_cpu: int
    scrape_memory_mib: int
    scrape_schedule: str
    scrape_timezone: str
    scrape_timeout_hours: int
    max_hours_without_complete_scrape: int
    valuation_site_url: str
    request_rate: float
    db_instance_class: str
    db_multi_az: bool
    db_allocated_storage_gib: int
    db_max_allocated_storage_gib: int
    db_backup_retention_days: int
    db_max_connections_alarm: int
    log_retention_days: int
    waf_requests_per_5_minutes: int

    @property
    def stack_name(self) -> str:
        """Name of the environment's CloudFormation stack."""
        return f"DurbanValuations-{self.name}"


def load_environment(context: dict[str, Any], name: str) -> EnvironmentConfig:
    """Return the checked settings of environment `name` from cdk.json's `environments`."""
    environments = context.get("environments")
    if not isinstance(environments, dict) or not environments:
        raise ConfigError("cdk.json has no `environments` object in its context")
    if name not in environments:
        raise ConfigError(
            f"unknown environment {name!r}: cdk.json defines {', '.join(sorted(environments))}; "
            "pass one of them with -c environment=NAME"
        )
    # JSON null reaches the app as a missing key, so these may be absent.
    values = {key: None for key in OPTIONAL_KEYS} | dict(environments[name])
    expected = {field.name for field in fields(EnvironmentConfig)} - {"name"}
    missing = sorted(expected - set(values))
    unknown = sorted(set(values) - expected)
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown {', '.join(unknown)}")
        raise ConfigError(
            f"environments.{name} in cdk.json: {'; '.join(problems)} "
            "(docs/deployment.md lists every key)"
        )

    config = EnvironmentConfig(name=name, **values)
    check_environment(config)
    return config


def _fail(config: EnvironmentConfig, key: str, problem: str) -> None:
    value = getattr(config, key)
    raise ConfigError(f"environments.{config.name}.{key}={value!r} in cdk.json: {problem}")


def check_environment(config: EnvironmentConfig) -> None:
    """Raise ConfigError naming the first value that cannot be deployed."""
    if not _REGION.fullmatch(config.region):
        _fail(config, "region", "expected an AWS region such as af-south-1")
    if config.certificate_arn is None and not (config.hosted_zone_id and config.hosted_zone_name):
        _fail(
            config,
            "certificate_arn",
            "set certificate_arn to an ACM certificate of domain_name, or set hosted_zone_id "
            "and hosted_zone_name so that the stack creates one with DNS validation",
        )
    if config.certificate_arn is not None and not _CERTIFICATE_ARN.fullmatch(
        config.certificate_arn
    ):
        _fail(config, "certificate_arn", "expected arn:aws:acm:REGION:ACCOUNT:certificate/ID")
    if config.hosted_zone_name and not config.domain_name.endswith(config.hosted_zone_name):
        _fail(config, "domain_name", f"must lie in the hosted zone {config.hosted_zone_name}")
    if not _EMAIL.fullmatch(config.alarm_email):
        _fail(config, "alarm_email", "expected one email address, name@domain")
    if config.alarm_sms is not None and not _PHONE.fullmatch(config.alarm_sms):
        _fail(config, "alarm_sms", "expected a phone number in E.164 form, e.g. +27821234567")
    if config.nat_gateways not in (1, 2):
        _fail(config, "nat_gateways", "use 1 (cheaper, one zone) or 2 (one per zone)")
    for prefix in ("api", "scrape"):
        cpu, memory = getattr(config, f"{prefix}_cpu"), getattr(config, f"{prefix}_memory_mib")
        if cpu not in _FARGATE_MEMORY:
            _fail(config, f"{prefix}_cpu", f"Fargate accepts {sorted(_FARGATE_MEMORY)}")
        if memory not in _FARGATE_MEMORY[cpu]:
            allowed = _FARGATE_MEMORY[cpu]
            _fail(
                config,
                f"{prefix}_memory_mib",
                f"with {cpu} CPU units Fargate accepts {allowed.start} to {allowed.stop - 1} "
                f"in steps of {allowed.step}",
            )
    if not 1 <= config.api_min_tasks <= config.api_max_tasks:
        _fail(config, "api_min_tasks", "must be at least 1 and at most api_max_tasks")
    if not config.scrape_schedule.startswith(("cron(", "rate(")):
        _fail(config, "scrape_schedule", "expected an EventBridge Scheduler expression, cron(...)")
    if not 1 <= config.scrape_timeout_hours <= 24:
        _fail(config, "scrape_timeout_hours", "expected 1 to 24 hours")
    if not 24 <= config.max_hours_without_complete_scrape <= 168:
        # One-hour alarm periods: CloudWatch evaluates at most 7 days of them.
        _fail(config, "max_hours_without_complete_scrape", "expected 24 to 168 hours")
    if config.db_backup_retention_days < 7:
        _fail(config, "db_backup_retention_days", "keep automated backups for at least 7 days")
    if config.db_max_allocated_storage_gib <= config.db_allocated_storage_gib:
        _fail(
            config,
            "db_max_allocated_storage_gib",
            "must exceed db_allocated_storage_gib, or storage autoscaling is off",
        )
    if config.log_retention_days not in LOG_RETENTION_NAMES:
        _fail(config, "log_retention_days", f"expected one of {sorted(LOG_RETENTION_NAMES)}")
    if config.request_rate <= 0:
        _fail(config, "request_rate", "expected requests per second above 0")


def check_image_tag(tag: object) -> str:
    """Return the image tag given with -c image_tag=TAG, or raise ConfigError."""
    if tag is None:
        raise ConfigError(
            "missing image_tag: pass the tag of an image in the ECR repository with "
            "-c image_tag=TAG (the deploy workflow uses the full commit SHA)"
        )
    if not isinstance(tag, str) or not _IMAGE_TAG.fullmatch(tag):
        raise ConfigError(
            f"image_tag={tag!r}: pass the tag of an image in the ECR repository with "
            "-c image_tag=TAG (the deploy workflow uses the full commit SHA)"
        )
    return tag
