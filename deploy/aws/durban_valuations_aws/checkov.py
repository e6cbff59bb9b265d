"""Skip a checkov check on one resource, with the reason next to the resource.

checkov reads `Metadata.checkov.skip` of a CloudFormation resource; each skip made through
`skip_check` carries its justification, and the tests require one.
"""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import CfnResource, IAspect
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

# Checks that fail on the Lambda functions the CDK adds to run a deployment step (the
# default security group's rules are removed by one), which this app does not write.
DEPLOYMENT_HANDLER_CHECKS = {
    "CKV_AWS_115": "runs once per deployment; a concurrency reservation would only take "
    "capacity from the account",
    "CKV_AWS_116": "CloudFormation invokes it synchronously and reports its failure; a "
    "dead-letter queue would never receive anything",
    "CKV_AWS_117": "it calls only the EC2 API during deployments and reads no data; "
    "placing it in the VPC would need a NAT route for nothing",
    "CKV_AWS_173": "its environment holds no secret, only the handler's settings",
}


def skip_check(construct: IConstruct, check_id: str, reason: str) -> None:
    """Tell checkov to skip `check_id` on the CloudFormation resource of `construct`."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to annotate")
    metadata: dict[str, Any] = resource.get_metadata("checkov") or {"skip": []}
    metadata["skip"].append({"id": check_id, "comment": reason})
    resource.add_metadata("checkov", metadata)


@jsii.implements(IAspect)
class SkipDeploymentHandlerChecks:
    """Skip, with reasons, the Lambda checks that fail on the CDK's deployment handlers.

    Only functions of type `AWS::Lambda::Function` whose code the CDK provides (custom
    resource providers) are annotated; any function the app itself defined is left to
    checkov.
    """

    def visit(self, node: IConstruct) -> None:
        """Annotate `node` when it is a CDK custom resource provider's function."""
        if not isinstance(node, CfnResource) or node.cfn_resource_type != "AWS::Lambda::Function":
            return
        if isinstance(node, lambda_.CfnFunction):
            return
        for check_id, reason in DEPLOYMENT_HANDLER_CHECKS.items():
            skip_check(node, check_id, f"CDK deployment handler: {reason}")
