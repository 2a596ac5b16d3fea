"""A Step Functions pipeline that runs batch transforms over one input set in S3, of any size.

    ResolveInputSet → CheckInputSet → ListInput → CheckInput → [ReadFirstRow → CheckWidth]
      → WriteManifest → Transform (.sync) → MorePages → ListInput (next page) … → NotifySuccess
    any failure → NotifyFailure → Failed

Input: ``{"input": "input/<set>/"}`` (manual start or schedule) or
``{"marker_key": "input/<set>/_SUCCESS"}`` (the S3 trigger). The set is read one listing page
(at most 1,000 objects) at a time: each page's data files (not the marker, hidden or empty
files) go into a manifest of their own and one transform job, ``<job>-<page>``, so the state
carries one page and a continuation token, never the whole set. Predictions for
``input/<set>/<file>`` land in ``output/<set>/<file>.out``, whichever page listed the file. The
first page with data files has its first row checked against the model's width.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Duration
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
from ml_constructs.aws_facts.requests import EXECUTION_HISTORY_LIMIT_EVENTS
from ml_constructs.batch_input import input_columns_for, input_filter_for
from ml_constructs.endpoint import has_instance_storage
from ml_constructs.model import HostedModel
from ml_constructs.notifications import NotificationTopic
from ml_constructs.pipeline import PipelineStateMachine, PipelineStateMachineProps
from ml_constructs.storage import SecureBucket

PAGE_KEYS = 1000
"""One ListObjectsV2 page, its largest (botocore: MaxKeys "returns up to 1,000 key names")."""
HISTORY_EVENTS_PER_PAGE = 40
"""What one page adds to the execution's history: 27 events for its states (ListInput,
CheckInput, WriteManifest, Transform with its .sync events, MorePages), the rest for retries."""
MAX_PAGES = (EXECUTION_HISTORY_LIMIT_EVENTS - 1000) // HISTORY_EVENTS_PER_PAGE
"""Pages one execution can run before its history is full (1,000 events for the other states):
600 pages, 600,000 objects. A larger set stops with TooManyFiles before the history limit would
fail it without a notification."""
PAGE_SUFFIX_ROOM = len(f"-{MAX_PAGES}")
PAGE_JOB_NAME = "($jobName & '-' & $string($page.number))"
"""JSONata: the transform job (and manifest) of the current page."""
FIRST_ROW_BYTES = 65536
"""Enough for the first row of any realistic CSV; a row longer than this is not checked."""


@dataclass(frozen=True)
class TransformJobSettings:
    instance_type: str
    model_features: int
    """How many features the model was trained on. The XGBoost container scores a row with fewer
    values without complaint (missing values), so the pipeline checks the input's width first."""
    input_has_label: bool = False
    """Input rows carry the label first (the training layout); it is dropped before scoring."""
    instance_count: int = 1
    max_payload_mb: int = 6
    max_concurrent_transforms: int = 0
    invocation_timeout_seconds: int = 600
    invocation_max_retries: int = 1
    join_with_input: bool = False

    def __post_init__(self) -> None:
        if self.model_features < 1:
            raise ValueError(f"TransformJobSettings.model_features: {self.model_features} must be at least 1")
        if self.instance_count < 1:
            raise ValueError(f"TransformJobSettings.instance_count: {self.instance_count} must be at least 1")
        if not 0 <= self.max_payload_mb <= 100:
            raise ValueError(f"TransformJobSettings.max_payload_mb: {self.max_payload_mb} must be between 0 and 100")
        if self.max_concurrent_transforms * self.max_payload_mb > 100:
            raise ValueError(
                f"TransformJobSettings: max_concurrent_transforms x max_payload_mb = "
                f"{self.max_concurrent_transforms * self.max_payload_mb} MB; SageMaker allows at most 100"
            )

    @property
    def input_columns(self) -> int:
        return input_columns_for(self.model_features, self.input_has_label)


@dataclass(frozen=True)
class TransformPipelineProps:
    name_prefix: str
    """Job names are ``<name_prefix>-<execution>``."""
    model: HostedModel
    bucket: SecureBucket
    encryption_key: kms.IKey
    notifications: NotificationTopic
    job: TransformJobSettings
    timeout_hours: int = 12
    input_prefix: str = "input/"
    output_prefix: str = "output/"
    manifest_prefix: str = "manifests/"
    tags: Mapping[str, str] = field(default_factory=dict)
    retain_logs: bool = True

    def __post_init__(self) -> None:
        if len(self.name_prefix) > 30:
            raise ValueError(f"TransformPipelineProps.name_prefix: {self.name_prefix!r} is longer than 30 characters")


class TransformPipeline(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: TransformPipelineProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.machine = PipelineStateMachine(
            self,
            "Machine",
            PipelineStateMachineProps(
                definition=self.definition(),
                timeout=Duration.hours(props.timeout_hours),
                name=f"{props.name_prefix}-transform",
                encryption_key=props.encryption_key,
                retain_logs=props.retain_logs,
            ),
        )
        self.state_machine = self.machine.state_machine
        self._grant_permissions()

    def definition(self) -> dict[str, Any]:
        p, job = self.props, self.props.job
        bucket_uri = f"s3://{p.bucket.bucket_name}/"
        states: dict[str, State] = {
            **resolve_folder(
                name="InputSet",
                variable="inputSet",
                input_key="input",
                folder_prefix=p.input_prefix,
                job_name_prefix=p.name_prefix,
                next_state="ListInput",
                name_room=PAGE_SUFFIX_ROOM,
            ),
            "ListInput": s3_task(
                "listObjectsV2",
                jsonata(
                    f"$merge([{{'Bucket': {quote(p.bucket.bucket_name)}, 'Prefix': $inputSet, 'MaxKeys': {PAGE_KEYS}}},"
                    " $exists($page.token) ? {'ContinuationToken': $page.token} : {}])"
                ),
                {
                    # Data files only: not the _SUCCESS marker, hidden files or empty objects.
                    "files": jsonata(f"[{data_objects('$states.result.Contents')}.$substringAfter(Key, $inputSet)]"),
                    # Every Assign of a state reads the variables as they were before it.
                    "page": jsonata(
                        "{'number': ($exists($page.number) ? $page.number : 0) + 1,"
                        " 'token': $states.result.NextContinuationToken, 'more': $states.result.IsTruncated = true}"
                    ),
                    "filesListed": jsonata(
                        f"($exists($filesListed) ? $filesListed : 0) + $count({data_objects('$states.result.Contents')})"
                    ),
                },
                "CheckInput",
            ),
            "CheckInput": {
                "Type": "Choice",
                "Choices": [
                    {"Condition": jsonata(f"$page.number > {MAX_PAGES}"), "Next": "TooManyFiles"},
                    # A page of markers, hidden or empty objects only: nothing to transform in it.
                    {"Condition": jsonata("$count($files) = 0 and $page.more"), "Next": "ListInput"},
                    {"Condition": jsonata("$count($files) = 0 and $filesListed = 0"), "Next": "NoInputFiles"},
                    {"Condition": jsonata("$count($files) = 0"), "Next": "NotifySuccess"},
                    # The first page with data files: its first row shows the set's width.
                    {"Condition": jsonata("$filesListed = $count($files)"), "Next": "ReadFirstRow"},
                ],
                "Default": "WriteManifest",
            },
            "ReadFirstRow": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Arguments": {
                    "Bucket": p.bucket.bucket_name,
                    "Key": jsonata("$inputSet & $files[0]"),
                    "Range": f"bytes=0-{FIRST_ROW_BYTES - 1}",
                },
                "Assign": {
                    "firstRowWidth": jsonata("$count($split($substringBefore($states.result.Body, '\\n'), ','))"),
                    "complete": jsonata("$contains($states.result.Body, '\\n') or $length($states.result.Body) < " + str(FIRST_ROW_BYTES)),
                },
                "Retry": [throttling_retry("S3")],
                "Catch": [catch_all("NotifyFailure")],
                "Next": "CheckWidth",
            },
            "CheckWidth": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Condition": jsonata(f"$not($complete) or $firstRowWidth = {job.input_columns}"),
                        "Next": "WriteManifest",
                    }
                ],
                "Default": "WrongWidth",
            },
            "WrongWidth": failure(
                "WrongWidth",
                f"{quote(bucket_uri)} & $inputSet & $files[0] & ': the first row has ' & $string($firstRowWidth)"
                f" & {quote(f' values; expected {job.input_columns}: {self._width_explanation()}')}",
                "NotifyFailure",
            ),
            "NoInputFiles": failure(
                "NoInputFiles", f"'No data files in {bucket_uri}' & $inputSet & ' (only markers, hidden or empty files)'", "NotifyFailure"
            ),
            "TooManyFiles": failure(
                "TooManyFiles",
                f"'{bucket_uri}' & $inputSet & ' holds more than {MAX_PAGES * PAGE_KEYS} objects, more than one run can page through;"
                f" the files of the first {MAX_PAGES} pages were transformed into {bucket_uri}{p.output_prefix}, the others were not:"
                " split the set or combine its files into fewer, larger ones'",
                "NotifyFailure",
            ),
            "WriteManifest": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
                "Comment": "The transform reads exactly these files: the marker and stray objects stay out.",
                "Arguments": {
                    "Bucket": p.bucket.bucket_name,
                    "Key": jsonata(f"{quote(p.manifest_prefix)} & {PAGE_JOB_NAME} & '.manifest'"),
                    "Body": jsonata(f"$string($append([{{'prefix': {quote(bucket_uri)} & $inputSet}}], $files))"),
                    "ContentType": "application/json",
                    "ServerSideEncryption": "aws:kms",
                    "SSEKMSKeyId": p.encryption_key.key_arn,
                },
                "Retry": [throttling_retry("S3")],
                "Catch": [catch_all("NotifyFailure")],
                "Next": "Transform",
            },
            "Transform": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createTransformJob.sync",
                "Arguments": self._transform_job_request(bucket_uri),
                "Retry": [SAGEMAKER_RETRY],
                "Catch": [catch_all("NotifyFailure")],
                "Next": "MorePages",
            },
            "MorePages": {
                "Type": "Choice",
                "Choices": [{"Condition": jsonata("$page.more"), "Next": "ListInput"}],
                "Default": "NotifySuccess",
            },
            **notify_and_succeed(
                p.notifications.topic_arn,
                f"[{p.name_prefix}] batch predictions ready",
                f"{{'result': 'predictions written', 'output': {quote(bucket_uri + p.output_prefix)} &"
                f" $substringAfter($inputSet, {quote(p.input_prefix)}), 'input': $inputSet, 'files': $filesListed,"
                " 'transform_jobs': $jobName & '-<page>', 'pages': $page.number, 'execution': $states.context.Execution.Id}",
                f"{{'output': {quote(bucket_uri + p.output_prefix)} & $substringAfter($inputSet, {quote(p.input_prefix)}),"
                " 'transformJobNamePrefix': $jobName & '-', 'pages': $page.number}",
            ),
            **notify_and_fail(
                p.notifications.topic_arn,
                f"[{p.name_prefix}] batch transform failed",
                "{'input': $inputSet, 'transform_job': $jobName}",
                "Failed",
            ),
        }
        return {
            "Comment": f"Batch predictions over an input set ({p.name_prefix})",
            "QueryLanguage": "JSONata",
            "StartAt": "ResolveInputSet",
            "States": states,
        }

    def _width_explanation(self) -> str:
        job = self.props.job
        if job.input_has_label:
            return f"the label, then the {job.model_features} features the model was trained on (batch.input_has_label: true)"
        return f"the {job.model_features} features the model was trained on, no label (batch.input_has_label: false)"

    def _transform_job_request(self, bucket_uri: str) -> dict[str, Any]:
        p, job = self.props, self.props.job
        resources: dict[str, Any] = {"InstanceType": job.instance_type, "InstanceCount": job.instance_count}
        if not has_instance_storage(job.instance_type):
            resources["VolumeKmsKeyId"] = p.encryption_key.key_arn
        request: dict[str, Any] = {
            "TransformJobName": jsonata(PAGE_JOB_NAME),
            "ModelName": p.model.model_name,
            "BatchStrategy": "MultiRecord",
            "MaxPayloadInMB": job.max_payload_mb,
            "ModelClientConfig": {
                "InvocationsTimeoutInSeconds": job.invocation_timeout_seconds,
                "InvocationsMaxRetries": job.invocation_max_retries,
            },
            "TransformInput": {
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "ManifestFile",
                        "S3Uri": jsonata(f"{quote(bucket_uri + p.manifest_prefix)} & {PAGE_JOB_NAME} & '.manifest'"),
                    }
                },
                "ContentType": "text/csv",
                "CompressionType": "None",
                "SplitType": "Line",
            },
            "TransformOutput": {
                # input/<set>/ → output/<set>/: results sit under the key their inputs had.
                "S3OutputPath": jsonata(f"{quote(bucket_uri + p.output_prefix)} & $substringAfter($inputSet, {quote(p.input_prefix)})"),
                "Accept": "text/csv",
                "AssembleWith": "Line",
                "KmsKeyId": p.encryption_key.key_arn,
            },
            "TransformResources": resources,
            "DataProcessing": {
                "InputFilter": input_filter_for(job.input_has_label),
                "JoinSource": "Input" if job.join_with_input else "None",
                "OutputFilter": "$",
            },
            "Tags": [*({"Key": k, "Value": v} for k, v in sorted(p.tags.items())), {"Key": "input", "Value": jsonata("$inputSet")}],
        }
        if job.max_concurrent_transforms:
            request["MaxConcurrentTransforms"] = job.max_concurrent_transforms
        return request

    def _grant_permissions(self) -> None:
        p = self.props
        machine = self.machine
        machine.allow_sagemaker_job_sync("transform-job", p.name_prefix)
        # Lists the input set and reads its first row (the width check).
        p.bucket.grant_read_prefix(machine.state_machine, p.input_prefix)
        p.bucket.grant_write_prefix(machine.state_machine, p.manifest_prefix)
        p.notifications.grant_publish(machine.state_machine.role)

    @property
    def state_machine_arn(self) -> str:
        """Literal (no cross-stack reference): the state machine's name is fixed."""
        return self.machine.state_machine_arn
