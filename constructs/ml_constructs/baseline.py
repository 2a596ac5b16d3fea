"""A data-quality baseline for every trained model version, computed inside the training pipeline.

    QualityGate → BaselineFeatures (.sync) → Baseline (.sync) → CreateModel → RegisterModel

The baseline is SageMaker Model Monitor's: its analyzer image computes ``statistics.json`` and
``constraints.json`` over a dataset. The dataset must look like what the endpoint receives —
features only, in the training column order, no label — or every feature is compared with its
neighbour's statistics. Training files carry the label in their first column, so a first job
(``BaselineFeatures``) cuts it off and a second (``Baseline``) runs the analyzer on the rest.

Both land beside the model, ``<output prefix><job>/baseline/`` (the features under
``features/``), and the registered version records them as its ``DriftCheckBaselines`` and
``ModelMetrics``: a promoted version carries its own baseline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import aws_kms as kms

from ml_constructs.asl import SAGEMAKER_RETRY, State, jsonata, quote
from ml_constructs.iam import SageMakerExecutionRole
from ml_constructs.storage import SecureBucket

PROCESSING_DIR = "/opt/ml/processing"
BASELINE_FOLDER = "baseline/"
FEATURES_FOLDER = f"{BASELINE_FOLDER}features/"
STATISTICS_FILE = "statistics.json"
CONSTRAINTS_FILE = "constraints.json"
JOB_NAME_MAX = 63
"""ProcessingJobName: ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`` (botocore's SageMaker model)."""

FEATURES_SCRIPT = (
    'set -eu; n=0; for f in $(find "$1" -type f ! -name ".*" ! -name "_*" | sort); do n=$((n+1)); '
    'cut -d, -f2- "$f" > "$2/part-$n.csv"; done; '
    '[ "$n" -gt 0 ] || { echo "no training files in $1" >&2; exit 1; }'
)
"""Every data file of the train channel (not hidden files, not ``_`` markers, as train.py reads
them), without its first field: the label. The data contract makes fields plain numbers (no
quoted commas), so cutting at the first comma keeps every feature, in order, empty cells included.
Run with ``sh -c`` as ``<script> features <input folder> <output folder>``. A ContainerEntrypoint
item holds at most 256 characters (botocore's SageMaker model)."""

ANALYZER_DATASET_FORMAT = {"csv": {"header": False, "output_columns_position": "START"}}
"""The analyzer's ``dataset_format`` for headerless CSV, as the SageMaker Python SDK writes it
(``DatasetFormat.csv(header=False)``); the analyzer names the columns ``_c0``, ``_c1``, … in file
order, as it names the CSV fields of captured requests."""


@dataclass(frozen=True)
class BaselineSettings:
    analyzer_image: str
    """SageMaker Model Monitor's analyzer image for the region (``images.model_monitor_image``)."""
    features_image: str
    """Any image with a POSIX shell, ``find`` and ``cut``: the pipeline's XGBoost training image,
    which its roles pull already."""
    instance_type: str = "ml.m5.xlarge"
    volume_size_gb: int = 20
    max_runtime_seconds: int = 3600
    channel: str = "train"
    """The training channel the baseline describes."""

    def __post_init__(self) -> None:
        if not 1 <= self.max_runtime_seconds <= 777_600:
            raise ValueError(f"BaselineSettings.max_runtime_seconds: {self.max_runtime_seconds} must be between 1 and 777600")
        if not 1 <= self.volume_size_gb <= 16_384:
            raise ValueError(f"BaselineSettings.volume_size_gb: {self.volume_size_gb} must be between 1 and 16384")


@dataclass(frozen=True)
class DataQualityBaselineProps:
    settings: BaselineSettings
    role: SageMakerExecutionRole
    """Runs both processing jobs: reads the training data, writes ``<job>/baseline/``."""
    training_data: SecureBucket
    model_artifacts: SecureBucket
    encryption_key: kms.IKey
    output_prefix: str
    """Where the training jobs write (``<output_prefix><job>/output/model.tar.gz``)."""
    tags: Mapping[str, str] = field(default_factory=dict)


def baseline_prefix(output_prefix: str, job_name: str) -> str:
    """The key prefix of a trained version's baseline, beside its ``output/`` folder."""
    return f"{output_prefix}{job_name}/{BASELINE_FOLDER}"


class DataQualityBaseline:
    """The baseline states of a training pipeline: they read ``$jobName`` and ``$dataset``,
    set ``$baseline`` (the two files' URIs), and on failure set ``$failure`` and go to the
    failure state with an error that names the job and its reason."""

    def __init__(self, props: DataQualityBaselineProps) -> None:
        self.props = props

    def states(self, next_state: str, failure_state: str) -> dict[str, State]:
        return {
            "BaselineFeatures": self._task(self._features_request(), "features", "Baseline", failure_state),
            "Baseline": {
                **self._task(self._analyzer_request(), "baseline", next_state, failure_state),
                "Assign": {
                    "baseline": jsonata(f"{{'statistics': {self._uri(STATISTICS_FILE)}, 'constraints': {self._uri(CONSTRAINTS_FILE)}}}")
                },
            },
        }

    def registration(self) -> dict[str, Any]:
        """CreateModelPackage members that record the baseline on the registered version."""
        data_quality = {
            "Statistics": {"ContentType": "application/json", "S3Uri": jsonata("$baseline.statistics")},
            "Constraints": {"ContentType": "application/json", "S3Uri": jsonata("$baseline.constraints")},
        }
        return {"DriftCheckBaselines": {"ModelDataQuality": data_quality}, "ModelMetrics": {"ModelDataQuality": data_quality}}

    # --- requests --------------------------------------------------------------------------

    @staticmethod
    def _job_name(suffix: str) -> str:
        """JSONata: the processing job's name. ``$jobName`` ends in a letter or digit; a cut of it
        may end in '-', which '-<suffix>' then follows (the pattern allows runs of '-' inside)."""
        return f"$substring($jobName, 0, {JOB_NAME_MAX - len(suffix) - 1}) & '-{suffix}'"

    def _folder(self, folder: str) -> str:
        """JSONata: the S3 URI of ``<output prefix><job>/<folder>``."""
        p = self.props
        return f"{quote(p.model_artifacts.s3_uri(p.output_prefix))} & $jobName & {quote('/' + folder)}"

    def _uri(self, file_name: str) -> str:
        return f"{self._folder(BASELINE_FOLDER)} & {quote(file_name)}"

    def _common(self, name_suffix: str) -> dict[str, Any]:
        p, s = self.props, self.props.settings
        return {
            "ProcessingJobName": jsonata(self._job_name(name_suffix)),
            "RoleArn": p.role.role_arn,
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": s.instance_type,
                    "VolumeSizeInGB": s.volume_size_gb,
                    "VolumeKmsKeyId": p.encryption_key.key_arn,
                }
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": s.max_runtime_seconds},
            "NetworkConfig": {"EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": True},
            "Tags": [
                *({"Key": key, "Value": value} for key, value in sorted(p.tags.items())),
                {"Key": "training_job", "Value": jsonata("$jobName")},
            ],
        }

    @staticmethod
    def _input(name: str, s3_uri: str, local_path: str) -> dict[str, Any]:
        return {
            "InputName": name,
            "S3Input": {
                "S3Uri": s3_uri,
                "LocalPath": local_path,
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
                "S3CompressionType": "None",
            },
        }

    def _output(self, name: str, s3_uri: str, local_path: str) -> dict[str, Any]:
        return {
            "Outputs": [{"OutputName": name, "S3Output": {"S3Uri": s3_uri, "LocalPath": local_path, "S3UploadMode": "EndOfJob"}}],
            "KmsKeyId": self.props.encryption_key.key_arn,
        }

    def _features_request(self) -> dict[str, Any]:
        p, s = self.props, self.props.settings
        local_in, local_out = f"{PROCESSING_DIR}/input/{s.channel}", f"{PROCESSING_DIR}/output/features"
        channel = jsonata(f"{quote(p.training_data.s3_uri())} & $dataset & {quote(s.channel + '/')}")
        return {
            **self._common("features"),
            "AppSpecification": {
                "ImageUri": s.features_image,
                "ContainerEntrypoint": ["sh", "-c", FEATURES_SCRIPT, "features"],
                "ContainerArguments": [local_in, local_out],
            },
            "ProcessingInputs": [self._input(s.channel, channel, local_in)],
            "ProcessingOutputConfig": self._output("features", jsonata(self._folder(FEATURES_FOLDER)), local_out),
        }

    def _analyzer_request(self) -> dict[str, Any]:
        s = self.props.settings
        local_in, local_out = f"{PROCESSING_DIR}/input/baseline_dataset_input", f"{PROCESSING_DIR}/output"
        return {
            **self._common("baseline"),
            "AppSpecification": {"ImageUri": s.analyzer_image},
            # The analyzer's contract (SageMaker Developer Guide, "Container Contract Inputs",
            # https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-contract-inputs.html,
            # and the SDK's suggest_baseline): where the dataset is, its format, where to write.
            "Environment": {
                "dataset_format": json.dumps(ANALYZER_DATASET_FORMAT),
                "dataset_source": local_in,
                "output_path": local_out,
                "publish_cloudwatch_metrics": "Disabled",
            },
            "ProcessingInputs": [self._input("baseline_dataset_input", jsonata(self._folder(FEATURES_FOLDER)), local_in)],
            "ProcessingOutputConfig": self._output("monitoring_output", jsonata(self._folder(BASELINE_FOLDER)), local_out),
        }

    def _task(self, request: dict[str, Any], suffix: str, next_state: str, failure_state: str) -> State:
        what = "features-only copy of the training data" if suffix == "features" else "data-quality baseline"
        return {
            "Type": "Task",
            "Comment": f"The {what} (a processing job).",
            "Resource": "arn:aws:states:::sagemaker:createProcessingJob.sync",
            "Arguments": request,
            "Retry": [SAGEMAKER_RETRY],
            "Catch": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "Assign": {
                        "failure": {
                            "Error": jsonata("$states.errorOutput.Error"),
                            "Cause": jsonata(
                                f"'The {what} of training job ' & $jobName & ' failed (processing job ' & "
                                f"{self._job_name(suffix)} & '): ' & $string($states.errorOutput.Cause)"
                            ),
                        }
                    },
                    "Next": failure_state,
                }
            ],
            "Next": next_state,
        }
