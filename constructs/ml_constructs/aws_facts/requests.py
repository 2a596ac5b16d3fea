"""Rules for the API requests our state machines send that no machine-readable model states.

botocore's service models give every request member's type, length, range, enum and pattern;
the test suite reads those directly. What is left is written down here, each rule with where it
comes from:

- rules between members of one request that botocore only states in prose (its documentation
  strings): a rule quoting botocore names the shape, member and sentence, and the suite checks
  the sentence is still in botocore's model, so the rule cannot outlive its source;
- limits of Step Functions and S3 that bound what a state machine may send or receive;
- how Step Functions names the errors of its integrations, which decides whether a ``Retry`` or
  ``Catch`` can ever match.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class BotocoreDocumentation:
    """A sentence of botocore's documentation of ``<shape>.<member>`` (HTML tags removed)."""

    service: str
    shape: str
    member: str
    sentence: str


@dataclass(frozen=True)
class Page:
    """A published page and what it says, for facts botocore does not carry."""

    title: str
    url: str
    says: str


Source = BotocoreDocumentation | Page


# --- Rules between the members of one request ----------------------------------------------


@dataclass(frozen=True)
class MutuallyExclusive:
    """At most one of ``members`` may be present in the request."""

    service: str
    operation: str
    members: tuple[str, ...]
    source: Source


@dataclass(frozen=True)
class OneOfRequired:
    """At least one of ``members`` must be present in the request."""

    service: str
    operation: str
    members: tuple[str, ...]
    source: Source


@dataclass(frozen=True)
class MaxUtf8Bytes:
    """The member (a string) is at most ``limit`` bytes once encoded as UTF-8."""

    service: str
    operation: str
    member: str
    limit: int
    source: Source


@dataclass(frozen=True)
class SingleLineText:
    """The member (a string) has fewer than ``shorter_than`` characters and no control characters."""

    service: str
    operation: str
    member: str
    shorter_than: int
    source: Source


@dataclass(frozen=True)
class NotLessThan:
    """``member`` (a dotted path) is at least ``other`` (a dotted path) when both are present."""

    service: str
    operation: str
    member: str
    other: str
    source: Source


@dataclass(frozen=True)
class ProductAtMost:
    """The product of ``members`` (dotted paths, all present) is at most ``limit``."""

    service: str
    operation: str
    members: tuple[str, ...]
    limit: int
    source: Source


RequestRule = MutuallyExclusive | OneOfRequired | MaxUtf8Bytes | SingleLineText | NotLessThan | ProductAtMost

REQUEST_RULES: tuple[RequestRule, ...] = (
    MutuallyExclusive(
        "sagemaker",
        "CreateModelPackage",
        ("ModelPackageGroupName", "Tags"),
        BotocoreDocumentation(
            "sagemaker",
            "CreateModelPackageInput",
            "Tags",
            "If you supply ModelPackageGroupName, your model package belongs to the model group you specify and uses the "
            "tags associated with the model group. In this case, you cannot supply a tag argument.",
        ),
    ),
    MutuallyExclusive(
        "sagemaker",
        "CreateModelPackage",
        ("ModelPackageName", "ModelPackageGroupName"),
        BotocoreDocumentation(
            "sagemaker",
            "CreateModelPackageInput",
            "ModelPackageName",
            "This parameter is required for unversioned models. It is not applicable to versioned models.",
        ),
    ),
    NotLessThan(
        "sagemaker",
        "CreateTrainingJob",
        "StoppingCondition.MaxWaitTimeInSeconds",
        "StoppingCondition.MaxRuntimeInSeconds",
        BotocoreDocumentation(
            "sagemaker", "StoppingCondition", "MaxWaitTimeInSeconds", "It must be equal to or greater than MaxRuntimeInSeconds."
        ),
    ),
    ProductAtMost(
        "sagemaker",
        "CreateTransformJob",
        ("MaxConcurrentTransforms", "MaxPayloadInMB"),
        100,
        BotocoreDocumentation(
            "sagemaker",
            "CreateTransformJobRequest",
            "MaxPayloadInMB",
            "If you specify the MaxConcurrentTransforms parameter, the value of (MaxConcurrentTransforms * MaxPayloadInMB) "
            "also cannot exceed 100 MB.",
        ),
    ),
    OneOfRequired(
        "sns",
        "Publish",
        ("TopicArn", "TargetArn", "PhoneNumber"),
        BotocoreDocumentation(
            "sns",
            "PublishInput",
            "TopicArn",
            "If you don't specify a value for the TopicArn parameter, you must specify a value for the PhoneNumber or "
            "TargetArn parameters.",
        ),
    ),
    MaxUtf8Bytes(
        "sns",
        "Publish",
        "Message",
        262_144,
        # A topic can raise its MaximumMessageSize attribute up to 1 MiB; ours keep the default.
        BotocoreDocumentation(
            "sns",
            "PublishInput",
            "Message",
            "By default, a message can be at most 256 KiB in size (262,144 bytes, not 262,144 characters).",
        ),
    ),
    SingleLineText(
        "sns",
        "Publish",
        "Subject",
        100,
        BotocoreDocumentation(
            "sns",
            "PublishInput",
            "Subject",
            "Subjects must be UTF-8 text with no line breaks or control characters, and less than 100 characters long.",
        ),
    ),
)


# --- Limits of Step Functions and S3 ---------------------------------------------------------

PAYLOAD_LIMIT_BYTES = 262_144
PAYLOAD_LIMIT = Page(
    "Step Functions Developer Guide: Step Functions service quotas, quotas related to task executions",
    "https://docs.aws.amazon.com/step-functions/latest/dg/limits-overview.html",
    "Maximum input or output size for a task, state, or execution: 262,144 bytes of data as a UTF-8 encoded string. "
    "This quota affects tasks (activity, Lambda function, or integrated service), state or execution output, and input "
    "data when scheduling a task, entering a state, or starting an execution.",
)

EXECUTION_NAME_FORBIDDEN = BotocoreDocumentation(
    "stepfunctions",
    "StartExecutionInput",
    "name",
    'special characters " # % \\ ^ | ~ ` $ & , ; : /',
)
"""Execution names (at most the length botocore gives ``StartExecutionInput.name``) must not hold
white space, ``< > { } [ ]``, ``? *``, these special characters, control characters or
surrogates; everything else, non-ASCII letters included, is allowed."""
EXECUTION_NAME_FORBIDDEN_CHARACTERS = frozenset(' \t\n\r<>{}[]?*"#%\\^|~`$&,;:/')

EXECUTION_HISTORY_LIMIT_EVENTS = 25_000
EXECUTION_HISTORY_LIMIT = Page(
    "Step Functions Developer Guide: Step Functions service quotas, quotas related to state machine executions",
    "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html",
    "Execution history: 25,000 events in a single state machine execution history. "
    "Execution fails when it reaches the limit (Standard workflows).",
)

S3_KEY_MAX_BYTES = 1024
S3_KEY_LIMIT = Page(
    "Amazon S3 User Guide: Naming Amazon S3 objects",
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html",
    "The object key name consists of a sequence of Unicode characters encoded in UTF-8, with a maximum length of "
    "1,024 bytes; the prefix, the delimiter (/) and the name of the object are all included in that limit.",
)

SYNC_RESULTS: Mapping[tuple[str, str], str] = {
    ("sagemaker", "CreateTrainingJob"): "DescribeTrainingJob",
    ("sagemaker", "CreateTransformJob"): "DescribeTransformJob",
    ("sagemaker", "CreateProcessingJob"): "DescribeProcessingJob",
}
"""What a ``.sync`` SageMaker task returns: the job's Describe* response once the job ends."""
SYNC_RESULTS_SOURCE = Page(
    "Step Functions Developer Guide: Create and manage Amazon SageMaker AI jobs with Step Functions",
    "https://docs.aws.amazon.com/step-functions/latest/dg/connect-sagemaker.html",
    "The Run a Job (.sync) pattern waits for the job to complete; the task's result is the job's description.",
)


# --- Error names in Retry and Catch ------------------------------------------------------------

STATES_ERRORS = frozenset(
    {
        "States.ALL",
        "States.BranchFailed",
        "States.DataLimitExceeded",
        "States.ExceedToleratedFailureThreshold",
        "States.HeartbeatTimeout",
        "States.Http.Socket",
        "States.IntrinsicFailure",
        "States.ItemReaderFailed",
        "States.NoChoiceMatched",
        "States.ParameterPathFailure",
        "States.Permissions",
        "States.QueryEvaluationError",
        "States.ResultPathMatchFailure",
        "States.ResultWriterFailed",
        "States.Runtime",
        "States.TaskFailed",
        "States.Timeout",
    }
)
STATES_ERRORS_SOURCE = Page(
    "Step Functions Developer Guide: Handling errors in Step Functions workflows, Error names",
    "https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-error-representation",
    "The predefined error names all begin with States.; other names must not use that prefix. States.ALL matches "
    "any known error name except the terminal States.DataLimitExceeded and States.Runtime.",
)

EXCEPTION_SUFFIX = "Exception"
ERROR_NAME_RULE = Page(
    "Step Functions Developer Guide: Learning to use AWS service SDK integrations in Step Functions",
    "https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html#use-awssdk-integ",
    "An integration's error is named ServiceName.ErrorName, both in Pascal case. Always add the Exception suffix to "
    "the error name, even when the service's own name for the error has none: CreateBucket's BucketAlreadyExists is "
    "S3.BucketAlreadyExistsException. The page's table gives each service's exception prefix.",
)


@dataclass(frozen=True)
class ErrorNames:
    """How Step Functions names one integration's errors: ``<prefix>.<name>``, where ``name`` is an
    error shape of botocore's model of the service (with the ``Exception`` suffix), or one of
    ``unmodeled``: the SDK's catch-all names for errors the model does not declare."""

    prefix: str
    unmodeled: Mapping[str, str]
    """Name → which errors arrive under it."""
    sources: tuple[Page, ...]


@dataclass(frozen=True)
class AwsSdkService:
    """A service as ``arn:aws:states:::aws-sdk:<name>:<action>`` names it."""

    botocore: str
    """botocore's name for the service."""
    errors: ErrorNames


_SDK_CLIENT = {
    "SdkClientException": "errors on the caller's side of the SDK: connection failures and timeouts before a response",
}
_SDK_CLIENT_SOURCES = (
    Page(
        "Step Functions Developer Guide: Handle transient Lambda service exceptions",
        "https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html",
        "Transient service errors surface as ServiceException or SdkClientException (Lambda.SdkClientException).",
    ),
    Page(
        "cdklabs/construct-hub pull request 1904: retry reprocess list on transient S3 503 (S3.S3Exception)",
        "https://github.com/cdklabs/construct-hub/pull/1904",
        "aws-sdk:s3:listObjectsV2 retried on S3.SdkClientException (client-side errors); a throttled 503 "
        "(SlowDown/ServiceUnavailable) surfaces as S3.S3Exception, which that matcher missed.",
    ),
)
_UNMODELED_AS_SERVICE_EXCEPTION = Page(
    "localstack: Step Functions aws-sdk task errors (state_task_service_aws_sdk.py)",
    "https://github.com/localstack/localstack/blob/main/localstack/services/stepfunctions/asl/component/state/"
    "state_execution/state_task/service/state_task_service_aws_sdk.py",
    "An error the SDK models is <ServiceId>.<ErrorShape> with the Exception suffix added; any other service error is "
    "<ServiceId>.<ServiceId>Exception, the SDK's base exception for the service.",
)

AWS_SDK_SERVICES: Mapping[str, AwsSdkService] = {
    "s3": AwsSdkService(
        "s3",
        ErrorNames(
            "S3",
            {
                **_SDK_CLIENT,
                "S3Exception": "every S3 error code botocore does not model as a shape: SlowDown and ServiceUnavailable "
                "(503, throttling), InternalError (500), AccessDenied, InvalidRequest variants and the rest of S3's list",
            },
            (
                ERROR_NAME_RULE,
                Page(
                    "Amazon S3 API Reference: Error responses, List of error codes",
                    "https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList",
                    "SlowDown (503 Slow Down): reduce your request rate; InternalError (500): retry the request. "
                    "Neither is an error shape in botocore's S3 model.",
                ),
                *_SDK_CLIENT_SOURCES,
                _UNMODELED_AS_SERVICE_EXCEPTION,
            ),
        ),
    ),
    "sagemaker": AwsSdkService(
        "sagemaker",
        ErrorNames(
            "SageMaker",
            {
                **_SDK_CLIENT,
                "SageMakerException": "SageMaker's common errors botocore does not model: ThrottlingException "
                "(400, 'Rate exceeded'), ValidationException, InternalFailure, ServiceUnavailable",
            },
            (
                ERROR_NAME_RULE,
                Page(
                    "Amazon SageMaker API Reference: Common errors",
                    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/CommonErrors.html",
                    "Errors common to all actions include ThrottlingException (400, the request was denied due to request "
                    "throttling), ServiceUnavailable (503) and InternalFailure (500); botocore's SageMaker model declares "
                    "none of them as an error shape.",
                ),
                *_SDK_CLIENT_SOURCES,
                _UNMODELED_AS_SERVICE_EXCEPTION,
            ),
        ),
    ),
    "cloudwatchlogs": AwsSdkService(
        "logs",
        ErrorNames(
            "CloudWatchLogs",
            {**_SDK_CLIENT, "CloudWatchLogsException": "CloudWatch Logs errors botocore does not model"},
            (ERROR_NAME_RULE, *_SDK_CLIENT_SOURCES, _UNMODELED_AS_SERVICE_EXCEPTION),
        ),
    ),
    "sns": AwsSdkService(
        "sns",
        ErrorNames(
            "Sns",
            {**_SDK_CLIENT, "SnsException": "SNS errors botocore does not model"},
            (ERROR_NAME_RULE, *_SDK_CLIENT_SOURCES, _UNMODELED_AS_SERVICE_EXCEPTION),
        ),
    ),
    "sfn": AwsSdkService(
        "stepfunctions",
        ErrorNames(
            "Sfn",
            {**_SDK_CLIENT, "SfnException": "Step Functions errors botocore does not model"},
            (ERROR_NAME_RULE, *_SDK_CLIENT_SOURCES, _UNMODELED_AS_SERVICE_EXCEPTION),
        ),
    ),
}
"""The AWS SDK integrations this project may call; the prefixes are the Exception prefix column of
the Step Functions page's table (note Sns and Sfn, not SNS and SFN)."""

OPTIMIZED_ERRORS: Mapping[str, ErrorNames] = {
    "sagemaker": ErrorNames(
        "SageMaker",
        {
            "AmazonSageMakerException": "any SageMaker error the SDK does not model, throttling ('Rate exceeded', "
            "ThrottlingException) and validation errors included: the cause names the service's error code",
        },
        (
            Page(
                "Step Functions Developer Guide: Manage Amazon SageMaker training jobs with Step Functions, training job example",
                "https://docs.aws.amazon.com/step-functions/latest/dg/connect-sagemaker.html",
                "The createTrainingJob.sync example retries SageMaker.AmazonSageMakerException and "
                "SageMaker.ResourceLimitExceededException.",
            ),
            Page(
                "aws/aws-step-functions-data-science-sdk-python pull request 162 and issue 191",
                "https://github.com/aws/aws-step-functions-data-science-sdk-python/pull/162",
                "Rate exceeded (ThrottlingException) on the SageMaker steps arrives as SageMaker.AmazonSageMakerException; "
                "a Retry cannot tell throttling from other errors of that name.",
            ),
            ERROR_NAME_RULE,
        ),
    ),
    "sns": ErrorNames(
        "SNS",
        {},
        (
            Page(
                "localstack: Step Functions sns:publish task errors (state_task_service_sns.py)",
                "https://github.com/localstack/localstack/blob/main/localstack/services/stepfunctions/asl/component/state/"
                "state_execution/state_task/service/state_task_service_sns.py",
                "The optimized SNS integration names an error SNS.<ErrorCode> with the Exception suffix added "
                "(SNS.InvalidParameterException, SNS.NotFoundException); the cause reads (Service: AmazonSNS; Status "
                "Code: 400; Error Code: ...). Unlike the aws-sdk:sns prefix, Sns.",
            ),
            ERROR_NAME_RULE,
        ),
    ),
}
"""Step Functions' optimized integrations (``arn:aws:states:::<service>:<action>``), by service."""
