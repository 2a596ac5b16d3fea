"""Opt-in retraining: off by default; when on, the drift alarm starts the training pipeline, one run at a time."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from config import EnvironmentConfig, load_environment
from tests.conftest import SynthesizedEnvironment, SynthesizedStack, synthesize
from tests.support import botocore_contracts as bc
from tests.support.asl import definition_of, evaluate, validate

EVENT_ID = "6a7e8feb-b491-4cf7-a9f1-bf3703467718"


def with_retraining(name: str) -> EnvironmentConfig:
    config = load_environment(name).model_dump()
    config["monitoring"]["drift"] |= {"retrain": True, "dataset": "training/latest/"}
    return EnvironmentConfig.model_validate(config)


@pytest.fixture(scope="module")
def retraining_environment(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedEnvironment:
    return synthesize([with_retraining("dev")], tmp_path_factory.mktemp("retrain"))["dev"]


@pytest.fixture(scope="module")
def retraining(retraining_environment: SynthesizedEnvironment) -> SynthesizedStack:
    return retraining_environment["Training"]


def guard_of(stack: SynthesizedStack) -> dict[str, Any]:
    (machine,) = [
        m
        for m in stack.resources("AWS::StepFunctions::StateMachine").values()
        if m["Properties"]["StateMachineName"].endswith("-retrain-on-drift")
    ]
    return definition_of(machine)


def test_retraining_is_off_by_default(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    for environment in synthesized.values():
        assert not environment.config.monitoring.drift.retrain
        names = [
            m["Properties"]["StateMachineName"] for m in environment["Training"].resources("AWS::StepFunctions::StateMachine").values()
        ]
        assert names == [f"{environment.config.prefix}-training"]
        assert not [r for r in environment["Training"].resources("AWS::Events::Rule") if "Retrain" in r]


def test_the_drift_alarm_going_into_alarm_starts_the_guard(retraining: SynthesizedStack) -> None:
    (rule,) = [r for r in retraining.resources("AWS::Events::Rule").values() if r["Properties"]["Name"] == "mlops-dev-retrain-on-drift"]
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "resources": ["arn:aws:cloudwatch:eu-west-1:111111111111:alarm:mlops-dev-data-drift"],
        "detail": {"state": {"value": ["ALARM"]}},
    }
    (target,) = rule["Properties"]["Targets"]
    assert "RetrainOnDriftGuard" in json.dumps(target["Arn"])
    assert "DeadLetterConfig" in target
    assert ("Input" not in target and "InputPath" not in target) or target.get("InputPath") == "$"


def test_the_guard_is_valid_asl_and_starts_one_run_at_a_time(retraining: SynthesizedStack) -> None:
    definition = guard_of(retraining)
    assert validate(definition) == []
    states = definition["States"]
    listing = states["ListRunningTrainings"]
    training_arn = "arn:aws:states:eu-west-1:111111111111:stateMachine:mlops-dev-training"
    assert listing["Arguments"] == {"StateMachineArn": training_arn, "StatusFilter": "RUNNING", "MaxResults": 1}
    one_running = {"Executions": [{"executionArn": f"{training_arn}:x"}]}
    running, idle = evaluate(
        [
            (listing["Assign"]["running"], {"states": {"result": one_running}}),
            (listing["Assign"]["running"], {"states": {"result": {"Executions": []}}}),
        ]
    )
    (choice,) = states["OneRunAtATime"]["Choices"]
    busy, free = evaluate([(choice["Condition"], {"running": running}), (choice["Condition"], {"running": idle})])
    assert (busy, choice["Next"], free, states["OneRunAtATime"]["Default"]) == (True, "AlreadyTraining", False, "StartTraining")
    assert states["AlreadyTraining"]["Type"] == "Succeed"


def test_the_start_request_is_one_step_functions_accepts(retraining: SynthesizedStack) -> None:
    start = guard_of(retraining)["States"]["StartTraining"]
    event = {"id": EVENT_ID, "source": "aws.cloudwatch", "detail": {"state": {"value": "ALARM"}}}
    name, start_input = evaluate([(start["Arguments"]["Name"], {"states": {"input": event}}), (start["Arguments"]["Input"], {})])
    request = {**start["Arguments"], "Name": name, "Input": start_input}
    assert json.loads(start_input) == {"dataset": "training/latest/"}, "the input the training pipeline's check accepts"
    assert name == f"drift-{EVENT_ID}", "a redelivered event names the same execution"
    integration = bc.integration_of(start["Resource"])
    assert bc.validate_request(integration, request) == []
    listing = guard_of(retraining)["States"]["ListRunningTrainings"]
    assert bc.validate_request(bc.integration_of(listing["Resource"]), listing["Arguments"]) == []
    assert start["Catch"][0]["ErrorEquals"] == ["Sfn.ExecutionAlreadyExistsException"]
    assert "ExecutionAlreadyExists" in {shape for shape in bc.service_model("stepfunctions").shape_names}


def test_the_guard_may_only_list_and_start_the_training_pipeline(retraining: SynthesizedStack) -> None:
    statements = [
        s
        for policy in retraining.resources("AWS::IAM::Policy").values()
        if any("RetrainOnDriftGuard" in role["Ref"] for role in policy["Properties"]["Roles"])
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    states_statements = [
        s for s in statements if any(a.startswith("states:") for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]]))
    ]
    assert states_statements == [
        {
            "Action": ["states:ListExecutions", "states:StartExecution"],
            "Effect": "Allow",
            "Resource": "arn:aws:states:eu-west-1:111111111111:stateMachine:mlops-dev-training",
        }
    ]


def test_retraining_needs_the_monitoring_it_listens_to(tmp_path: Path) -> None:
    config = load_environment("dev").model_dump()
    config["monitoring"]["drift"] |= {"retrain": True, "dataset": "training/latest/"}
    config["monitoring"]["data_quality"]["enabled"] = False
    with pytest.raises(ValueError, match=re.escape("monitoring.drift.retrain = True: allowed: only with monitoring.data_quality.enabled")):
        EnvironmentConfig.model_validate(config)


def test_the_retraining_policies_hold_to_the_iam_reference(retraining_environment: SynthesizedEnvironment) -> None:
    """The same checks as tests/test_iam_contracts.py, on the templates with retraining on (the
    shipped environments leave it off)."""
    from tests.support.iam_reference import (
        Template,
        environment_of,
        link,
        policies,
        reference,
        resource_mismatches,
        statements,
        unknown_actions,
        unknown_condition_keys,
    )

    templates = link(
        [
            Template(
                "environments",
                f"dev-{stack.name}",
                f"dev/{stack.name}",
                stack.template,
                environment_of(stack.directory, stack.template_file),
            )
            for stack in retraining_environment.stacks.values()
        ]
    )
    sar = reference()
    found = [
        str(finding)
        for template in templates
        for policy in policies(template)
        for statement in statements(policy)
        for check in (unknown_actions, resource_mismatches, unknown_condition_keys)
        for finding in check(statement, sar)
    ]
    assert found == []
    checked = {action for t in templates for p in policies(t) for st in statements(p) for action in st.actions}
    assert {"states:ListExecutions", "states:StartExecution"} <= checked
