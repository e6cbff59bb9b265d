"""One environment's stack: network, API service, scheduled scrape, database, secrets, logs."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match, Template

from .conftest import IMAGE_TAG, Synthesized, only


def containers(template: Template) -> dict[str, dict[str, Any]]:
    """Each task definition's one container, by container name."""
    found: dict[str, dict[str, Any]] = {}
    for task in template.find_resources("AWS::ECS::TaskDefinition").values():
        (container,) = task["Properties"]["ContainerDefinitions"]
        found[container["Name"]] = container | {"Task": task["Properties"]}
    return found


def logical_id(template: Template, resource_type: str, **properties: Any) -> str:
    """Logical id of the one resource of `resource_type` with these properties."""
    found = template.find_resources(resource_type, {"Properties": properties})
    assert len(found) == 1, sorted(found)
    return next(iter(found))


def test_vpc_spans_two_zones_with_three_tiers_and_flow_logs(production: Synthesized) -> None:
    template = production.service
    subnets = template.find_resources("AWS::EC2::Subnet")
    tiers = {}
    for subnet in subnets.values():
        tags = {tag["Key"]: tag["Value"] for tag in subnet["Properties"]["Tags"]}
        tiers.setdefault(tags["aws-cdk:subnet-name"], []).append(
            subnet["Properties"]["AvailabilityZone"]
        )
    assert sorted(tiers) == ["database", "public", "tasks"]
    for zones in tiers.values():
        assert len(zones) == 2
        assert zones[0] != zones[1]
    template.resource_count_is("AWS::EC2::NatGateway", production.config.nat_gateways)
    template.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "ALL"})


def test_environments_differ_only_by_parameters(
    staging: Synthesized, production: Synthesized
) -> None:
    staging.service.resource_count_is("AWS::EC2::NatGateway", 1)
    production.service.resource_count_is("AWS::EC2::NatGateway", 2)
    assert only(staging.service, "AWS::RDS::DBInstance")["MultiAZ"] is False
    assert only(production.service, "AWS::RDS::DBInstance")["MultiAZ"] is True
    assert only(staging.service, "AWS::ECS::Service")["DesiredCount"] == 1
    assert only(production.service, "AWS::ECS::Service")["DesiredCount"] == 2
    types = {
        resource_type
        for synthesized in (staging, production)
        for resource_type in (
            resource["Type"] for resource in synthesized.service.to_json()["Resources"].values()
        )
    }
    staging_types = {r["Type"] for r in staging.service.to_json()["Resources"].values()}
    assert staging_types == types, "staging lacks a kind of resource production has"


def test_cluster_has_container_insights(production: Synthesized) -> None:
    settings = only(production.service, "AWS::ECS::Cluster")["ClusterSettings"]
    assert {"Name": "containerInsights", "Value": "enabled"} in settings


def test_load_balancer_serves_https_and_redirects_http(production: Synthesized) -> None:
    template = production.service
    balancer = only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert balancer["Scheme"] == "internet-facing"
    attributes = {item["Key"]: item["Value"] for item in balancer["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["deletion_protection.enabled"] == "true"
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 443,
            "Protocol": "HTTPS",
            "Certificates": [{"CertificateArn": Match.any_value()}],
            "SslPolicy": Match.string_like_regexp("TLS"),
        },
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 80,
            "Protocol": "HTTP",
            "DefaultActions": [
                {
                    "Type": "redirect",
                    "RedirectConfig": {
                        "Protocol": "HTTPS",
                        "Port": "443",
                        "StatusCode": "HTTP_301",
                    },
                }
            ],
        },
    )
    template.has_resource_properties(
        "AWS::CertificateManager::Certificate",
        {"DomainName": production.config.domain_name, "ValidationMethod": "DNS"},
    )
    template.has_resource_properties(
        "AWS::Route53::RecordSet", {"Name": f"{production.config.domain_name}.", "Type": "A"}
    )
    template.has_resource_properties("AWS::WAFv2::WebACLAssociation", Match.any_value())
    rules = only(template, "AWS::WAFv2::WebACL")["Rules"]
    assert {rule["Name"] for rule in rules} >= {
        "RequestsPerAddress", "AWSManagedRulesCommonRuleSet",
    }  # fmt: skip


def test_an_imported_certificate_replaces_the_created_one(tmp_path: Any) -> None:
    from .conftest import cdk_context, synthesize

    context = cdk_context()
    arn = "arn:aws:acm:af-south-1:123456789012:certificate/0f0e0d0c-1111-2222-3333-444455556666"
    context["environments"]["staging"]["certificate_arn"] = arn
    synthesized = synthesize("staging", tmp_path, environments=context["environments"])
    synthesized.service.resource_count_is("AWS::CertificateManager::Certificate", 0)
    synthesized.service.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {"Port": 443, "Certificates": [{"CertificateArn": arn}]},
    )


def test_metrics_are_hidden_from_the_internet(production: Synthesized) -> None:
    rule = only(production.service, "AWS::ElasticLoadBalancingV2::ListenerRule")
    (condition,) = rule["Conditions"]
    assert condition["PathPatternConfig"]["Values"] == ["/metrics", "/metrics/*"]
    (action,) = rule["Actions"]
    assert action["Type"] == "fixed-response"
    assert action["FixedResponseConfig"]["StatusCode"] == "404"


def test_targets_are_checked_on_health(production: Synthesized) -> None:
    group = only(production.service, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert group["HealthCheckPath"] == "/health"
    assert group["Port"] == 8000
    assert group["TargetType"] == "ip"


def test_api_service_rolls_with_circuit_breaker_in_private_subnets(
    production: Synthesized,
) -> None:
    service = only(production.service, "AWS::ECS::Service")
    assert service["LaunchType"] == "FARGATE"
    deployment = service["DeploymentConfiguration"]
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert (deployment["MinimumHealthyPercent"], deployment["MaximumPercent"]) == (100, 200)
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert service["HealthCheckGracePeriodSeconds"] == 60


def test_api_scales_on_cpu_and_requests(production: Synthesized) -> None:
    template = production.service
    target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (
        production.config.api_min_tasks,
        production.config.api_max_tasks,
    )
    metrics = set()
    for policy in template.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy").values():
        configuration = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        metrics.add(configuration["PredefinedMetricSpecification"]["PredefinedMetricType"])
    assert metrics == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}


def test_every_task_runs_the_tagged_image_read_only_as_non_root(
    production: Synthesized,
) -> None:
    found = containers(production.service)
    assert set(found) == {"api", "scrape", "migrate"}
    for name, container in found.items():
        image = json.dumps(container["Image"])
        assert IMAGE_TAG in image, name
        assert "durban-valuations" in image, name
        assert container["ReadonlyRootFilesystem"] is True
        assert container["User"] == "10001:10001"
        assert container["MountPoints"] == [
            {"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "scratch"}
        ]
        assert container["LogConfiguration"]["LogDriver"] == "awslogs"
        secrets = {secret["Name"] for secret in container["Secrets"]}
        assert "DATABASE_CREDENTIALS" in secrets
        assert container["Task"]["Family"] == f"durban-valuations-production-{name}"
    assert found["api"]["Command"] == ["api"]
    api_environment = {item["Name"]: item["Value"] for item in found["api"]["Environment"]}
    assert api_environment["FORWARDED_ALLOW_IPS"] == "*"
    assert api_environment["WEB_CONCURRENCY"] == "4"
    assert api_environment["API_DATABASE_POOL_SIZE"] == "5"
    assert found["api"]["PortMappings"][0]["ContainerPort"] == 8000
    assert found["migrate"]["Command"] == ["migrate"]
    assert found["scrape"]["Command"] == ["scrape", "--deadline", "1200"]


def test_only_the_scrape_gets_the_smtp_secret(production: Synthesized) -> None:
    found = containers(production.service)
    smtp = {"SMTP_SERVER", "SMTP_PORT", "SMTP_SECURITY", "SMTP_USERNAME", "EMAIL_PASSWORD",
            "SENDER_EMAIL", "RECIPIENT_EMAIL"}  # fmt: skip
    assert smtp <= {secret["Name"] for secret in found["scrape"]["Secrets"]}
    assert not smtp & {secret["Name"] for secret in found["api"]["Secrets"]}
    secrets = production.service.find_resources(
        "AWS::SecretsManager::Secret",
        {"Properties": {"Name": "durban-valuations/production/smtp"}},
    )
    (secret,) = secrets.values()
    generator = secret["Properties"]["GenerateSecretString"]
    assert generator["GenerateStringKey"] == "password"
    assert set(json.loads(generator["SecretStringTemplate"])) == {
        "host", "port", "security", "username", "sender", "recipient",
    }  # fmt: skip


def test_scrape_runs_daily_on_fargate_with_its_own_log_group(production: Synthesized) -> None:
    template = production.service
    schedule = only(template, "AWS::Scheduler::Schedule")
    assert schedule["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Africa/Johannesburg"
    assert schedule["State"] == "ENABLED"
    target = schedule["Target"]
    parameters = target["EcsParameters"]
    assert parameters["LaunchType"] == "FARGATE"
    scrape_task = logical_id(
        template, "AWS::ECS::TaskDefinition", Family="durban-valuations-production-scrape"
    )
    assert parameters["TaskDefinitionArn"] == {"Ref": scrape_task}
    assert parameters["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == (
        "DISABLED"
    )
    template.has_resource_properties(
        "AWS::Logs::LogGroup", {"LogGroupName": "/durban-valuations/production/scrape"}
    )


def test_every_log_group_has_retention_and_encryption(production: Synthesized) -> None:
    groups = production.service.find_resources("AWS::Logs::LogGroup")
    names = set()
    for group in groups.values():
        properties = group["Properties"]
        # Kept when the stack is deleted, removed when a first deploy rolls back.
        if properties["LogGroupName"] != "/durban-valuations/production/vpc-flow-logs":
            assert group["DeletionPolicy"] == "RetainExceptOnCreate"
        assert properties["RetentionInDays"] == production.config.log_retention_days
        assert "KmsKeyId" in properties
        names.add(properties["LogGroupName"])
    assert {
        "/durban-valuations/production/api",
        "/durban-valuations/production/scrape",
        "/durban-valuations/production/migrate",
        "/aws/rds/instance/durban-valuations-production/postgresql",
    } <= names


def test_database_is_private_encrypted_backed_up_and_protected(production: Synthesized) -> None:
    template = production.service
    database = only(template, "AWS::RDS::DBInstance")
    assert database["Engine"] == "postgres"
    assert database["EngineVersion"].startswith("16.")
    assert database["MultiAZ"] is True
    assert database["StorageEncrypted"] is True
    assert "KmsKeyId" in database
    assert database["PubliclyAccessible"] is False
    assert int(database["MaxAllocatedStorage"]) > int(database["AllocatedStorage"])
    assert database["BackupRetentionPeriod"] >= 7
    assert database["DeletionProtection"] is True
    assert database["EnablePerformanceInsights"] is True
    assert database["EnableCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    password = json.dumps(database["MasterUserPassword"])
    assert "resolve:secretsmanager" in password
    secrets = template.find_resources(
        "AWS::SecretsManager::Secret",
        {"Properties": {"Name": "durban-valuations/production/database"}},
    )
    (secret,) = secrets.values()
    # The app builds its URL from these keys; the attachment adds host and port.
    generated = json.loads(secret["Properties"]["GenerateSecretString"]["SecretStringTemplate"])
    assert generated == {"username": "durban_valuations", "dbname": "durban_valuations"}
    template.has_resource_properties(
        "AWS::SecretsManager::SecretTargetAttachment", {"TargetType": "AWS::RDS::DBInstance"}
    )
    subnet_group = only(template, "AWS::RDS::DBSubnetGroup")
    isolated = {
        logical
        for logical, subnet in template.find_resources("AWS::EC2::Subnet").items()
        if {"Key": "aws-cdk:subnet-type", "Value": "Isolated"} in subnet["Properties"]["Tags"]
    }
    assert {ref["Ref"] for ref in subnet_group["SubnetIds"]} == isolated
    parameters = only(template, "AWS::RDS::DBParameterGroup")["Parameters"]
    assert parameters["rds.force_ssl"] == "1"


def test_database_accepts_only_the_tasks(production: Synthesized) -> None:
    template = production.service
    tasks_group = logical_id(
        template,
        "AWS::EC2::SecurityGroup",
        GroupDescription="durban-valuations tasks: API, scrape and migrations",
    )
    ingress = template.find_resources(
        "AWS::EC2::SecurityGroupIngress", {"Properties": {"FromPort": 5432}}
    )
    (rule,) = ingress.values()
    assert rule["Properties"]["SourceSecurityGroupId"] == {"Fn::GetAtt": [tasks_group, "GroupId"]}


def test_outputs_that_the_deploy_workflow_reads(production: Synthesized) -> None:
    outputs = production.service.to_json()["Outputs"]
    assert {
        "ApiUrl", "LoadBalancerDnsName", "ClusterName", "ApiServiceName", "MigrateTaskFamily",
        "MigrateContainerName", "TaskSubnetIds", "TaskSecurityGroupId", "ScrapeTaskFamily",
        "AlarmTopicArn", "DatabaseSecretArn", "SmtpSecretArn",
    } <= set(outputs)  # fmt: skip
    assert outputs["ApiUrl"]["Value"] == "https://api.valuations.example.org"
    assert outputs["MigrateContainerName"]["Value"] == "migrate"
