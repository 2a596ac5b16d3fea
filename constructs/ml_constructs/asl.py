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
