"""Least-privilege execution roles for SageMaker jobs and models."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import jsii
from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from constructs import Construct
from ml_constructs.nag import acknowledge_wildcard_resource

SageMakerLogKind = Literal["TrainingJobs", "TransformJobs", "ProcessingJobs", "Endpoints"]


@dataclass(frozen=True)
class SageMakerExecutionRoleProps:
    description: str
    log_kinds: Sequence[SageMakerLogKind] = ("TrainingJobs",)
    """Which ``/aws/sagemaker/<kind>`` log groups the containers write to."""
    endpoint_name: str | None = None
    """Endpoints log to a group of their own, ``/aws/sagemaker/Endpoints/<name>``; without a name,
    any endpoint's group (a model that may be hosted anywhere)."""
    publishes_metrics: bool = True
    """Jobs and hosted models publish metrics to CloudWatch (the CreateTrainingJob and CreateModel
    execution role permissions in the SageMaker Developer Guide both list PutMetricData)."""


@jsii.implements(iam.IGrantable)
class SageMakerExecutionRole(Construct):
    """The role SageMaker assumes to run a job or host a model.

    Starts with logging only; data access is granted by the resources themselves
    (``SecureBucket.grant_read_prefix(role, ...)``), images by :meth:`allow_image_pull`.
    """

    def __init__(self, scope: Construct, construct_id: str, props: SageMakerExecutionRoleProps) -> None:
        super().__init__(scope, construct_id)
        if not props.log_kinds:
            raise ValueError("SageMakerExecutionRoleProps.log_kinds: give at least one of TrainingJobs, TransformJobs, Endpoints")
        stack = Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            description=props.description,
            # Confused-deputy guard: only SageMaker acting for this account may assume the role.
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}),
        )
        # SageMaker Developer Guide, "Log groups and streams that Amazon SageMaker AI sends to
        # Amazon CloudWatch Logs": jobs share /aws/sagemaker/<kind>, each endpoint has its own group.
        group_names = [
            f"/aws/sagemaker/Endpoints/{props.endpoint_name or '*'}" if kind == "Endpoints" else f"/aws/sagemaker/{kind}"
            for kind in props.log_kinds
        ]
        log_groups = [
            stack.format_arn(service="logs", resource="log-group", resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME)
            for name in group_names
        ]
        self.role.add_to_policy(iam.PolicyStatement(actions=["logs:CreateLogGroup", "logs:DescribeLogStreams"], resources=log_groups))
        for group in log_groups:
            if "*" in group:
                acknowledge_wildcard_resource(self, group, "The log group of whichever endpoint hosts the model; endpoint groups only.")
        log_streams = [f"{arn}:log-stream:*" for arn in log_groups]
        self.role.add_to_policy(iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=log_streams))
        for streams in log_streams:
            acknowledge_wildcard_resource(
                self, streams, "SageMaker names a log stream per job and instance at run time; scoped to its log group."
            )
        self._wildcard_actions: list[str] = []
        if props.publishes_metrics:
            # cloudwatch:PutMetricData has no resource-level permissions; the namespace condition
            # is the available scope.
            self._allow_on_any_resource("cloudwatch:PutMetricData")
            self.role.add_to_policy(
                iam.PolicyStatement(
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
                )
            )

    @property
    def role_arn(self) -> str:
        return self.role.role_arn

    @property
    def grant_principal(self) -> iam.IPrincipal:
        return self.role  # a Role is its own grant principal; no round trip to jsii for it

    def allow_metric_namespaces(self, patterns: Sequence[str]) -> None:
        """Publish metrics to namespaces matching ``patterns`` (``StringLike``), for containers whose
        metrics live outside ``/aws/sagemaker/*`` (Model Monitor's, for example)."""
        self._allow_on_any_resource("cloudwatch:PutMetricData")
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"], resources=["*"], conditions={"StringLike": {"cloudwatch:namespace": list(patterns)}}
            )
        )

    def allow_image_pull(self, registry_account: str, repository: str) -> None:
        """Pull one ECR repository's images (e.g. AWS's ``sagemaker-xgboost`` in the region's registry)."""
        stack = Stack.of(self)
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                resources=[stack.format_arn(service="ecr", account=registry_account, resource="repository", resource_name=repository)],
            )
        )
        self._allow_on_any_resource("ecr:GetAuthorizationToken")
        self.role.add_to_policy(iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]))

    def allow_volume_encryption(self, key: kms.IKey) -> None:
        """Let SageMaker attach storage volumes encrypted with ``key`` (a job's ``VolumeKmsKeyId``,
        an endpoint config's ``KmsKeyId``): it creates a grant on the key for the instance.

        Only grants for AWS resources (``kms:GrantIsForAWSResource``), never for a principal.
        Documented for training jobs (SageMaker Developer Guide, "How to use SageMaker AI
        execution roles", CreateTrainingJob: "If you specify a volume KMS key in the resource
        configuration of your training job, add ... kms:CreateGrant",
        https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html). For transform jobs
        and endpoints AWS names no role (CreateEndpointConfig's KmsKeyId speaks of the caller's):
        granted there too as the same narrow grant, so the volume works whichever role SageMaker uses.
        """
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:CreateGrant"], resources=[key.key_arn], conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}}
            )
        )

    def allow_alarm_reads(self, alarm_arns: Sequence[str]) -> None:
        """Let SageMaker read these alarms: an endpoint update with auto-rollback watches them
        with the execution role of the endpoint's model (SageMaker Developer Guide, "Auto-Rollback
        Configuration and Monitoring", https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html)."""
        self.role.add_to_policy(iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=list(alarm_arns)))

    def allow_vpc_networking(self) -> None:
        """Let SageMaker attach the job's or model's network interfaces in your subnets."""
        actions = [
            "ec2:CreateNetworkInterface",
            "ec2:CreateNetworkInterfacePermission",
            "ec2:DeleteNetworkInterface",
            "ec2:DeleteNetworkInterfacePermission",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeVpcs",
            "ec2:DescribeDhcpOptions",
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups",
        ]
        for action in actions:
            self._allow_on_any_resource(action)
        self.role.add_to_policy(iam.PolicyStatement(actions=actions, resources=["*"]))

    def _allow_on_any_resource(self, action: str) -> None:
        # One acknowledgment covers every Resource::* statement of the role, so its reason
        # lists each action that needs it (none of them supports resource-level permissions).
        self._wildcard_actions.append(action)
        acknowledge_wildcard_resource(
            self, "*", f"{', '.join(self._wildcard_actions)}: no resource-level permissions exist for these actions."
        )

    def grant_pass_role(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` hand this role to SageMaker, and to no other service."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["iam:PassRole"],
            resource_arns=[self.role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        )
