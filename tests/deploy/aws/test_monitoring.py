"""Alarms and notifications: every alarm the runbook covers, each wired to the SNS topic."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .conftest import Synthesized, only

ALARMS = {
    "ApiLatencyP99", "Api5xxRate", "LoadBalancer5xx", "UnhealthyTargets", "NoHealthyTargets",
    "ApiCpu", "ApiMemory", "DatabaseCpu", "DatabaseConnections", "DatabaseFreeStorage",
    "ScrapeFailed", "NoCompleteScrape",
}  # fmt: skip
RUNBOOK = Path(__file__).resolve().parents[3] / "docs" / "deployment.md"


def alarms_by_name(synthesized: Synthesized) -> dict[str, dict[str, object]]:
    prefix = f"durban-valuations-{synthesized.config.name}-"
    found = {}
    for alarm in synthesized.service.find_resources("AWS::CloudWatch::Alarm").values():
        properties = alarm["Properties"]
        found[properties["AlarmName"].removeprefix(prefix)] = properties
    return found


def test_every_alarm_exists_and_notifies_the_topic_on_alarm_and_ok(
    production: Synthesized,
) -> None:
    topic = next(iter(production.service.find_resources("AWS::SNS::Topic")))
    alarms = alarms_by_name(production)
    assert set(alarms) == ALARMS
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": topic}], name
        assert alarm["OKActions"] == [{"Ref": topic}], name
        assert f"docs/deployment.md#{name.lower()}" in str(alarm["AlarmDescription"])


def test_alarm_metrics(production: Synthesized) -> None:
    alarms = alarms_by_name(production)
    latency = alarms["ApiLatencyP99"]
    assert (latency["MetricName"], latency["ExtendedStatistic"]) == ("TargetResponseTime", "p99")
    assert latency["Threshold"] == production.config.api_p99_latency_seconds
    expressions = [query.get("Expression") for query in alarms["Api5xxRate"]["Metrics"]]  # type: ignore[attr-defined]
    assert "100 * errors / MAX([requests, 1])" in expressions
    assert alarms["UnhealthyTargets"]["MetricName"] == "UnHealthyHostCount"
    assert alarms["NoHealthyTargets"]["TreatMissingData"] == "breaching"
    assert (alarms["ApiCpu"]["Namespace"], alarms["ApiCpu"]["MetricName"]) == (
        "AWS/ECS", "CPUUtilization",
    )  # fmt: skip
    assert alarms["ApiMemory"]["MetricName"] == "MemoryUtilization"
    assert alarms["DatabaseCpu"]["Namespace"] == "AWS/RDS"
    assert alarms["DatabaseConnections"]["Threshold"] == production.config.db_max_connections_alarm
    free_storage = alarms["DatabaseFreeStorage"]
    assert free_storage["ComparisonOperator"] == "LessThanThreshold"
    # Below the 10 % at which storage autoscaling adds space.
    allocated_bytes = production.config.db_allocated_storage_gib * 1024**3
    assert free_storage["Threshold"] == 0.05 * allocated_bytes
    stale = alarms["NoCompleteScrape"]
    assert stale["EvaluationPeriods"] == production.config.max_hours_without_complete_scrape
    assert (stale["Period"], stale["TreatMissingData"]) == (3600, "breaching")


def test_scrape_alarms_count_run_finished_log_lines(production: Synthesized) -> None:
    filters = production.service.find_resources("AWS::Logs::MetricFilter")
    patterns = {
        f["Properties"]["MetricTransformations"][0]["MetricName"]: f["Properties"]["FilterPattern"]
        for f in filters.values()
    }
    assert patterns == {
        "FailedScrapeRuns-production": '{ ($.event = "run_finished" && $.status != "complete" '
        '&& $.status != "interrupted") || $.event = "run_suspect" }',
        "CompleteScrapeRuns-production": '{ $.event = "run_finished" && $.status = "complete" '
        "&& $.suspect_reason IS NULL }",
    }


def test_a_failed_scrape_task_is_sent_to_the_topic(production: Synthesized) -> None:
    rule = only(production.service, "AWS::Events::Rule")
    pattern = rule["EventPattern"]
    assert pattern["detail-type"] == ["ECS Task State Change"]
    assert pattern["detail"]["lastStatus"] == ["STOPPED"]
    assert pattern["detail"]["$or"] == [
        {"containers": {"exitCode": [{"anything-but": 0}]}},
        {"stopCode": ["TaskFailedToStart"]},
    ]
    assert "durban-valuations-production-scrape" in json.dumps(pattern["detail"]["group"])
    (target,) = rule["Targets"]
    topic = next(iter(production.service.find_resources("AWS::SNS::Topic")))
    assert target["Arn"] == {"Ref": topic}


def test_topic_is_encrypted_with_email_and_sms(
    production: Synthesized, staging: Synthesized
) -> None:
    topic = only(production.service, "AWS::SNS::Topic")
    assert "KmsMasterKeyId" in topic
    subscriptions = production.service.find_resources("AWS::SNS::Subscription")
    endpoints = {
        s["Properties"]["Protocol"]: s["Properties"]["Endpoint"] for s in subscriptions.values()
    }
    assert endpoints == {
        "email": production.config.alarm_email,
        "sms": production.config.alarm_sms,
    }
    # Staging sets no phone number, so it has the email subscription only.
    staging.service.resource_count_is("AWS::SNS::Subscription", 1)


def test_the_runbook_has_a_section_per_alarm() -> None:
    headings = {
        heading.strip().lower()
        for heading in re.findall(r"^#+ (.+)$", RUNBOOK.read_text(), flags=re.MULTILINE)
    }
    for name in ALARMS | {"ScrapeTaskFailed"}:
        assert name.lower() in headings, f"docs/deployment.md has no heading {name}"
