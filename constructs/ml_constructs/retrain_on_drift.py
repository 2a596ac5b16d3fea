"""Retrain when the traffic drifts: the drift alarm's state change starts the training pipeline.

    EventBridge (CloudWatch Alarm State Change, the alarm, into ALARM)
      → <prefix>-retrain-on-drift (Step Functions): ListRunningTrainings → OneRunAtATime
          → StartTraining (named after the event: a redelivered event starts nothing new)
          | AlreadyTraining (a run is in progress: nothing to do)

No Lambda: Step Functions' SDK integration lists the pipeline's running executions and starts one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn

from constructs import Construct
from ml_constructs.asl import State, jsonata, throttling_retry
from ml_constructs.pipeline import PipelineStateMachine, PipelineStateMachineProps
from ml_constructs.triggers import start_with_retries

EXECUTION_NAME_PREFIX = "drift-"
ALARM_EVENT = {"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change"}
"""Amazon CloudWatch User Guide, "Alarm events and EventBridge": every state change of an alarm
(composite alarms included) is an event with the alarm's ARN in ``resources`` and the new state in
``detail.state.value`` (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html)."""


@dataclass(frozen=True)
class RetrainOnDriftProps:
    name_prefix: str
    alarm_name: str
    """The alarm (composite or not) whose move into ALARM means drift."""
    training_state_machine: sfn.IStateMachine
    training_state_machine_arn: str
    """Literal: the guard's policy and definition name it."""
    dataset: str
    """The training pipeline's input folder, e.g. ``training/latest/``."""
    encryption_key: kms.IKey
    retain_logs: bool = True

    def __post_init__(self) -> None:
        if not re.fullmatch(r"training/[A-Za-z0-9._=-]{1,200}/", self.dataset):
            raise ValueError(f"RetrainOnDriftProps.dataset: {self.dataset!r} must be a training/<name>/ folder")


class RetrainOnDrift(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: RetrainOnDriftProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        stack = Stack.of(self)
        self.alarm_arn = stack.format_arn(
            service="cloudwatch", resource="alarm", resource_name=props.alarm_name, arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        self.guard = PipelineStateMachine(
            self,
            "Guard",
            PipelineStateMachineProps(
                definition=self.definition(),
                timeout=Duration.minutes(5),
                name=f"{props.name_prefix}-retrain-on-drift",
                encryption_key=props.encryption_key,
                retain_logs=props.retain_logs,
            ),
        )
        self.guard.add_to_role_policy(
            iam.PolicyStatement(actions=["states:ListExecutions", "states:StartExecution"], resources=[props.training_state_machine_arn])
        )
        self.rule_name = f"{props.name_prefix}-retrain-on-drift"
        self.rule = events.Rule(
            self,
            "Rule",
            rule_name=self.rule_name,
            description=f"Retrain when {props.alarm_name} goes into ALARM",
            event_pattern=events.EventPattern(
                source=[ALARM_EVENT["source"]],
                detail_type=[ALARM_EVENT["detail-type"]],
                resources=[self.alarm_arn],
                detail={"state": {"value": ["ALARM"]}},
            ),
        )
        self.dead_letters = start_with_retries(
            self.rule, self.rule_name, self.guard.state_machine, events.RuleTargetInput.from_event_path("$")
        )

    def definition(self) -> dict[str, Any]:
        p = self.props
        start_input = json.dumps({"dataset": p.dataset}).replace('"', "'")
        states: dict[str, State] = {
            "ListRunningTrainings": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sfn:listExecutions",
                "Arguments": {"StateMachineArn": p.training_state_machine_arn, "StatusFilter": "RUNNING", "MaxResults": 1},
                "Assign": {"running": jsonata("$count($states.result.Executions)")},
                "Retry": [throttling_retry("Sfn")],
                "Next": "OneRunAtATime",
            },
            "OneRunAtATime": {
                "Type": "Choice",
                "Choices": [{"Condition": jsonata("$running > 0"), "Next": "AlreadyTraining"}],
                "Default": "StartTraining",
            },
            "AlreadyTraining": {
                "Type": "Succeed",
                "Comment": "A run is in progress; it already trains on the newest data the dataset holds.",
                "Output": {"started": False, "reason": "a training run is in progress"},
            },
            "StartTraining": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sfn:startExecution",
                "Arguments": {
                    "StateMachineArn": p.training_state_machine_arn,
                    # The event's id: EventBridge may deliver an event twice, and a second
                    # StartExecution of the same name and input starts nothing new.
                    "Name": jsonata(f"'{EXECUTION_NAME_PREFIX}' & $states.input.id"),
                    "Input": jsonata(f"$string({start_input})"),
                },
                "Retry": [throttling_retry("Sfn")],
                "Catch": [{"ErrorEquals": ["Sfn.ExecutionAlreadyExistsException"], "Next": "AlreadyStarted"}],
                "Output": jsonata("{'started': true, 'execution': $states.result.ExecutionArn}"),
                "End": True,
            },
            "AlreadyStarted": {
                "Type": "Succeed",
                "Comment": "This event started its run before (the execution of that name has ended).",
                "Output": {"started": False, "reason": "this alarm event started a run already"},
            },
        }
        return {
            "Comment": f"Start the training pipeline on {p.dataset} when {p.alarm_name} fires, one run at a time",
            "QueryLanguage": "JSONata",
            "StartAt": "ListRunningTrainings",
            "States": states,
        }
