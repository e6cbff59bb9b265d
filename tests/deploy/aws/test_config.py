"""cdk.json's environment parameters: both environments load, bad values are named."""

from __future__ import annotations

from typing import Any

import pytest
from durban_valuations_aws.config import ConfigError, check_image_tag, load_environment

from .conftest import cdk_context


def with_value(environment: str, key: str, value: Any) -> dict[str, Any]:
    context = cdk_context()
    context["environments"][environment][key] = value
    return context


def test_both_environments_share_every_key() -> None:
    environments = cdk_context()["environments"]
    assert set(environments) == {"staging", "production"}
    assert set(environments["staging"]) == set(environments["production"])
    for name in environments:
        assert load_environment(cdk_context(), name).stack_name == f"DurbanValuations-{name}"


def test_unknown_environment_names_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"unknown environment 'prod'.*production, staging"):
        load_environment(cdk_context(), "prod")


def test_missing_and_unknown_keys_are_listed() -> None:
    context = cdk_context()
    del context["environments"]["staging"]["api_cpu"]
    context["environments"]["staging"]["api_cpus"] = 512
    with pytest.raises(ConfigError, match="missing api_cpu; unknown api_cpus"):
        load_environment(context, "staging")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("alarm_sms", "0821234567", "E.164"),
        ("alarm_email", "operations", "one email address"),
        ("api_memory_mib", 700, "with 512 CPU units Fargate accepts 1024 to 4096"),
        ("scrape_cpu", 300, "Fargate accepts"),
        ("db_backup_retention_days", 3, "at least 7 days"),
        ("db_max_allocated_storage_gib", 20, "storage autoscaling is off"),
        ("region", "Cape Town", "AWS region"),
        ("certificate_arn", "my-certificate", "arn:aws:acm"),
        ("log_retention_days", 10, "expected one of"),
        ("max_hours_without_complete_scrape", 200, "24 to 168 hours"),
        ("domain_name", "api.example.com", "must lie in the hosted zone"),
    ],
)
def test_bad_values_are_named_with_the_fix(key: str, value: Any, message: str) -> None:
    context = with_value("staging", key, value)
    with pytest.raises(ConfigError, match=message) as error:
        load_environment(context, "staging")
    assert f"environments.staging.{key}={value!r}" in str(error.value)


def test_no_certificate_and_no_zone_is_refused() -> None:
    context = cdk_context()
    for key in ("hosted_zone_id", "hosted_zone_name", "certificate_arn"):
        context["environments"]["staging"][key] = None
    with pytest.raises(ConfigError, match=r"set certificate_arn .* or set hosted_zone_id"):
        load_environment(context, "staging")


@pytest.mark.parametrize("tag", [None, "", "has space", "-leading-dash", 12])
def test_image_tag_is_required(tag: object) -> None:
    with pytest.raises(ConfigError, match="-c image_tag=TAG"):
        check_image_tag(tag)
