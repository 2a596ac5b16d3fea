"""cdk-nag acknowledgments that travel with the grant that needs them.

A prefix-scoped grant (``bucket/training/*``) is the narrowest S3 permission there is, but
AwsSolutions-IAM5 reports every ``*`` in a resource. The construct that writes such a statement
knows why it is scoped the way it is, so it records the acknowledgment itself, for that exact
resource string and nothing broader.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Token, Validations

from constructs import IConstruct


def acknowledge_wildcard_resource(scope: IConstruct, resource: str, reason: str) -> None:
    """Acknowledge AwsSolutions-IAM5 for one literal resource ARN on ``scope``'s policies.

    Tokens (unresolved ARNs) are never acknowledged: their rendering is only known after
    synthesis, and a finding that cannot be matched exactly must stay visible.
    """
    if Token.is_unresolved(resource):
        return
    Validations.of(scope).acknowledge(Acknowledgment(id=f"AwsSolutions::AwsSolutions-IAM5[Resource::{resource}]", reason=reason))


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"
