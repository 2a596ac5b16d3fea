"""What AWS documents each execution role of this platform needs: one row per documented need.

The IAM Service Authorization Reference (read through a maintained library at test time) says
which actions exist, which resources and condition keys each takes. It does not say which of
them a SageMaker job, a Step Functions integration or a CodePipeline action *uses* on the
caller's behalf; that is prose in each service's guide. The rows below are that prose, each with
the page it comes from and the sentence that says it, so a reviewer can check the row and the
suite (tests/test_iam_contracts.py) can hold every synthesized role to it.

A row names *who* needs the permission (:class:`Grantee`, found from the request that names
the role, not from the role's name), the actions, and *on what* (:class:`Target`, the field of
the request the resource comes from). A row whose target does not occur in a request (no
``VolumeKmsKeyId``, no rollback alarms) does not apply to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class Source:
    title: str
    url: str
    quote: str
    """The sentence of the page that states the need, verbatim (backslash escapes of the page's markdown dropped)."""


class Grantee(StrEnum):
    """Whose policy must carry the permission, told by the request that names the role."""

    TRAINING_JOB_ROLE = "the RoleArn of a CreateTrainingJob request"
    MODEL_ROLE = "the ExecutionRoleArn of a CreateModel request or an AWS::SageMaker::Model"
    ENDPOINT_MODEL_ROLE = "the execution role of each model an AWS::SageMaker::Endpoint serves"
    TRANSFORM_MODEL_ROLE = "the execution role of the model a CreateTransformJob request runs"
    TRAINING_SYNC_CALLER = "the role of a state machine with a sagemaker:createTrainingJob.sync task"
    TRANSFORM_SYNC_CALLER = "the role of a state machine with a sagemaker:createTransformJob.sync task"
    PROCESSING_JOB_ROLE = "the RoleArn of a CreateProcessingJob request"
    PROCESSING_SYNC_CALLER = "the role of a state machine with a sagemaker:createProcessingJob.sync task"
    MONITORING_JOB_ROLE = "the RoleArn of an AWS::SageMaker::DataQualityJobDefinition or ModelQualityJobDefinition"
    MODEL_CALLER = "the role of a state machine with a sagemaker:createModel task"
    TOPIC_PUBLISHER = "the role of a state machine with an sns:publish task"
    CONNECTION_USER = "the role of a CodePipeline CodeStarSourceConnection action"


class Target(StrEnum):
    """The resource a row is about, named by the request field it comes from."""

    ANY = '"*" (the action takes no resource)'
    INPUT_OBJECTS = "objects under each InputDataConfig[].DataSource.S3DataSource.S3Uri"
    INPUT_BUCKETS = "the bucket of each InputDataConfig[].DataSource.S3DataSource.S3Uri (s3:prefix: the channel's key)"
    INPUT_BUCKET_KEYS = "the SSE-KMS key of each InputDataConfig bucket"
    OUTPUT_OBJECTS = "objects under OutputDataConfig.S3OutputPath"
    OUTPUT_KEY = "OutputDataConfig.KmsKeyId"
    OUTPUT_KEY_BY_ID_OR_ALIAS = "OutputDataConfig.KmsKeyId, when it is a key ID or an alias (not a key ARN)"
    VOLUME_KEY = "ResourceConfig.VolumeKmsKeyId"
    TRAINING_IMAGE_REPOSITORY = "the ECR repository of AlgorithmSpecification.TrainingImage"
    TRAINING_LOG_GROUP = "log group /aws/sagemaker/TrainingJobs and its streams"
    MODEL_DATA = "the object PrimaryContainer.ModelDataUrl"
    MODEL_IMAGE_REPOSITORY = "the ECR repository of PrimaryContainer.Image"
    ENDPOINT_LOG_GROUP = "log group /aws/sagemaker/Endpoints/<EndpointName> and its streams"
    TRANSFORM_LOG_GROUP = "log group /aws/sagemaker/TransformJobs and its streams"
    ROLLBACK_ALARMS = "each DeploymentConfig.AutoRollbackConfiguration.Alarms[].AlarmName"
    TRAINING_JOBS = "training-job/<TrainingJobName>"
    TRAINING_JOBS_RULE = "rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule"
    TRANSFORM_JOBS = "transform-job/<TransformJobName>"
    TRANSFORM_JOBS_RULE = "rule/StepFunctionsGetEventsForSageMakerTransformJobsRule"
    PROCESSING_INPUT_OBJECTS = "objects under each ProcessingInputs[].S3Input.S3Uri"
    PROCESSING_INPUT_BUCKETS = "the bucket of each ProcessingInputs[].S3Input.S3Uri"
    PROCESSING_INPUT_BUCKET_KEYS = "the SSE-KMS key of each ProcessingInputs bucket"
    PROCESSING_OUTPUT_OBJECTS = "objects under each ProcessingOutputConfig.Outputs[].S3Output.S3Uri"
    PROCESSING_OUTPUT_KEY = "ProcessingOutputConfig.KmsKeyId"
    PROCESSING_VOLUME_KEY = "ProcessingResources.ClusterConfig.VolumeKmsKeyId"
    PROCESSING_IMAGE_REPOSITORY = "the ECR repository of AppSpecification.ImageUri"
    PROCESSING_LOG_GROUP = "log group /aws/sagemaker/ProcessingJobs and its streams"
    PROCESSING_JOBS = "processing-job/<ProcessingJobName>"
    PROCESSING_JOBS_RULE = "rule/StepFunctionsGetEventsForSageMakerProcessingJobsRule"
    MONITORING_BASELINE_OBJECTS = "each baseline resource (ConstraintsResource.S3Uri, StatisticsResource.S3Uri)"
    MONITORING_GROUND_TRUTH_OBJECTS = "objects under the model-quality job input's GroundTruthS3Input.S3Uri"
    MONITORING_CAPTURED_OBJECTS = "the captured requests of the monitored endpoint (its DataCaptureConfig.DestinationS3Uri)"
    MONITORING_CAPTURE_KEY = "the monitored endpoint's DataCaptureConfig.KmsKeyId"
    MONITORING_OUTPUT_OBJECTS = "objects under each MonitoringOutputs[].S3Output.S3Uri"
    MONITORING_OUTPUT_KEY = "the job output config's KmsKeyId"
    MONITORING_VOLUME_KEY = "JobResources.ClusterConfig.VolumeKmsKeyId"
    MONITORING_IMAGE_REPOSITORY = "the ECR repository of the app specification's ImageUri"
    PASSED_ROLE = "the role the request passes (RoleArn, ExecutionRoleArn)"
    TOPIC = "the TopicArn of the publish request"
    TOPIC_KEY = "the KmsMasterKeyId of that topic"
    CONNECTION = "the ConnectionArn of the action"


RESOURCE_SERVICE = "${ResourceService}"
"""Stands for the service prefix of the target's ARN in an action name (see the connections rows)."""


@dataclass(frozen=True)
class RoleNeed:
    key: str
    grantee: Grantee
    actions: tuple[str, ...]
    target: Target
    source: Source
    also: tuple[Source, ...] = ()
    context: Mapping[str, str] = field(default_factory=dict)
    """Request context the grant must allow (its conditions are evaluated against these values)."""
    required_condition: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """A condition the granting statement itself must carry, e.g. ``{"Bool": {"kms:GrantIsForAWSResource": "true"}}``."""


SAGEMAKER_ROLES = "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html"
_TRAINING_ROLE = Source(
    "How to use SageMaker AI execution roles: CreateTrainingJob API: Execution Role Permissions",
    f"{SAGEMAKER_ROLES}#sagemaker-roles-createtrainingjob-perms",
    "Scope the s3:GetObject and s3:PutObject permissions to the following objects that you specify in the input and output "
    "data configuration in a CreateTrainingJob request: InputDataConfig.DataSource.S3DataSource.S3Uri, OutputDataConfig.S3OutputPath",
)
_TRAINING_LIST = Source(
    _TRAINING_ROLE.title,
    _TRAINING_ROLE.url,
    "Scope the s3:ListBucket permission to a specific bucket that you specify as the InputDataConfig.DataSource.S3DataSource.S3Uri "
    "in a CreateTrainingJob request.",
)
_TRAINING_SSE_KMS = Source(
    _TRAINING_ROLE.title,
    _TRAINING_ROLE.url,
    "If your input is encrypted using server-side encryption with an AWS KMS–managed key (SSE-KMS), add the following permissions: "
    "kms:Decrypt",
)
_TRAINING_VOLUME_KEY = Source(
    _TRAINING_ROLE.title,
    _TRAINING_ROLE.url,
    "If you specify a volume KMS key in the resource configuration of your training job, add the following permissions: kms:CreateGrant",
)
_TRAINING_ECR = Source(
    _TRAINING_ROLE.title,
    _TRAINING_ROLE.url,
    "Scope Amazon ECR permissions to the registry path (AlgorithmSpecification.TrainingImage) that you specify in a "
    "CreateTrainingJob request.",
)
_TRAINING_STAR = Source(
    _TRAINING_ROLE.title,
    _TRAINING_ROLE.url,
    'The cloudwatch and logs actions are applicable for "*" resources. [The scoped policy keeps cloudwatch:PutMetricData, '
    'logs:CreateLogStream, logs:PutLogEvents, logs:CreateLogGroup, logs:DescribeLogStreams and ecr:GetAuthorizationToken on "*".]',
)
_OUTPUT_DATA_CONFIG = Source(
    "OutputDataConfig (Amazon SageMaker API Reference)",
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_OutputDataConfig.html",
    "If you use a KMS key ID or an alias of your KMS key, the SageMaker execution role must include permissions to call kms:Encrypt.",
)
_SSE_KMS_UPLOAD = Source(
    "Why do I get an Access Denied error when I upload a large file to my Amazon S3 bucket with AWS KMS encryption? (AWS re:Post "
    "Knowledge Center)",
    "https://repost.aws/knowledge-center/s3-large-file-encryption-kms-key",
    "To use an AWS KMS key to encrypt a multipart upload, you must have kms:GenerateDataKey and kms:Decrypt permissions. The "
    "kms:GenerateDataKey permission allows you to initiate the upload.",
)
_KMS_GRANT_FOR_AWS_RESOURCE = Source(
    "Controlling access to grants (AWS Key Management Service Developer Guide)",
    "https://docs.aws.amazon.com/kms/latest/developerguide/grant-authorization.html",
    "kms:GrantIsForAWSResource: Allows principals to call CreateGrant, ListGrants, or RevokeGrant only when an AWS service that is "
    "integrated with AWS KMS sends the request on the principal's behalf.",
)
_SAGEMAKER_LOGS = Source(
    "Log groups and streams that Amazon SageMaker AI sends to Amazon CloudWatch Logs",
    "https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html",
    "Log group name / log stream name: /aws/sagemaker/Endpoints/[EndpointName] [production-variant-name]/[instance-id]; "
    "/aws/sagemaker/TrainingJobs [training-job-name]/algo-[instance-number-in-cluster]-[epoch_timestamp]; "
    "/aws/sagemaker/TransformJobs [transform-job-name]/[instance-id]-[epoch_timestamp]",
)
_MODEL_ROLE = Source(
    "How to use SageMaker AI execution roles: CreateModel API: Execution Role Permissions",
    f"{SAGEMAKER_ROLES}#sagemaker-roles-createmodel-perms",
    "Scope S3 permissions to objects that you specify in the PrimaryContainer.ModelDataUrl in a CreateModel request.",
)
_MODEL_ECR = Source(
    _MODEL_ROLE.title,
    _MODEL_ROLE.url,
    "Scope Amazon ECR permissions to a specific registry path that you specify as the PrimaryContainer.Image and "
    "SecondaryContainer.Image in a CreateModel request.",
)
_MODEL_STAR = Source(
    _MODEL_ROLE.title,
    _MODEL_ROLE.url,
    'The cloudwatch and logs actions are applicable for "*" resources. [The scoped policy keeps cloudwatch:PutMetricData, '
    'the logs actions and ecr:GetAuthorizationToken on "*".]',
)
_PROCESSING_ROLE = Source(
    "How to use SageMaker AI execution roles: CreateProcessingJob API: Execution Role Permissions",
    f"{SAGEMAKER_ROLES}#sagemaker-roles-createprocessingjob-perms",
    "Scope the s3:GetObject and s3:PutObject permissions to the objects that will be downloaded or uploaded in the "
    "ProcessingInputs and ProcessingOutputConfig in a CreateProcessingJob request.",
)
_PROCESSING_LIST = Source(
    _PROCESSING_ROLE.title,
    _PROCESSING_ROLE.url,
    "Scope the s3:ListBucket permission to a specific bucket that you specify as the ProcessingInputs in a CreateProcessingJob request.",
)
_PROCESSING_SSE_KMS = Source(
    _PROCESSING_ROLE.title,
    _PROCESSING_ROLE.url,
    "If your input is encrypted using server-side encryption with an AWS KMS–managed key (SSE-KMS), add the following permissions: "
    "kms:Decrypt",
)
_PROCESSING_VOLUME_KEY = Source(
    _PROCESSING_ROLE.title,
    _PROCESSING_ROLE.url,
    "If you specify a volume KMS key in the resource configuration of your processing job, add the following permissions: kms:CreateGrant",
)
_PROCESSING_ECR = Source(
    _PROCESSING_ROLE.title,
    _PROCESSING_ROLE.url,
    "Scope Amazon ECR permissions to the registry path (AppSpecification.ImageUri) that you specify in a CreateProcessingJob request.",
)
_PROCESSING_STAR = Source(
    _PROCESSING_ROLE.title,
    _PROCESSING_ROLE.url,
    'The cloudwatch and logs actions are applicable for "*" resources. [The scoped policy keeps the logs actions and '
    'ecr:GetAuthorizationToken on "*".]',
)
_PASSING_ROLES = Source(
    "How to use SageMaker AI execution roles: Passing Roles",
    f"{SAGEMAKER_ROLES}#sagemaker-roles-pass-role",
    "You pass the role (iam:PassRole) when making these API calls: ... CreateModel ... CreateTrainingJob ...",
)
_ROLLBACK_ALARMS = Source(
    "Auto-Rollback Configuration and Monitoring (Amazon SageMaker AI Developer Guide, deployment guardrails)",
    "https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html",
    "Ensure that your IAM execution role has permission to perform the cloudwatch:DescribeAlarms action on the auto-rollback "
    "alarms you specify.",
)
_SFN_SAGEMAKER = "https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html"
_SFN_TRAINING = Source(
    "IAM policies for Amazon SageMaker (AWS Step Functions Developer Guide): CreateTrainingJob, Run a Job (.sync)",
    _SFN_SAGEMAKER,
    '"Action": ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"], "Resource": '
    '["arn:aws:sagemaker:[[region]]:[[accountId]]:training-job/[[trainingJobName]]*"]',
)
_SFN_TRAINING_TAGS = Source(
    _SFN_TRAINING.title,
    _SFN_SAGEMAKER,
    '"Action": ["sagemaker:ListTags"], "Resource": ["*"] [held here to the jobs the state machine runs: every statement is scoped]',
)
_SFN_TRAINING_PASS = Source(
    _SFN_TRAINING.title,
    _SFN_SAGEMAKER,
    '"Action": ["iam:PassRole"], "Resource": ["[[roleArn]]"], "Condition": {"StringEquals": {"iam:PassedToService": '
    '"sagemaker.amazonaws.com"}}',
)
_SFN_TRAINING_RULE = Source(
    _SFN_TRAINING.title,
    _SFN_SAGEMAKER,
    '"Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"], "Resource": '
    '["arn:aws:events:[[region]]:[[accountId]]:rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule"]',
)
_SFN_TRANSFORM = Source(
    "IAM policies for Amazon SageMaker (AWS Step Functions Developer Guide): CreateTransformJob, Run a Job (.sync)",
    _SFN_SAGEMAKER,
    '"Action": ["sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob"], "Resource": '
    '["arn:aws:sagemaker:[[region]]:[[accountId]]:transform-job/[[transformJobName]]*"]',
)
_SFN_TRANSFORM_TAGS = Source(_SFN_TRANSFORM.title, _SFN_SAGEMAKER, _SFN_TRAINING_TAGS.quote)
_SFN_TRANSFORM_RULE = Source(
    _SFN_TRANSFORM.title,
    _SFN_SAGEMAKER,
    '"Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"], "Resource": '
    '["arn:aws:events:[[region]]:[[accountId]]:rule/StepFunctionsGetEventsForSageMakerTransformJobsRule"]',
)
_SFN_PROCESSING = Source(
    "IAM policies for Amazon SageMaker (AWS Step Functions Developer Guide): CreateProcessingJob, Run a Job (.sync)",
    _SFN_SAGEMAKER,
    '"Action": ["sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob"], "Resource": '
    '["arn:aws:sagemaker:[[region]]:[[accountId]]:processing-job/[[processingJobName]]*"]',
)
_SFN_PROCESSING_TAGS = Source(_SFN_PROCESSING.title, _SFN_SAGEMAKER, _SFN_TRAINING_TAGS.quote)
_SFN_PROCESSING_PASS = Source(_SFN_PROCESSING.title, _SFN_SAGEMAKER, _SFN_TRAINING_PASS.quote)
_SFN_PROCESSING_RULE = Source(
    _SFN_PROCESSING.title,
    _SFN_SAGEMAKER,
    '"Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"], "Resource": '
    '["arn:aws:events:[[region]]:[[accountId]]:rule/StepFunctionsGetEventsForSageMakerProcessingJobsRule"]',
)
_SNS_ENCRYPTED_PUBLISH = Source(
    "Managing Amazon SNS encryption keys and costs: Allow a user to send messages to a topic with SSE",
    "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#send-to-encrypted-topic",
    "The publisher must have the kms:GenerateDataKey and kms:Decrypt permissions for the AWS KMS key. "
    '[Its example policy pairs them with "Action": ["sns:Publish"] on the topic.]',
)
_CONNECTIONS_PREFIX = Source(
    "Identity and access management for AWS CodeStar Notifications and AWS CodeConnections",
    "https://docs.aws.amazon.com/dtconsole/latest/userguide/security-iam.html",
    "Actions for resources that are created under the new service prefix codeconnections are available. Creating a resource under "
    "the new service prefix will use codeconnections in the resource ARN. Actions and resources for the codestar-connections "
    "service prefix remain available. When specifying a resource in the IAM policy, the service prefix needs to match that of "
    "the resource.",
)
_CONNECTIONS_USE = Source(
    "Permissions and examples for AWS CodeConnections",
    "https://docs.aws.amazon.com/dtconsole/latest/userguide/security_iam_id-based-policy-examples-connections.html",
    "To use the console to view a list of available connections, view tags, and use a connection, use the following policy. "
    '[It lists "codeconnections:UseConnection".]',
)

_LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents")
_ECR_PULL = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
_TO_SAGEMAKER = {"iam:PassedToService": "sagemaker.amazonaws.com"}

ROLE_NEEDS: tuple[RoleNeed, ...] = (
    # The role SageMaker assumes to run a training job.
    RoleNeed("training-job/read-input", Grantee.TRAINING_JOB_ROLE, ("s3:GetObject",), Target.INPUT_OBJECTS, _TRAINING_ROLE),
    # The code channel (the source bundle in CDK's asset bucket) is an InputDataConfig channel too.
    RoleNeed("training-job/list-input-buckets", Grantee.TRAINING_JOB_ROLE, ("s3:ListBucket",), Target.INPUT_BUCKETS, _TRAINING_LIST),
    RoleNeed("training-job/write-output", Grantee.TRAINING_JOB_ROLE, ("s3:PutObject",), Target.OUTPUT_OBJECTS, _TRAINING_ROLE),
    RoleNeed("training-job/decrypt-input", Grantee.TRAINING_JOB_ROLE, ("kms:Decrypt",), Target.INPUT_BUCKET_KEYS, _TRAINING_SSE_KMS),
    RoleNeed(
        "training-job/encrypt-output-by-id-or-alias",
        Grantee.TRAINING_JOB_ROLE,
        ("kms:Encrypt",),
        Target.OUTPUT_KEY_BY_ID_OR_ALIAS,
        _OUTPUT_DATA_CONFIG,
    ),
    RoleNeed(
        "training-job/upload-output-with-key",
        Grantee.TRAINING_JOB_ROLE,
        ("kms:GenerateDataKey", "kms:Decrypt"),
        Target.OUTPUT_KEY,
        _SSE_KMS_UPLOAD,
    ),
    RoleNeed(
        "training-job/volume-key-grant",
        Grantee.TRAINING_JOB_ROLE,
        ("kms:CreateGrant",),
        Target.VOLUME_KEY,
        _TRAINING_VOLUME_KEY,
        also=(_KMS_GRANT_FOR_AWS_RESOURCE,),
        # Only SageMaker, acting for the role, may create grants: the role cannot hand the key to anyone else.
        required_condition={"Bool": {"kms:GrantIsForAWSResource": "true"}},
    ),
    RoleNeed("training-job/pull-image", Grantee.TRAINING_JOB_ROLE, _ECR_PULL, Target.TRAINING_IMAGE_REPOSITORY, _TRAINING_ECR),
    RoleNeed("training-job/registry-token", Grantee.TRAINING_JOB_ROLE, ("ecr:GetAuthorizationToken",), Target.ANY, _TRAINING_STAR),
    RoleNeed(
        "training-job/logs", Grantee.TRAINING_JOB_ROLE, _LOG_ACTIONS, Target.TRAINING_LOG_GROUP, _TRAINING_STAR, also=(_SAGEMAKER_LOGS,)
    ),
    RoleNeed("training-job/metrics", Grantee.TRAINING_JOB_ROLE, ("cloudwatch:PutMetricData",), Target.ANY, _TRAINING_STAR),
    # The role SageMaker assumes to run a processing job (the data-quality baseline).
    RoleNeed(
        "processing-job/read-input", Grantee.PROCESSING_JOB_ROLE, ("s3:GetObject",), Target.PROCESSING_INPUT_OBJECTS, _PROCESSING_ROLE
    ),
    RoleNeed(
        "processing-job/list-input-buckets",
        Grantee.PROCESSING_JOB_ROLE,
        ("s3:ListBucket",),
        Target.PROCESSING_INPUT_BUCKETS,
        _PROCESSING_LIST,
    ),
    RoleNeed(
        "processing-job/write-output", Grantee.PROCESSING_JOB_ROLE, ("s3:PutObject",), Target.PROCESSING_OUTPUT_OBJECTS, _PROCESSING_ROLE
    ),
    RoleNeed(
        "processing-job/decrypt-input",
        Grantee.PROCESSING_JOB_ROLE,
        ("kms:Decrypt",),
        Target.PROCESSING_INPUT_BUCKET_KEYS,
        _PROCESSING_SSE_KMS,
    ),
    RoleNeed(
        "processing-job/upload-output-with-key",
        Grantee.PROCESSING_JOB_ROLE,
        ("kms:GenerateDataKey", "kms:Decrypt"),
        Target.PROCESSING_OUTPUT_KEY,
        _SSE_KMS_UPLOAD,
    ),
    RoleNeed(
        "processing-job/volume-key-grant",
        Grantee.PROCESSING_JOB_ROLE,
        ("kms:CreateGrant",),
        Target.PROCESSING_VOLUME_KEY,
        _PROCESSING_VOLUME_KEY,
        also=(_KMS_GRANT_FOR_AWS_RESOURCE,),
        required_condition={"Bool": {"kms:GrantIsForAWSResource": "true"}},
    ),
    RoleNeed("processing-job/pull-image", Grantee.PROCESSING_JOB_ROLE, _ECR_PULL, Target.PROCESSING_IMAGE_REPOSITORY, _PROCESSING_ECR),
    RoleNeed("processing-job/registry-token", Grantee.PROCESSING_JOB_ROLE, ("ecr:GetAuthorizationToken",), Target.ANY, _PROCESSING_STAR),
    RoleNeed("processing-job/logs", Grantee.PROCESSING_JOB_ROLE, _LOG_ACTIONS, Target.PROCESSING_LOG_GROUP, _PROCESSING_STAR),
    # The role SageMaker assumes for the processing jobs a monitoring schedule starts: a
    # processing job's role (the guide's CreateProcessingJob section), with what the job reads
    # named by the job definition and the endpoint it monitors.
    RoleNeed(
        "monitoring-job/read-baseline", Grantee.MONITORING_JOB_ROLE, ("s3:GetObject",), Target.MONITORING_BASELINE_OBJECTS, _PROCESSING_ROLE
    ),
    RoleNeed(
        "monitoring-job/read-ground-truth",
        Grantee.MONITORING_JOB_ROLE,
        ("s3:GetObject",),
        Target.MONITORING_GROUND_TRUTH_OBJECTS,
        _PROCESSING_ROLE,
    ),
    RoleNeed(
        "monitoring-job/read-captured-requests",
        Grantee.MONITORING_JOB_ROLE,
        ("s3:GetObject",),
        Target.MONITORING_CAPTURED_OBJECTS,
        _PROCESSING_ROLE,
    ),
    RoleNeed(
        "monitoring-job/decrypt-captured-requests",
        Grantee.MONITORING_JOB_ROLE,
        ("kms:Decrypt",),
        Target.MONITORING_CAPTURE_KEY,
        _PROCESSING_SSE_KMS,
    ),
    RoleNeed(
        "monitoring-job/write-reports", Grantee.MONITORING_JOB_ROLE, ("s3:PutObject",), Target.MONITORING_OUTPUT_OBJECTS, _PROCESSING_ROLE
    ),
    RoleNeed(
        "monitoring-job/upload-reports-with-key",
        Grantee.MONITORING_JOB_ROLE,
        ("kms:GenerateDataKey", "kms:Decrypt"),
        Target.MONITORING_OUTPUT_KEY,
        _SSE_KMS_UPLOAD,
    ),
    RoleNeed(
        "monitoring-job/volume-key-grant",
        Grantee.MONITORING_JOB_ROLE,
        ("kms:CreateGrant",),
        Target.MONITORING_VOLUME_KEY,
        _PROCESSING_VOLUME_KEY,
        also=(_KMS_GRANT_FOR_AWS_RESOURCE,),
        required_condition={"Bool": {"kms:GrantIsForAWSResource": "true"}},
    ),
    RoleNeed("monitoring-job/pull-image", Grantee.MONITORING_JOB_ROLE, _ECR_PULL, Target.MONITORING_IMAGE_REPOSITORY, _PROCESSING_ECR),
    RoleNeed("monitoring-job/registry-token", Grantee.MONITORING_JOB_ROLE, ("ecr:GetAuthorizationToken",), Target.ANY, _PROCESSING_STAR),
    RoleNeed("monitoring-job/logs", Grantee.MONITORING_JOB_ROLE, _LOG_ACTIONS, Target.PROCESSING_LOG_GROUP, _PROCESSING_STAR),
    RoleNeed("monitoring-job/metrics", Grantee.MONITORING_JOB_ROLE, ("cloudwatch:PutMetricData",), Target.ANY, _PROCESSING_STAR),
    # The role SageMaker assumes to host a model (endpoints, transform jobs).
    RoleNeed("model/read-model-data", Grantee.MODEL_ROLE, ("s3:GetObject",), Target.MODEL_DATA, _MODEL_ROLE),
    RoleNeed("model/pull-image", Grantee.MODEL_ROLE, _ECR_PULL, Target.MODEL_IMAGE_REPOSITORY, _MODEL_ECR),
    RoleNeed("model/registry-token", Grantee.MODEL_ROLE, ("ecr:GetAuthorizationToken",), Target.ANY, _MODEL_STAR),
    RoleNeed("model/metrics", Grantee.MODEL_ROLE, ("cloudwatch:PutMetricData",), Target.ANY, _MODEL_STAR),
    RoleNeed(
        "model/endpoint-logs", Grantee.ENDPOINT_MODEL_ROLE, _LOG_ACTIONS, Target.ENDPOINT_LOG_GROUP, _MODEL_STAR, also=(_SAGEMAKER_LOGS,)
    ),
    RoleNeed(
        "model/transform-logs",
        Grantee.TRANSFORM_MODEL_ROLE,
        _LOG_ACTIONS,
        Target.TRANSFORM_LOG_GROUP,
        _MODEL_STAR,
        also=(_SAGEMAKER_LOGS,),
    ),
    RoleNeed(
        "model/endpoint-rollback-alarms",
        Grantee.ENDPOINT_MODEL_ROLE,
        ("cloudwatch:DescribeAlarms",),
        Target.ROLLBACK_ALARMS,
        _ROLLBACK_ALARMS,
    ),
    # The state machine role behind Step Functions' optimized SageMaker integrations.
    RoleNeed(
        "state-machine/training-job",
        Grantee.TRAINING_SYNC_CALLER,
        ("sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"),
        Target.TRAINING_JOBS,
        _SFN_TRAINING,
    ),
    RoleNeed(
        "state-machine/training-job-tags", Grantee.TRAINING_SYNC_CALLER, ("sagemaker:ListTags",), Target.TRAINING_JOBS, _SFN_TRAINING_TAGS
    ),
    RoleNeed(
        "state-machine/training-job-pass-role",
        Grantee.TRAINING_SYNC_CALLER,
        ("iam:PassRole",),
        Target.PASSED_ROLE,
        _SFN_TRAINING_PASS,
        also=(_PASSING_ROLES,),
        context=_TO_SAGEMAKER,
    ),
    RoleNeed(
        "state-machine/training-job-events",
        Grantee.TRAINING_SYNC_CALLER,
        ("events:PutTargets", "events:PutRule", "events:DescribeRule"),
        Target.TRAINING_JOBS_RULE,
        _SFN_TRAINING_RULE,
    ),
    RoleNeed(
        "state-machine/transform-job",
        Grantee.TRANSFORM_SYNC_CALLER,
        ("sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob"),
        Target.TRANSFORM_JOBS,
        _SFN_TRANSFORM,
    ),
    RoleNeed(
        "state-machine/transform-job-tags",
        Grantee.TRANSFORM_SYNC_CALLER,
        ("sagemaker:ListTags",),
        Target.TRANSFORM_JOBS,
        _SFN_TRANSFORM_TAGS,
    ),
    RoleNeed(
        "state-machine/transform-job-events",
        Grantee.TRANSFORM_SYNC_CALLER,
        ("events:PutTargets", "events:PutRule", "events:DescribeRule"),
        Target.TRANSFORM_JOBS_RULE,
        _SFN_TRANSFORM_RULE,
    ),
    RoleNeed(
        "state-machine/processing-job",
        Grantee.PROCESSING_SYNC_CALLER,
        ("sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob"),
        Target.PROCESSING_JOBS,
        _SFN_PROCESSING,
    ),
    RoleNeed(
        "state-machine/processing-job-tags",
        Grantee.PROCESSING_SYNC_CALLER,
        ("sagemaker:ListTags",),
        Target.PROCESSING_JOBS,
        _SFN_PROCESSING_TAGS,
    ),
    RoleNeed(
        "state-machine/processing-job-pass-role",
        Grantee.PROCESSING_SYNC_CALLER,
        ("iam:PassRole",),
        Target.PASSED_ROLE,
        _SFN_PROCESSING_PASS,
        also=(_PASSING_ROLES,),
        context=_TO_SAGEMAKER,
    ),
    RoleNeed(
        "state-machine/processing-job-events",
        Grantee.PROCESSING_SYNC_CALLER,
        ("events:PutTargets", "events:PutRule", "events:DescribeRule"),
        Target.PROCESSING_JOBS_RULE,
        _SFN_PROCESSING_RULE,
    ),
    RoleNeed(
        "state-machine/create-model-pass-role",
        Grantee.MODEL_CALLER,
        ("iam:PassRole",),
        Target.PASSED_ROLE,
        _PASSING_ROLES,
        context=_TO_SAGEMAKER,
    ),
    RoleNeed("state-machine/publish", Grantee.TOPIC_PUBLISHER, ("sns:Publish",), Target.TOPIC, _SNS_ENCRYPTED_PUBLISH),
    RoleNeed(
        "state-machine/publish-encrypted",
        Grantee.TOPIC_PUBLISHER,
        ("kms:GenerateDataKey", "kms:Decrypt"),
        Target.TOPIC_KEY,
        _SNS_ENCRYPTED_PUBLISH,
    ),
    # The delivery pipeline's source action.
    RoleNeed(
        "pipeline/use-connection",
        Grantee.CONNECTION_USER,
        (f"{RESOURCE_SERVICE}:UseConnection",),
        Target.CONNECTION,
        _CONNECTIONS_PREFIX,
        also=(_CONNECTIONS_USE,),
    ),
)
"""Every documented need, keyed for test ids and failure messages."""

NOT_TABULATED: tuple[str, ...] = (
    "kms:CreateGrant for a transform job's TransformResources.VolumeKmsKeyId or an endpoint config's KmsKeyId on the model role: "
    "the API reference says which key encrypts the volume but names no permission of the model's role; no row until a page does.",
    "A CodeBuild project that clones through a connection (Source.Auth CODECONNECTIONS): none in this app.",
)
"""Needs looked for and not found in AWS's documentation, so a reader does not take their absence for an oversight."""
