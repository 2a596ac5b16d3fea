"""EventBridge starts for pipelines: one run per complete S3 dataset, and schedules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import Acknowledgment, Duration, Stack, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from constructs import Construct
from ml_constructs.checkov import skip_checkov
from ml_constructs.storage import SecureBucket

MARKER_NAME = "_SUCCESS"
_RULE_NAME = re.compile(r"[\.\-_A-Za-z0-9]{1,64}")
"""EventBridge's rule name rule (botocore's events model, RuleName)."""


@dataclass(frozen=True)
class DatasetTriggerProps:
    bucket: SecureBucket
    """Must have EventBridge notifications on (``SecureBucketProps.event_bridge_enabled``)."""
    prefix: str
    """Datasets are folders ``<prefix><name>/``; writing ``<prefix><name>/_SUCCESS`` starts a run."""
    state_machine: sfn.IStateMachine
    description: str
    rule_name: str
    """Literal, so that the role EventBridge assumes can name the rule it acts for."""
    retry_attempts: int = 8
    max_event_age_hours: int = 6


class DatasetTrigger(Construct):
    """Starts the state machine once per complete dataset, when its ``_SUCCESS`` marker lands.

    Producers upload every file first and the marker last (as Spark and Hadoop jobs do), so a
    run never sees half a dataset and a thousand files do not start a thousand runs. The run
    receives ``{"marker_key": "<prefix><name>/_SUCCESS"}``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: DatasetTriggerProps) -> None:
        super().__init__(scope, construct_id)
        if not props.prefix.endswith("/") or "*" in props.prefix:
            raise ValueError(f"DatasetTriggerProps.prefix: {props.prefix!r} must be a folder prefix ending with '/'")
        self.event_pattern = events.EventPattern(
            source=["aws.s3"],
            detail_type=["Object Created"],
            detail={
                "bucket": {"name": [props.bucket.bucket_name]},
                "object": {"key": [{"wildcard": f"{props.prefix}*/{MARKER_NAME}"}]},
            },
        )
        self.rule = events.Rule(
            self, "Rule", rule_name=_checked_rule_name(props.rule_name), description=props.description, event_pattern=self.event_pattern
        )
        self.dead_letter_queue = start_with_retries(
            self.rule,
            props.rule_name,
            props.state_machine,
            events.RuleTargetInput.from_object({"marker_key": events.EventField.from_path("$.detail.object.key")}),
            retry_attempts=props.retry_attempts,
            max_event_age=Duration.hours(props.max_event_age_hours),
        )


@dataclass(frozen=True)
class ScheduledStartProps:
    schedule_expression: str
    state_machine: sfn.IStateMachine
    input: Mapping[str, Any]
    description: str
    rule_name: str


class ScheduledStart(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: ScheduledStartProps) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.Rule(
            self,
            "Rule",
            rule_name=_checked_rule_name(props.rule_name),
            description=props.description,
            schedule=events.Schedule.expression(props.schedule_expression),
        )
        self.dead_letter_queue = start_with_retries(
            self.rule, props.rule_name, props.state_machine, events.RuleTargetInput.from_object(dict(props.input))
        )


def start_with_retries(
    rule: events.Rule,
    rule_name: str,
    state_machine: sfn.IStateMachine,
    start_input: events.RuleTargetInput,
    retry_attempts: int = 8,
    max_event_age: Duration | None = None,
) -> sqs.Queue:
    """Make the rule start the state machine, retrying; what cannot be delivered goes to a queue
    beside the rule, which is returned."""
    scope: Construct = rule.node.scope  # type: ignore[assignment]
    queue = dead_letter_queue(scope, "DeadLetters")
    rule.add_target(
        targets.SfnStateMachine(
            state_machine,
            input=start_input,
            dead_letter_queue=queue,
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
            role=start_role(scope, rule_name),
        )
    )
    return queue


def start_role(scope: Construct, rule_name: str) -> iam.Role:
    """The role EventBridge assumes to start the state machine, for this rule only.

    EventBridge sets ``aws:SourceArn`` to the ARN of the rule that sends the event and
    ``aws:SourceAccount`` to its account (Amazon EventBridge User Guide, "Using IAM policy
    conditions in Amazon EventBridge", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html).
    The ARN is written from the rule's literal name: a reference to the rule would make the role
    and the rule (whose target names the role) depend on each other.
    """
    stack = Stack.of(scope)
    rule_arn = stack.format_arn(service="events", resource="rule", resource_name=rule_name)
    return iam.Role(
        scope,
        "StartRole",
        description=f"EventBridge starts the pipeline for rule {rule_name} only",
        assumed_by=iam.ServicePrincipal(
            "events.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": stack.account}, "ArnEquals": {"aws:SourceArn": rule_arn}},
        ),
    )


def _checked_rule_name(name: str) -> str:
    if not _RULE_NAME.fullmatch(name):
        raise ValueError(f"rule_name: {name!r} must be 1-64 letters, digits, '.', '-' or '_'")
    return name


def dead_letter_queue(scope: Construct, construct_id: str) -> sqs.Queue:
    """Where EventBridge puts starts it could not deliver: inspect and replay from here.

    Encrypted at rest with SSE-SQS rather than the environment's customer-managed key. A queue
    under a customer key takes EventBridge being allowed to use that key (Amazon SQS Developer
    Guide, "Amazon SQS Key management": event sources need a customer managed key whose policy
    lets the service call kms:GenerateDataKey and kms:Decrypt,
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html),
    and every operator who reads or replays a dead letter would need Decrypt on the key that
    protects the training data and models. A dead letter is a start request (an S3 event or a
    folder name), not data: the data key stays with the data, and a key policy mistake cannot
    make EventBridge drop the very events this queue exists to keep.
    """
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    skip_checkov(
        queue,
        "CKV_AWS_27",
        "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled), which checkov's CloudFormation check does not read "
        "(bridgecrewio/checkov#7381); a customer key would give EventBridge and every dead-letter reader use of the "
        "environment's data key for start requests (an S3 event or a folder name) that carry no training data.",
    )
    Validations.of(queue).acknowledge(
        Acknowledgment(
            id="AwsSolutions::AwsSolutions-SQS3",
            reason="This queue is itself the dead-letter queue of an EventBridge rule target; it needs no DLQ of its own.",
        )
    )
    return queue


@dataclass(frozen=True)
class PipelineStartsProps:
    bucket: SecureBucket
    prefix: str
    """Folders ``<prefix><name>/`` start a run when their ``_SUCCESS`` marker lands."""
    state_machine: sfn.IStateMachine
    what: str
    """What a run does, for rule descriptions: e.g. ``Train``."""
    input_key: str
    """The key of a manual or scheduled start's input: ``{"<input_key>": "<prefix><name>/"}``."""
    name_prefix: str
    """Rules are named ``<name_prefix>-marker`` and ``<name_prefix>-schedule``."""
    schedule_expression: str | None = None
    scheduled_folder: str | None = None


class PipelineStarts(Construct):
    """Everything that starts a folder-driven pipeline: the S3 marker rule and an optional schedule."""

    def __init__(self, scope: Construct, construct_id: str, props: PipelineStartsProps) -> None:
        super().__init__(scope, construct_id)
        if bool(props.schedule_expression) != bool(props.scheduled_folder):
            raise ValueError("PipelineStartsProps: give schedule_expression and scheduled_folder together, or neither")
        self.marker = DatasetTrigger(
            self,
            "Marker",
            DatasetTriggerProps(
                bucket=props.bucket,
                prefix=props.prefix,
                state_machine=props.state_machine,
                rule_name=f"{props.name_prefix}-marker",
                description=f"{props.what} when s3://{props.bucket.bucket_name}/{props.prefix}<name>/{MARKER_NAME} lands",
            ),
        )
        self.schedule: ScheduledStart | None = None
        if props.schedule_expression and props.scheduled_folder:
            self.schedule = ScheduledStart(
                self,
                "Schedule",
                ScheduledStartProps(
                    schedule_expression=props.schedule_expression,
                    state_machine=props.state_machine,
                    input={props.input_key: props.scheduled_folder},
                    rule_name=f"{props.name_prefix}-schedule",
                    description=f"{props.what} {props.scheduled_folder} ({props.schedule_expression})",
                ),
            )
