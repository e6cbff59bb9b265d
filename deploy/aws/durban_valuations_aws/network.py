"""The VPC: public subnets for the load balancer and NAT, private ones for tasks, isolated
ones for the database, in two availability zones, with flow logs."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from durban_valuations_aws.config import EnvironmentConfig


def build_vpc(
    scope: Construct, config: EnvironmentConfig, key: kms.IKey, retention: logs.RetentionDays
) -> ec2.Vpc:
    """Return a VPC over two zones with flow logs of rejected and accepted traffic."""
    vpc = ec2.Vpc(
        scope,
        "Vpc",
        max_azs=2,
        nat_gateways=config.nat_gateways,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
            ec2.SubnetConfiguration(
                name="tasks", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
            ),
            ec2.SubnetConfiguration(
                name="database", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
            ),
        ],
        restrict_default_security_group=True,
    )
    flow_log_group = logs.LogGroup(
        scope,
        "FlowLogs",
        log_group_name=f"/durban-valuations/{config.name}/vpc-flow-logs",
        retention=retention,
        encryption_key=key,
        removal_policy=RemovalPolicy.DESTROY,
    )
    vpc.add_flow_log(
        "FlowLog",
        destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group),
        traffic_type=ec2.FlowLogTrafficType.ALL,
    )
    return vpc
