"""Small builders for Amazon States Language in JSONata mode.

State machines here are written as ASL (dicts) rather than chained CDK task classes: the
SageMaker tasks need fields the CDK classes do not expose (managed spot, checkpoints, network
isolation on every job), and a definition that reads like the document Step Functions runs is
easier to review and to test.
"""

from __future__ import annotations

from typing import Any

State = dict[str, Any]

FOLDER_NAME_MAX = 200
"""Dataset and input-set folder names: they end up in tag values (at most 256 characters)."""

# Step Functions names an integration's errors <Prefix>.<ErrorName>Exception; names that never
# occur never match, so each integration retries the names it really reports (the facts and
# their sources: ml_constructs.aws_facts.requests; tests/test_api_contracts.py holds this to them).
RETRYABLE_ERRORS: dict[str, list[str]] = {
    # Optimized SageMaker integrations report throttling, limits and validation alike as
    # AmazonSageMakerException (the Step Functions guide's training example retries it).
    "SageMaker": ["SageMaker.AmazonSageMakerException"],
    # aws-sdk:sagemaker: throttling is not an error shape in SageMaker's model, so it arrives as
    # the service's base exception; SdkClientException is a connection failure or timeout.
    "SageMakerSdk": ["SageMaker.SageMakerException", "SageMaker.SdkClientException"],
    # aws-sdk:s3: SlowDown (503) and InternalError (500) are not modeled either: S3Exception.
    "S3": ["S3.S3Exception", "S3.SdkClientException"],
    # Optimized sns:publish: SNS's own throttling and internal errors.
    "SNS": ["SNS.ThrottledException", "SNS.KMSThrottlingException", "SNS.InternalErrorException"],
    # aws-sdk:sfn: Step Functions' own throttling is not modeled either: SfnException.
    "Sfn": ["Sfn.SfnException", "Sfn.SdkClientException"],
    "CloudWatchLogs": [
        "CloudWatchLogs.ThrottlingException",
        "CloudWatchLogs.ServiceUnavailableException",
        "CloudWatchLogs.SdkClientException",
    ],
}

SAGEMAKER_RETRY: State = {
    "ErrorEquals": RETRYABLE_ERRORS["SageMaker"],
    "IntervalSeconds": 5,
    "BackoffRate": 2.0,
    "MaxAttempts": 4,
    "JitterStrategy": "FULL",
}


def throttling_retry(integration: str) -> State:
    """Retry an integration's transient errors (keys of ``RETRYABLE_ERRORS``), a bounded number
    of times: some of these names also cover permanent errors (S3Exception includes AccessDenied)."""
    return {
        "ErrorEquals": RETRYABLE_ERRORS[integration],
        "IntervalSeconds": 2,
        "BackoffRate": 2.0,
        "MaxAttempts": 5,
        "JitterStrategy": "FULL",
    }


def s3_task(operation: str, arguments: dict[str, Any] | str, assign: dict[str, Any], next_state: str) -> State:
    """An ``aws-sdk:s3`` Task that retries S3's transient errors and sends any failure to the notification."""
    return {
        "Type": "Task",
        "Resource": f"arn:aws:states:::aws-sdk:s3:{operation}",
        "Arguments": arguments,
        "Assign": assign,
        "Retry": [throttling_retry("S3")],
        "Catch": [catch_all("NotifyFailure")],
        "Next": next_state,
    }


def catch_all(next_state: str) -> State:
    """Record the error in ``$failure`` and go to ``next_state`` (the failure notification)."""
    return {"ErrorEquals": ["States.ALL"], "Assign": {"failure": "{% $states.errorOutput %}"}, "Next": next_state}


def data_objects(contents: str) -> str:
    """JSONata: the objects of a listing (``Contents``) that are data files: not empty, not hidden
    (``.name``) and not markers (``_SUCCESS``) — the files train.py and the transform read."""
    return f"{contents}[Size > 0 and $not($contains(Key, /(^|\\/)[_.][^\\/]*$/))]"


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
            "Retry": [throttling_retry("SNS")],
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
    name_room: int = 0,
) -> dict[str, State]:
    """States ``Resolve<name>`` → ``Check<name>`` that set ``$<variable>`` and ``$jobName``.

    The run starts with ``{"<input_key>": "<folder_prefix><folder>/"}`` (by hand, on a schedule)
    or ``{"marker_key": "<folder_prefix><folder>/_SUCCESS"}`` (the S3 trigger); anything else
    fails with ``InvalidInput`` and says what was expected. ``name_room`` characters of the job
    name are left free for a suffix the pipeline adds (``-<n>``).
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
                # SageMaker job names match ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}: at most 63 characters
                # of [A-Za-z0-9-], never ending in '-' (an execution name ending in '_', or a cut
                # that lands on a '-'). Execution names are unique, so job names are too.
                "jobName": jsonata(
                    f"$replace({quote(job_name_prefix + '-')} & $substring($replace($states.context.Execution.Name, /[^A-Za-z0-9-]/, '-'),"
                    f" 0, {62 - len(job_name_prefix) - name_room}), /-+$/, '')"
                ),
            },
            "Next": f"Check{name}",
        },
        f"Check{name}": {
            "Type": "Choice",
            # At most FOLDER_NAME_MAX characters: the folder goes into a tag value (256 at most).
            "Choices": [
                {
                    "Condition": jsonata(f"$contains(${variable}, /^{escaped}[A-Za-z0-9._=-]{{1,{FOLDER_NAME_MAX}}}\\/$/)"),
                    "Next": next_state,
                }
            ],
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
            "Retry": [throttling_retry("SNS")],
            "Output": jsonata(output_expression),
            "Next": "Succeeded",
        },
        "Succeeded": {"Type": "Succeed"},
    }
