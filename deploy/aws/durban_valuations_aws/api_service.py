"""The API: a Fargate service behind an internet-facing Application Load Balancer.

HTTPS with an ACM certificate on 443, port 80 redirects to it, a WAF web ACL in front,
targets checked on /health, scaling on CPU and on requests per task, and rolling
deployments that the circuit breaker rolls back when new tasks do not become healthy.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from durban_valuations_aws.checkov import skip_check
from durban_valuations_aws.config import EnvironmentConfig
from durban_valuations_aws.tasks import API_PORT

HEALTH_CHECK_PATH = "/health"
SSL_POLICY = elbv2.SslPolicy.RECOMMENDED_TLS


@dataclass(frozen=True)
class ApiService:
    """The parts of the API that alarms and outputs refer to."""

    service: ecs.FargateService
    load_balancer: elbv2.ApplicationLoadBalancer
    target_group: elbv2.ApplicationTargetGroup
    https_listener: elbv2.ApplicationListener


def build_certificate(
    scope: Construct, config: EnvironmentConfig, zone: route53.IHostedZone | None
) -> acm.ICertificate:
    """Import the certificate of certificate_arn, or create one validated in Route 53."""
    if config.certificate_arn:
        return acm.Certificate.from_certificate_arn(scope, "Certificate", config.certificate_arn)
    assert zone is not None, "check_environment requires a hosted zone without certificate_arn"
    return acm.Certificate(
        scope,
        "Certificate",
        domain_name=config.domain_name,
        validation=acm.CertificateValidation.from_dns(zone),
    )


def hosted_zone(scope: Construct, config: EnvironmentConfig) -> route53.IHostedZone | None:
    """Return the Route 53 zone named in the configuration, if any, without a lookup.

    Synthesis stays offline, so the zone comes from its id and name.
    """
    if not (config.hosted_zone_id and config.hosted_zone_name):
        return None
    return route53.HostedZone.from_hosted_zone_attributes(
        scope,
        "Zone",
        hosted_zone_id=config.hosted_zone_id,
        zone_name=config.hosted_zone_name,
    )


def _access_log_bucket(scope: Construct, config: EnvironmentConfig) -> s3.Bucket:
    bucket = s3.Bucket(
        scope,
        "LoadBalancerLogs",
        # Load balancer access logs support only S3-managed keys.
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycle_rules=[
            s3.LifecycleRule(
                expiration=Duration.days(config.log_retention_days),
                noncurrent_version_expiration=Duration.days(1),
            )
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )
    skip_check(
        bucket,
        "CKV_AWS_18",
        "this bucket receives the load balancer's access logs; logging its own access "
        "would need a second bucket for no reader",
    )
    skip_check(
        bucket,
        "CKV_AWS_145",
        "load balancer access logs can only be written to buckets with S3-managed keys",
    )
    return bucket


def _web_acl(scope: Construct, config: EnvironmentConfig) -> wafv2.CfnWebACL:
    def managed(name: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
        return wafv2.CfnWebACL.RuleProperty(
            name=name,
            priority=priority,
            override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                    vendor_name="AWS", name=name
                )
            ),
            visibility_config=_visibility(name),
        )

    rate_limit = wafv2.CfnWebACL.RuleProperty(
        name="RequestsPerAddress",
        priority=0,
        action=wafv2.CfnWebACL.RuleActionProperty(block={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                limit=config.waf_requests_per_5_minutes, aggregate_key_type="IP"
            )
        ),
        visibility_config=_visibility("RequestsPerAddress"),
    )
    return wafv2.CfnWebACL(
        scope,
        "WebAcl",
        scope="REGIONAL",
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=_visibility(f"durban-valuations-{config.name}"),
        rules=[
            rate_limit,
            managed("AWSManagedRulesCommonRuleSet", 1),
            managed("AWSManagedRulesKnownBadInputsRuleSet", 2),
            managed("AWSManagedRulesAmazonIpReputationList", 3),
        ],
    )


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def build_api_service(
    scope: Construct,
    config: EnvironmentConfig,
    *,
    cluster: ecs.ICluster,
    task: ecs.FargateTaskDefinition,
    container: ecs.ContainerDefinition,
    security_group: ec2.ISecurityGroup,
) -> ApiService:
    """Return the API service, its load balancer, target group and HTTPS listener."""
    vpc = cluster.vpc
    zone = hosted_zone(scope, config)
    balancer_group = ec2.SecurityGroup(
        scope,
        "LoadBalancerSecurityGroup",
        vpc=vpc,
        description="Internet to the API load balancer: HTTPS, and HTTP for the redirect",
        allow_all_outbound=False,
    )
    balancer_group.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS")
    balancer_group.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(80), "HTTP, redirected")
    skip_check(
        balancer_group,
        "CKV_AWS_260",
        "port 80 only answers with a redirect to HTTPS, for clients that type the bare name",
    )
    load_balancer = elbv2.ApplicationLoadBalancer(
        scope,
        "LoadBalancer",
        vpc=vpc,
        internet_facing=True,
        security_group=balancer_group,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        drop_invalid_header_fields=True,
        deletion_protection=config.name == "production",
    )
    load_balancer.log_access_logs(_access_log_bucket(scope, config), prefix="alb")
    web_acl = _web_acl(scope, config)
    wafv2.CfnWebACLAssociation(
        scope,
        "WebAclAssociation",
        resource_arn=load_balancer.load_balancer_arn,
        web_acl_arn=web_acl.attr_arn,
    )

    https = load_balancer.add_listener(
        "Https",
        port=443,
        protocol=elbv2.ApplicationProtocol.HTTPS,
        certificates=[build_certificate(scope, config, zone)],
        ssl_policy=SSL_POLICY,
        open=False,
    )
    load_balancer.add_redirect(source_port=80, target_port=443)
    # Prometheus scrapes /metrics inside the VPC; the internet gets a 404.
    https.add_action(
        "HideMetrics",
        priority=10,
        conditions=[elbv2.ListenerCondition.path_patterns(["/metrics", "/metrics/*"])],
        action=elbv2.ListenerAction.fixed_response(
            404, content_type="application/json", message_body='{"error": "not found"}'
        ),
    )

    service = ecs.FargateService(
        scope,
        "ApiService",
        cluster=cluster,
        task_definition=task,
        desired_count=config.api_min_tasks,
        security_groups=[security_group],
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        assign_public_ip=False,
        min_healthy_percent=100,
        max_healthy_percent=200,
        circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
        health_check_grace_period=Duration.seconds(60),
        enable_execute_command=False,
        propagate_tags=ecs.PropagatedTagSource.SERVICE,
    )
    target_group = https.add_targets(
        "Api",
        port=API_PORT,
        protocol=elbv2.ApplicationProtocol.HTTP,
        targets=[service.load_balancer_target(container_name=container.container_name)],
        health_check=elbv2.HealthCheck(
            path=HEALTH_CHECK_PATH,
            healthy_http_codes="200",
            interval=Duration.seconds(15),
            timeout=Duration.seconds(5),
            healthy_threshold_count=2,
            unhealthy_threshold_count=3,
        ),
        deregistration_delay=Duration.seconds(30),
    )
    security_group.add_ingress_rule(
        balancer_group, ec2.Port.tcp(API_PORT), "API traffic from the load balancer"
    )
    balancer_group.add_egress_rule(security_group, ec2.Port.tcp(API_PORT), "to the API tasks")

    scaling = service.auto_scale_task_count(
        min_capacity=config.api_min_tasks, max_capacity=config.api_max_tasks
    )
    scaling.scale_on_cpu_utilization(
        "Cpu",
        target_utilization_percent=60,
        scale_in_cooldown=Duration.minutes(5),
        scale_out_cooldown=Duration.minutes(1),
    )
    scaling.scale_on_request_count(
        "Requests",
        requests_per_target=config.api_requests_per_task,
        target_group=target_group,
        scale_in_cooldown=Duration.minutes(5),
        scale_out_cooldown=Duration.minutes(1),
    )

    if zone is not None:
        route53.ARecord(
            scope,
            "ApiRecord",
            zone=zone,
            record_name=config.domain_name,
            target=route53.RecordTarget.from_alias(
                route53_targets.LoadBalancerTarget(load_balancer)
            ),
        )
    return ApiService(service, load_balancer, target_group, https)
