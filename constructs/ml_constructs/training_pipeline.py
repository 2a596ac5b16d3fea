"""A Step Functions pipeline that trains, gates on quality, and registers an XGBoost model.

    ResolveDataset → CheckDataset → ListChannels → CheckChannels → Train (.sync)
      → QualityGate → [BaselineFeatures → Baseline (ml_constructs.baseline)] → CreateModel
      → RegisterModel → NotifySuccess
    any failure → NotifyFailure → Failed

Input: ``{"dataset": "training/<name>/"}`` (manual start or schedule) or
``{"marker_key": "training/<name>/_SUCCESS"}`` (the S3 trigger). The dataset folder holds
``train/`` and ``validation/`` (and optionally ``test/``) channel folders.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from constructs import Construct
from ml_constructs.asl import (
    SAGEMAKER_RETRY,
    State,
    catch_all,
    data_objects,
    failure,
    jsonata,
    notify_and_fail,
    notify_and_succeed,
    quote,
    resolve_folder,
    s3_task,
    throttling_retry,
)
from ml_constructs.baseline import DataQualityBaseline
from ml_constructs.iam import SageMakerExecutionRole
from ml_constructs.notifications import NotificationTopic
from ml_constructs.pipeline import PipelineStateMachine, PipelineStateMachineProps
from ml_constructs.registry import ModelRegistry
from ml_constructs.source_bundle import SourceBundle
from ml_constructs.storage import SecureBucket, resource_account
from ml_constructs.training_container import TOOLKIT_ENVIRONMENT

CODE_CHANNEL = "code"
"""With network isolation the container cannot download the code from S3 itself: it arrives as
an input channel, and ``sagemaker_submit_directory`` names the file in that channel."""
CHANNELS_DIR = "/opt/ml/input/data"
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
SCRIPT_MESSAGE_MAX = 2000
"""A log line can be 256 KB; the cause travels in the failure notification and the Fail state."""
LOG_SEARCH_PAGES = 10
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
DATA_CHANNELS = ("train", "validation", "test")
REQUIRED_CHANNELS = ("train", "validation")
INPUT_MODES = ("File", "FastFile")
SHARD_LISTING_KEYS = 100
"""One listing page for the shard check: instance counts are at most 20, and 100 keys of up to
1,024 bytes stay far below Step Functions' 256 KB state payload."""


@dataclass(frozen=True)
class TrainingJobSettings:
    training_image: str
    inference_image: str
    framework_version: str
    instance_type: str
    instance_count: int
    volume_size_gb: int
    max_runtime_seconds: int
    hyperparameters: Mapping[str, str]
    metric_definitions: Sequence[Mapping[str, str]]
    spot: bool = False
    max_wait_seconds: int | None = None
    input_mode: str = "File"
    """``File`` downloads the channels to the volume first; ``FastFile`` streams them from S3."""
    inter_container_traffic_encryption: bool = True

    def __post_init__(self) -> None:
        if self.instance_count < 1:
            raise ValueError(f"TrainingJobSettings.instance_count: {self.instance_count} must be at least 1")
        if self.instance_count > SHARD_LISTING_KEYS:
            raise ValueError(f"TrainingJobSettings.instance_count: {self.instance_count} must be at most {SHARD_LISTING_KEYS}")
        if self.input_mode not in INPUT_MODES:
            raise ValueError(f"TrainingJobSettings.input_mode: {self.input_mode!r} must be one of {', '.join(INPUT_MODES)}")
        if self.spot and (self.max_wait_seconds is None or self.max_wait_seconds < self.max_runtime_seconds):
            raise ValueError(
                f"TrainingJobSettings.max_wait_seconds: {self.max_wait_seconds} must be at least max_runtime_seconds "
                f"({self.max_runtime_seconds}) with spot training"
            )
        reserved = {k for k in self.hyperparameters if k.startswith("sagemaker_")}
        if reserved:
            raise ValueError(f"TrainingJobSettings.hyperparameters: {sorted(reserved)} are set by the pipeline")


@dataclass(frozen=True)
class QualityGateSettings:
    metric: str
    """A metric definition name, e.g. ``validation:auc``."""
    threshold: float
    higher_is_better: bool = True


@dataclass(frozen=True)
class TrainingPipelineProps:
    name_prefix: str
    job: TrainingJobSettings
    gate: QualityGateSettings
    source: SourceBundle
    training_role: SageMakerExecutionRole
    model_role: SageMakerExecutionRole
    training_data: SecureBucket
    model_artifacts: SecureBucket
    encryption_key: kms.IKey
    registry: ModelRegistry
    notifications: NotificationTopic
    dataset_prefix: str = "training/"
    output_prefix: str = "training-jobs/"
    checkpoint_prefix: str = "checkpoints/"
    tags: Mapping[str, str] = field(default_factory=dict)
    retain_logs: bool = True
    script_failure_prefix: str | None = None
    """The prefix of the line the training script writes to stderr when it fails on bad data.
    The container's toolkit replaces the job's FailureReason with its own message, so the failure
    notification looks this line up in the job's log stream instead."""
    baseline: DataQualityBaseline | None = None
    """A data-quality baseline for each version that passes the gate, recorded on its package."""

    def __post_init__(self) -> None:
        if self.gate.metric not in {d["Name"] for d in self.job.metric_definitions}:
            raise ValueError(
                f"QualityGateSettings.metric: {self.gate.metric!r} is not one of the job's metric definitions "
                f"({', '.join(d['Name'] for d in self.job.metric_definitions)})"
            )
        if len(self.name_prefix) > 20:
            raise ValueError(f"TrainingPipelineProps.name_prefix: {self.name_prefix!r} is longer than 20 characters")


class TrainingPipeline(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: TrainingPipelineProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        job_timeout = (props.job.max_wait_seconds if props.job.spot else None) or props.job.max_runtime_seconds
        if props.baseline:
            job_timeout += 2 * props.baseline.props.settings.max_runtime_seconds
        self.machine = PipelineStateMachine(
            self,
            "Machine",
            PipelineStateMachineProps(
                definition=self.definition(),
                # Long enough for the job itself plus the steps around it; never unbounded.
                timeout=Duration.seconds(job_timeout + 3600),
                name=f"{props.name_prefix}-training",
                encryption_key=props.encryption_key,
                retain_logs=props.retain_logs,
            ),
        )
        self.state_machine = self.machine.state_machine
        self._grant_permissions()

    # --- definition --------------------------------------------------------------------------

    def definition(self) -> dict[str, Any]:
        p = self.props
        states: dict[str, State] = {
            **resolve_folder(
                name="Dataset",
                variable="dataset",
                input_key="dataset",
                folder_prefix=p.dataset_prefix,
                job_name_prefix=p.name_prefix,
                next_state="ListChannels",
            ),
            "ListChannels": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:listObjectsV2",
                "Arguments": {"Bucket": p.training_data.bucket_name, "Prefix": jsonata("$dataset"), "Delimiter": "/"},
                "Assign": {"channels": jsonata("[$states.result.CommonPrefixes.Prefix]")},
                "Retry": [throttling_retry("S3")],
                "Catch": [catch_all("NotifyFailure")],
                "Next": "CheckChannels",
            },
            "CheckChannels": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Condition": jsonata(" and ".join(f"($dataset & '{c}/') in $channels" for c in REQUIRED_CHANNELS)),
                        "Next": "ListTrainFiles" if self.distributed else "Train",
                    }
                ],
                "Default": "MissingChannels",
            },
            "MissingChannels": failure(
                "MissingChannels",
                f"'Dataset s3://{p.training_data.bucket_name}/' & $dataset & ' needs the folders "
                f"{' and '.join(c + '/' for c in REQUIRED_CHANNELS)}; found: ' & $join($channels, ', ')",
                "NotifyFailure",
            ),
            **self._check_train_shards(),
            "Train": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
                "Arguments": self._training_job_request(),
                "Assign": {
                    "training": jsonata(
                        "{'name': $states.result.TrainingJobName, 'artifact': $states.result.ModelArtifacts.S3ModelArtifacts,"
                        " 'metrics': [$states.result.FinalMetricDataList.{'name': MetricName, 'value': Value}]}"
                    )
                },
                "Retry": [SAGEMAKER_RETRY],
                "Catch": [catch_all("ExplainTrainingFailure" if p.script_failure_prefix else "NotifyFailure")],
                "Next": "QualityGate",
            },
            **self._explain_training_failure(),
            "QualityGate": {
                "Type": "Choice",
                "Choices": [{"Condition": jsonata(self._gate_condition()), "Next": "BaselineFeatures" if p.baseline else "CreateModel"}],
                "Default": "QualityGateFailed",
            },
            "QualityGateFailed": failure("QualityGateFailed", self._gate_cause(), "NotifyFailure"),
            **(p.baseline.states("CreateModel", "NotifyFailure") if p.baseline else {}),
            "CreateModel": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createModel",
                "Arguments": {
                    "ModelName": jsonata("$jobName"),
                    "ExecutionRoleArn": p.model_role.role_arn,
                    "PrimaryContainer": {"Image": p.job.inference_image, "ModelDataUrl": jsonata("$training.artifact")},
                    "EnableNetworkIsolation": True,
                    "Tags": self._tags(),
                },
                "Retry": [SAGEMAKER_RETRY],
                "Catch": [catch_all("NotifyFailure")],
                "Next": "RegisterModel",
            },
            "RegisterModel": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sagemaker:createModelPackage",
                "Arguments": {
                    "ModelPackageGroupName": p.registry.group_name,
                    "ModelPackageDescription": jsonata(f"'Trained by ' & $jobName & ' on s3://{p.training_data.bucket_name}/' & $dataset"),
                    "ModelApprovalStatus": "PendingManualApproval",
                    "InferenceSpecification": {
                        "Containers": [
                            {
                                "Image": p.job.inference_image,
                                "ModelDataUrl": jsonata("$training.artifact"),
                                "Framework": "XGBOOST",
                                "FrameworkVersion": p.job.framework_version,
                            }
                        ],
                        "SupportedContentTypes": ["text/csv"],
                        "SupportedResponseMIMETypes": ["text/csv"],
                    },
                    "CustomerMetadataProperties": jsonata(
                        # Not the execution's ARN: execution names may hold characters the
                        # metadata's value pattern refuses; the job is named after the execution.
                        "$merge([{'training_job': $jobName, 'dataset': $dataset}, $merge($training.metrics.{name: $string(value)})])"
                    ),
                    # No Tags: a package in a group takes the group's tags, and CreateModelPackage
                    # refuses both together (botocore's documentation of ModelPackageGroupName).
                    **(p.baseline.registration() if p.baseline else {}),
                },
                "Assign": {"modelPackageArn": jsonata("$states.result.ModelPackageArn")},
                "Retry": [throttling_retry("SageMakerSdk")],
                "Catch": [catch_all("NotifyFailure")],
                "Next": "NotifySuccess",
            },
            **notify_and_succeed(
                p.notifications.topic_arn,
                f"[{p.name_prefix}] model registered, pending approval",
                "{'result': 'registered (PendingManualApproval)', 'model_package': $modelPackageArn,"
                " 'training_job': $jobName, 'dataset': $dataset, 'artifact': $training.artifact,"
                " 'metrics': $merge($training.metrics.{name: value}), 'execution': $states.context.Execution.Id}",
                "{'modelPackageArn': $modelPackageArn, 'trainingJobName': $jobName, 'artifact': $training.artifact}",
            ),
            **notify_and_fail(
                p.notifications.topic_arn,
                f"[{p.name_prefix}] training pipeline failed",
                "{'dataset': $dataset, 'training_job': $jobName}",
                "Failed",
            ),
        }
        return {
            "Comment": f"Train, gate on {p.gate.metric}, and register an XGBoost model ({p.name_prefix})",
            "QueryLanguage": "JSONata",
            "StartAt": "ResolveDataset",
            "States": states,
        }

    def _check_train_shards(self) -> dict[str, State]:
        """With several instances, ``train/`` must hold a data file for each: ShardedByS3Key
        gives every instance whole objects ("Don't choose more ML compute instances for training
        than available S3 objects", botocore's documentation of S3DataDistributionType)."""
        if not self.distributed:
            return {}
        p, count = self.props, self.props.job.instance_count
        return {
            "ListTrainFiles": s3_task(
                "listObjectsV2",
                {"Bucket": p.training_data.bucket_name, "Prefix": jsonata("$dataset & 'train/'"), "MaxKeys": SHARD_LISTING_KEYS},
                {
                    "trainFiles": jsonata(
                        f"{{'count': $count({data_objects('$states.result.Contents')}), 'more': $states.result.IsTruncated = true}}"
                    )
                },
                "CheckTrainShards",
            ),
            "CheckTrainShards": {
                "Type": "Choice",
                "Choices": [{"Condition": jsonata(f"$trainFiles.more or $trainFiles.count >= {count}"), "Next": "Train"}],
                "Default": "TooFewTrainFiles",
            },
            "TooFewTrainFiles": failure(
                "TooFewTrainFiles",
                f"'s3://{p.training_data.bucket_name}/' & $dataset & 'train/ holds ' & $string($trainFiles.count) & "
                f"' data files; training.instance_count = {count} needs at least {count}: every instance trains on whole files "
                "of its own (ShardedByS3Key), so split the training data into at least as many files as instances'",
                "NotifyFailure",
            ),
        }

    def _explain_training_failure(self) -> dict[str, State]:
        """Replace the toolkit's failure reason by the script's own message, when it wrote one."""
        prefix = self.props.script_failure_prefix
        if not prefix:
            return {}
        found = "$states.result.Events[0].Message"
        search = {
            "LogGroupName": TRAINING_LOG_GROUP,
            "FilterPattern": json.dumps(prefix.strip()),
            "Limit": 1,
        }
        return {
            "ExplainTrainingFailure": {
                "Type": "Task",
                "Comment": "The job's FailureReason is the toolkit's 'ExecuteUserScriptError'; the script's message is in its log.",
                "Resource": "arn:aws:states:::aws-sdk:cloudwatchlogs:filterLogEvents",
                # FilterLogEvents may return an empty page with a NextToken while matches remain
                # ("Set startTime explicitly to reduce the chances of empty pages", botocore's
                # logs model): start at the execution's start, and follow the token a few pages.
                "Arguments": jsonata(
                    f"$merge([{json.dumps(search)}, {{'LogStreamNamePrefix': $jobName & '/',"
                    " 'StartTime': $toMillis($states.context.Execution.StartTime)},"
                    " $exists($logSearch.token) ? {'NextToken': $logSearch.token} : {}])"
                ),
                "Assign": {
                    "failure": jsonata(
                        f"$count($states.result.Events) > 0 ? {{'Error': $failure.Error, 'Cause': 'Training job ' & $jobName & "
                        f"' failed: ' & $substring($trim($substringAfter({found}, {quote(prefix)})), 0, {SCRIPT_MESSAGE_MAX})}} : $failure"
                    ),
                    "logSearch": jsonata(
                        "{'token': $states.result.NextToken, 'found': $count($states.result.Events) > 0,"
                        " 'pages': ($exists($logSearch.pages) ? $logSearch.pages : 0) + 1}"
                    ),
                },
                "Retry": [throttling_retry("CloudWatchLogs")],
                # The run fails either way: without the log line, the original cause goes out.
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "NotifyFailure"}],
                "Next": "SearchFurther",
            },
            "SearchFurther": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Condition": jsonata(
                            f"$not($logSearch.found) and $exists($logSearch.token) and $logSearch.pages < {LOG_SEARCH_PAGES}"
                        ),
                        "Next": "ExplainTrainingFailure",
                    }
                ],
                "Default": "NotifyFailure",
            },
        }

    def _gate_condition(self) -> str:
        gate = self.props.gate
        comparison = ">=" if gate.higher_is_better else "<="
        return f"($value := $training.metrics[name = {quote(gate.metric)}].value; $exists($value) and $value {comparison} {gate.threshold})"

    def _gate_cause(self) -> str:
        gate = self.props.gate
        word = "below" if gate.higher_is_better else "above"
        return (
            f"($value := $training.metrics[name = {quote(gate.metric)}].value; $exists($value)"
            f" ? {quote(gate.metric + ' = ')} & $string($value) & {quote(f' is {word} the threshold {gate.threshold} (training job ')}"
            f" & $jobName & ')' : {quote(gate.metric + ' was not reported by training job ')} & $jobName)"
        )

    def _tags(self) -> list[dict[str, str]]:
        return [{"Key": key, "Value": value} for key, value in sorted(self.props.tags.items())]

    def _training_job_request(self) -> dict[str, Any]:
        p, job = self.props, self.props.job
        data_uri = f"s3://{p.training_data.bucket_name}/"
        # Several instances split train/ by object and each reads all of validation/ and test/:
        # early stopping and the metrics judge the whole validation set on every host.
        distribution = "$c = 'train' ? 'ShardedByS3Key' : 'FullyReplicated'" if self.distributed else "'FullyReplicated'"
        source = f"{{'S3DataType': 'S3Prefix', 'S3DataDistributionType': {distribution}, 'S3Uri': {quote(data_uri)} & $dataset & $c & '/'}}"
        channel = f"{{'ChannelName': $c, 'ContentType': 'text/csv', 'CompressionType': 'None', 'DataSource': {{'S3DataSource': {source}}}}}"
        code_channel = json.dumps(
            {
                "ChannelName": CODE_CHANNEL,
                "CompressionType": "None",
                # The toolkit opens the bundle as a file before the script runs: downloaded whole.
                "InputMode": "File",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3DataDistributionType": "FullyReplicated", "S3Uri": "__CODE_URI__"}
                },
            }
        ).replace('"__CODE_URI__"', quote(p.source.s3_uri))
        present = "$filter(" + json.dumps(list(DATA_CHANNELS)).replace('"', "'") + ", function($c) { ($dataset & $c & '/') in $channels })"
        request: dict[str, Any] = {
            "TrainingJobName": jsonata("$jobName"),
            "RoleArn": p.training_role.role_arn,
            "AlgorithmSpecification": {
                "TrainingImage": job.training_image,
                "TrainingInputMode": job.input_mode,
                "MetricDefinitions": [dict(d) for d in job.metric_definitions],
                "EnableSageMakerMetricsTimeSeries": True,
            },
            "HyperParameters": {
                **dict(job.hyperparameters),
                "sagemaker_program": p.source.entry_point,
                "sagemaker_submit_directory": f"{CHANNELS_DIR}/{CODE_CHANNEL}/{p.source.channel_file_name}",
            },
            "InputDataConfig": jsonata(f"$append($map({present}, function($c) {{ {channel} }}), [{code_channel}])"),
            "OutputDataConfig": {"S3OutputPath": p.model_artifacts.s3_uri(p.output_prefix), "KmsKeyId": p.encryption_key.key_arn},
            "ResourceConfig": {
                "InstanceType": job.instance_type,
                "InstanceCount": job.instance_count,
                "VolumeSizeInGB": job.volume_size_gb,
                "VolumeKmsKeyId": p.encryption_key.key_arn,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": job.max_runtime_seconds},
            # The toolkit pip-installs the code before running it; under network isolation that
            # must not need a package index (see ml_constructs.training_container).
            "Environment": dict(TOOLKIT_ENVIRONMENT),
            "EnableNetworkIsolation": True,
            # Network isolation still lets the instances of a job reach each other ("except for calls
            # between peers within a training cluster", CreateTrainingJob's EnableNetworkIsolation).
            "EnableInterContainerTrafficEncryption": job.inter_container_traffic_encryption,
            # Nothing writes beside the model: the role may write only <job>/output/ (and checkpoints).
            "ProfilerConfig": {"DisableProfiler": True},
            "Tags": [*self._tags(), {"Key": "dataset", "Value": jsonata("$dataset")}],
        }
        if job.spot:
            request["EnableManagedSpotTraining"] = True
            request["StoppingCondition"]["MaxWaitTimeInSeconds"] = job.max_wait_seconds
            request["CheckpointConfig"] = {
                "S3Uri": jsonata(f"{quote(p.model_artifacts.s3_uri(p.checkpoint_prefix))} & $jobName & '/'"),
                "LocalPath": CHECKPOINT_LOCAL_PATH,
            }
        return request

    # --- permissions -------------------------------------------------------------------------

    def _grant_permissions(self) -> None:
        p = self.props
        machine = self.machine
        machine.allow_sagemaker_job_sync("training-job", p.name_prefix)
        machine.allow_sagemaker("model", p.name_prefix, ["sagemaker:CreateModel"])
        machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[p.training_data.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{p.dataset_prefix}*"]}, **resource_account(Stack.of(self).account)},
            )
        )
        p.training_role.grant_pass_role(machine.state_machine)
        p.model_role.grant_pass_role(machine.state_machine)
        p.registry.grant_register(machine.state_machine)
        p.notifications.grant_publish(machine.state_machine.role)
        if p.script_failure_prefix:
            machine.allow_log_search(TRAINING_LOG_GROUP)
        if p.baseline:
            machine.allow_sagemaker_job_sync("processing-job", p.name_prefix)
            p.baseline.props.role.grant_pass_role(machine.state_machine)

    @property
    def distributed(self) -> bool:
        return self.props.job.instance_count > 1

    @property
    def state_machine_arn(self) -> str:
        """Literal (no cross-stack reference): the state machine's name is fixed."""
        return self.machine.state_machine_arn
