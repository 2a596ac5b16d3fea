"""Customer-managed KMS key shared by an environment's data at rest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from constructs import Construct
from ml_constructs.aws_facts.key_policies import CLOUDWATCH_LOGS


@dataclass(frozen=True)
class EncryptionKeyProps:
    alias: str
    """Alias without the ``alias/`` prefix, e.g. ``mlops-dev-data``."""
    description: str
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    """RETAIN keeps the key (and so every object it encrypted) readable after a stack deletion."""
    pending_window_days: int = 30
    """How long a scheduled key deletion waits (7-30 days): the last chance to cancel it."""


class EncryptionKey(Construct):
    """A symmetric customer-managed key with yearly rotation and an alias."""

    def __init__(self, scope: Construct, construct_id: str, props: EncryptionKeyProps) -> None:
        super().__init__(scope, construct_id)
        if props.alias.startswith("alias/") or not props.alias:
            raise ValueError(f"EncryptionKeyProps.alias: {props.alias!r} must be a non-empty name without the 'alias/' prefix")
        if not 7 <= props.pending_window_days <= 30:
            raise ValueError(f"EncryptionKeyProps.pending_window_days: {props.pending_window_days} must be between 7 and 30")
        self.key = kms.Key(
            self,
            "Key",
            description=props.description,
            enable_key_rotation=True,
            alias=f"alias/{props.alias}",
            removal_policy=props.removal_policy,
            pending_window=Duration.days(props.pending_window_days),
        )


def allow_log_group_encryption(key: kms.IKey, log_group_names: Sequence[str]) -> None:
    """Let CloudWatch Logs encrypt and read these log groups with ``key``, and no other log group:
    the statement AWS documents (``aws_facts.key_policies.CLOUDWATCH_LOGS``), its encryption
    context condition naming each log group's ARN.

    The log groups are in the key's account and Region (CloudWatch Logs uses a key of its own
    Region only). Their names are literal: the key policy lives in the key's stack, which must
    not depend on the stacks that create the log groups.
    """
    stack = Stack.of(key)
    arns = [
        stack.format_arn(service="logs", resource="log-group", resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME)
        for name in log_group_names
    ]
    added = key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(CLOUDWATCH_LOGS.principal.format(region=stack.region))],
            actions=list(CLOUDWATCH_LOGS.actions),
            resources=["*"],
            conditions={"ArnEquals": {CLOUDWATCH_LOGS.context_key: arns}},
        )
    )
    if not added.statement_added:
        raise ValueError(
            f"allow_log_group_encryption: {key.node.path} has no key policy this app can change (an imported key?); "
            f"CloudWatch Logs could not use it for {', '.join(log_group_names)}"
        )
