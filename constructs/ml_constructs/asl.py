"""Small builders for Amazon States Language in JSONata mode.

State machines here are written as ASL (dicts) rather than chained CDK task classes: the
SageMaker tasks need fields the CDK classes do not expose (managed spot, checkpoints, network
isolation on every job), and a definition that reads like the document Step Functions runs is
easier to review and to test.
"""

from __future__ import annotations

from typing import Any

State = dict[str, Any]

SAGEMAKER_RETRY: State = {
    # Optimized SageMaker integrations report throttling, limits and validation alike as
    # AmazonSageMakerException; a few retries with backoff absorb throttling bursts.
    "ErrorEquals": ["SageMaker.AmazonSageMakerException", "SageMaker.ThrottlingException"],
    "IntervalSeconds": 5,
    "BackoffRate": 2.0,
    "MaxAttempts": 4,
    "JitterStrategy": "FULL",
}


def throttling_retry(service: str) -> State:
    """Retry an AWS SDK integration's throttling errors (``<Service>.<Exception>`` names)."""
    return {
        "ErrorEquals": [f"{service}.ThrottlingException", f"{service}.TooManyRequestsException", f"{service}.SdkClientException"],
        "IntervalSeconds": 2,
        "BackoffRate": 2.0,
        "MaxAttempts": 5,
        "JitterStrategy": "FULL",
    }


def catch_all(next_state: str) -> State:
    """Record the error in ``$failure`` and go to ``next_state`` (the failure notification)."""
    return {"ErrorEquals": ["States.ALL"], "Assign": {"failure": "{% $states.errorOutput %}"}, "Next": next_state}


def jsonata(expression: str) -> str:
    return "{% " + expression + " %}"


def quote(value: str) -> str:
    """A JSONata string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def failure(error: str, cause_expression: str, next_state: str) -> State:
    """A Pass state that sets ``$failure`` like a caught error, for failures found by the logic."""
    return {
        "Type": "Pass",
        "Assign": {"failure": {"Error": error, "Cause": jsonata(cause_expression)}},
        "Next": next_state,
    }


def notify_and_fail(topic_arn: str, subject: str, context_expression: str, fail_state: str) -> dict[str, State]:
    """Publish ``$failure`` with context to the topic, then fail with the same error and cause."""
    return {
        "NotifyFailure": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Arguments": {
                "TopicArn": topic_arn,
                "Subject": subject,
                "Message": jsonata(
                    "$string($merge([" + context_expression + ", {'error': $failure.Error, 'cause': $failure.Cause,"
                    " 'execution': $states.context.Execution.Id}]), true)"
                ),
            },
            "Retry": [throttling_retry("Sns")],
            # The run fails either way; a lost notification must not hide the original error.
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": fail_state}],
            "Next": fail_state,
        },
        fail_state: {"Type": "Fail", "Error": jsonata("$failure.Error"), "Cause": jsonata("$failure.Cause")},
    }


def resolve_folder(
    *,
    name: str,
    variable: str,
    input_key: str,
    folder_prefix: str,
    job_name_prefix: str,
    next_state: str,
    failure_state: str = "NotifyFailure",
) -> dict[str, State]:
    """States ``Resolve<name>`` → ``Check<name>`` that set ``$<variable>`` and ``$jobName``.

    The run starts with ``{"<input_key>": "<folder_prefix><folder>/"}`` (by hand, on a schedule)
    or ``{"marker_key": "<folder_prefix><folder>/_SUCCESS"}`` (the S3 trigger); anything else
    fails with ``InvalidInput`` and says what was expected.
    """
    escaped = folder_prefix.replace("/", "\\/").replace(".", "\\.")
    return {
        f"Resolve{name}": {
            "Type": "Pass",
            "Comment": f"Accept {{{input_key}}} (manual, schedule) or {{marker_key}} (S3 trigger); name the job after the execution.",
            "Assign": {
                variable: jsonata(
                    "$exists($states.input.marker_key) ? $substringBefore($states.input.marker_key, '_SUCCESS')"
                    f" : ($exists($states.input.{input_key}) ? $string($states.input.{input_key}) : '')"
                ),
                # SageMaker job names: 63 characters of [A-Za-z0-9-]; execution names are unique.
                "jobName": jsonata(
                    f"{quote(job_name_prefix + '-')} & $substring($replace($states.context.Execution.Name, /[^A-Za-z0-9-]/, '-'),"
                    f" 0, {62 - len(job_name_prefix)})"
                ),
            },
            "Next": f"Check{name}",
        },
        f"Check{name}": {
            "Type": "Choice",
            "Choices": [{"Condition": jsonata(f"$contains(${variable}, /^{escaped}[A-Za-z0-9._=-]+\\/$/)"), "Next": next_state}],
            "Default": "InvalidInput",
        },
        "InvalidInput": failure(
            "InvalidInput",
            f'\'Start the pipeline with {{"{input_key}": "{folder_prefix}<name>/"}}; got \' & $string($states.input)',
            failure_state,
        ),
    }


def notify_and_succeed(topic_arn: str, subject: str, message_expression: str, output_expression: str) -> dict[str, State]:
    """Publish the outcome (``message_expression`` builds a JSON object), then succeed with ``output_expression``."""
    return {
        "NotifySuccess": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Arguments": {"TopicArn": topic_arn, "Subject": subject, "Message": jsonata(f"$string({message_expression}, true)")},
            "Retry": [throttling_retry("Sns")],
            "Output": jsonata(output_expression),
            "Next": "Succeeded",
        },
        "Succeeded": {"Type": "Succeed"},
    }
