"""A SageMaker model package group: the environment's model registry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import RemovalPolicy, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker

from constructs import Construct
from ml_constructs.nag import acknowledge_wildcard_resource

PENDING_APPROVAL = "PendingManualApproval"


@dataclass(frozen=True)
class ModelRegistryProps:
    group_name: str
    description: str
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    """Registered versions are the record of what was trained and approved: keep them."""
    shared_with_accounts: Sequence[str] = field(default_factory=tuple)
    """Accounts that may read the versions, to create models of their own from them (approval
    stays here). CreateModel itself acts on the caller's model, not on the package (IAM Service
    Authorization Reference), so it belongs in their policies, not in this one."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Versions registered in the group carry the group's tags (CreateModelPackage takes no tags
    of its own when it names a group)."""


class ModelRegistry(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: ModelRegistryProps) -> None:
        super().__init__(scope, construct_id)
        self.group_name = props.group_name
        stack = Stack.of(self)
        self.group_arn = stack.format_arn(service="sagemaker", resource="model-package-group", resource_name=props.group_name)
        self.versions_arn = stack.format_arn(service="sagemaker", resource="model-package", resource_name=f"{props.group_name}/*")
        group = sagemaker.CfnModelPackageGroup(
            self,
            "Group",
            model_package_group_name=props.group_name,
            model_package_group_description=props.description,
            model_package_group_policy=self._sharing_policy(props.shared_with_accounts, stack.partition)
            if props.shared_with_accounts
            else None,
        )
        group.apply_removal_policy(props.removal_policy)
        for key, value in sorted(props.tags.items()):
            Tags.of(group).add(key, value)

    def _sharing_policy(self, accounts: Sequence[str], partition: str) -> dict[str, object]:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ServeVersionsInOtherAccounts",
                    "Effect": "Allow",
                    "Principal": {"AWS": [f"arn:{partition}:iam::{account}:root" for account in accounts]},
                    "Action": [
                        "sagemaker:DescribeModelPackageGroup",
                        "sagemaker:DescribeModelPackage",
                        "sagemaker:ListModelPackages",
                    ],
                    "Resource": [self.group_arn, self.versions_arn],
                }
            ],
        }

    def grant_register(self, grantee: iam.IGrantable) -> None:
        """Register new versions in this group, pending approval only: approving is a person's
        decision, so a request that registers a version as ``Approved`` is refused.

        ``sagemaker:ModelApprovalStatus`` is a condition key of CreateModelPackage (Service
        Authorization Reference, "Actions, resources, and condition keys for Amazon SageMaker AI",
        https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html;
        tests/test_iam_contracts.py checks it against the reference).
        """
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sagemaker:CreateModelPackage"],
                resources=[self.versions_arn],
                conditions={"StringEquals": {"sagemaker:ModelApprovalStatus": PENDING_APPROVAL}},
            )
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["sagemaker:DescribeModelPackageGroup"], resources=[self.group_arn])
        )
        if isinstance(grantee, Construct):
            acknowledge_wildcard_resource(
                grantee, self.versions_arn, f"Version numbers are assigned at registration; limited to group {self.group_name}."
            )
