"""What every pipeline state machine here shares: logging, tracing, a bounded run time, and
the permissions of Step Functions' SageMaker ``.sync`` integrations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn

from constructs import Construct
from ml_constructs.encryption import allow_log_group_encryption
from ml_constructs.nag import acknowledge_wildcard_resource, partition_of

SageMakerJobKind = Literal["training-job", "transform-job", "processing-job"]
_SYNC_RULES = {
    "training-job": "StepFunctionsGetEventsForSageMakerTrainingJobsRule",
    "transform-job": "StepFunctionsGetEventsForSageMakerTransformJobsRule",
    "processing-job": "StepFunctionsGetEventsForSageMakerProcessingJobsRule",
}
# Step Functions Developer Guide, "IAM policies for using Amazon SageMaker AI"
# (https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html): the `.sync` job
# integrations create, describe, stop and list the tags of the job (AddTags comes with tags).
_JOB_ACTIONS = {
    "training-job": ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob", "sagemaker:ListTags"],
    "transform-job": ["sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob", "sagemaker:ListTags"],
    "processing-job": [
        "sagemaker:CreateProcessingJob",
        "sagemaker:DescribeProcessingJob",
        "sagemaker:StopProcessingJob",
        "sagemaker:ListTags",
    ],
}
# Step Functions delivers execution logs as vended logs, which needs a CloudWatch Logs resource
# policy naming the log group; the policies are size-limited, and a log group under
# /aws/vendedlogs/ is covered by one wildcard entry instead of growing them ("Logs sent to
# CloudWatch Logs", https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-CWL.html).
LOG_GROUP_PREFIX = "/aws/vendedlogs/states/"
_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True)
class PipelineStateMachineProps:
    definition: dict[str, Any]
    """An ASL document (JSONata); tokens in it are resolved by CloudFormation."""
    timeout: Duration
    name: str
    """Names the state machine and its execution log group ``/aws/vendedlogs/states/<name>``:
    unique in the account and Region."""
    encryption_key: kms.IKey
    """Encrypts the execution logs (they hold execution input and output); its key policy is extended for them."""
    retain_logs: bool = True
    """Keep execution logs a year and past the stack's deletion; otherwise a month, deleted with it."""


class PipelineStateMachine(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: PipelineStateMachineProps) -> None:
        super().__init__(scope, construct_id)
        if not _NAME.fullmatch(props.name):
            raise ValueError(f"PipelineStateMachineProps.name: {props.name!r} must be 1-64 letters, digits, '.', '_' or '-'")
        stack = Stack.of(self)
        # A literal name: the key policy (in the key's stack) names the log group it may encrypt.
        self.log_group_name = f"{LOG_GROUP_PREFIX}{props.name}"
        allow_log_group_encryption(props.encryption_key, [self.log_group_name])
        log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=self.log_group_name,
            encryption_key=props.encryption_key,
            retention=logs.RetentionDays.ONE_YEAR if props.retain_logs else logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.RETAIN if props.retain_logs else RemovalPolicy.DESTROY,
        )
        # A literal ARN: the role's trust names it, and a reference would make the role and the
        # state machine (which names its role) depend on each other.
        self.state_machine_arn = f"arn:{partition_of(stack.region)}:states:{stack.region}:{stack.account}:stateMachine:{props.name}"
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=props.name,
            # A definition given as a document does not get the `timeout` prop: it goes in here.
            definition_body=sfn.DefinitionBody.from_string(
                stack.to_json_string({**props.definition, "TimeoutSeconds": int(props.timeout.to_seconds())})
            ),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        acknowledge_wildcard_resource(
            self.state_machine,
            "*",
            "CloudWatch Logs delivery (logs:*LogDelivery*, logs:PutResourcePolicy, logs:Describe*) and X-Ray "
            "(xray:PutTraceSegments, xray:PutTelemetryRecords, xray:GetSampling*) have no resource-level permissions.",
        )
        self._bind_role_to_this_state_machine()

    def _bind_role_to_this_state_machine(self) -> None:
        """Only this state machine may assume its role, not any state machine of the account.

        CDK's default trust allows ``stateMachine:*`` of the account. Step Functions passes the
        state machine's ARN as ``aws:SourceArn`` when it assumes an execution role (AWS Step
        Functions Developer Guide, "Cross-service confused deputy prevention",
        https://docs.aws.amazon.com/step-functions/latest/dg/cross-service-confused-deputy-prevention.html).
        """
        stack = Stack.of(self)
        role = self.state_machine.role.node.default_child
        assert isinstance(role, iam.CfnRole)
        role.add_property_override(
            "AssumeRolePolicyDocument",
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "states.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": stack.account},
                            "ArnEquals": {"aws:SourceArn": self.state_machine_arn},
                        },
                    }
                ],
            },
        )

    def add_to_role_policy(self, statement: iam.PolicyStatement) -> None:
        self.state_machine.add_to_role_policy(statement)

    def allow_sagemaker(self, resource: str, name_prefix: str, actions: list[str]) -> None:
        """SageMaker ``actions`` (plus tagging) on resources named ``<name_prefix>-*``."""
        arn = Stack.of(self).format_arn(service="sagemaker", resource=resource, resource_name=f"{name_prefix}-*")
        self.add_to_role_policy(iam.PolicyStatement(actions=[*actions, "sagemaker:AddTags"], resources=[arn]))
        acknowledge_wildcard_resource(
            self.state_machine, arn, f"Names are generated per run under the {name_prefix}- prefix; limited to that prefix."
        )

    def allow_log_search(self, log_group_name: str) -> None:
        """Search one log group's events (FilterLogEvents), e.g. a failed job's own log lines."""
        group = Stack.of(self).format_arn(
            service="logs", resource="log-group", resource_name=log_group_name, arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        # The same group, as IAM sees it for log-group and for log-stream level requests.
        self.add_to_role_policy(iam.PolicyStatement(actions=["logs:FilterLogEvents"], resources=[group, f"{group}:*"]))
        acknowledge_wildcard_resource(self.state_machine, f"{group}:*", f"The streams of log group {log_group_name} only.")

    def allow_sagemaker_job_sync(self, kind: SageMakerJobKind, name_prefix: str) -> None:
        """Start, watch and stop jobs named ``<name_prefix>-*`` with ``.sync``."""
        self.allow_sagemaker(kind, name_prefix, _JOB_ACTIONS[kind])
        # `.sync` waits on SageMaker's job events through a rule Step Functions manages.
        rule = Stack.of(self).format_arn(service="events", resource="rule", resource_name=_SYNC_RULES[kind])
        self.add_to_role_policy(
            iam.PolicyStatement(actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"], resources=[rule])
        )
