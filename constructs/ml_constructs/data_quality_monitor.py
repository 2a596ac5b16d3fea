"""SageMaker Model Monitor on an endpoint: a job definition and the schedule that runs it.

- :class:`DataQualityMonitor`: every ``cadence_hours`` a processing job with Model Monitor's
  analyzer reads the requests the endpoint captured in that interval, compares them with the served
  version's baseline (``statistics.json`` and ``constraints.json``), writes a report
  (``constraint_violations.json``) and publishes per-feature metrics to CloudWatch
  (``ml_constructs.aws_facts.model_monitor``).
- :class:`ModelQualityMonitor` (binary classification): merges the captured predictions with
  ground truth uploaded later, by inference id, and publishes AUC, F1, accuracy and the rest.

A new model version brings a new baseline: the job definition (its properties cannot change in
place) is replaced under a new name, and the schedule, whose name stays, moves to it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker

from constructs import Construct
from ml_constructs.aws_facts.model_monitor import (
    METRICS_NAMESPACE_PATTERNS,
    MODEL_METRICS_NAMESPACE_PATTERNS,
    max_runtime_seconds,
    schedule_expression,
)
from ml_constructs.baseline import CONSTRAINTS_FILE, STATISTICS_FILE
from ml_constructs.iam import SageMakerExecutionRole, SageMakerExecutionRoleProps
from ml_constructs.storage import SecureBucket

LOCAL_INPUT = "/opt/ml/processing/input/endpoint"
LOCAL_OUTPUT = "/opt/ml/processing/output"
JOB_DEFINITION_NAME_MAX = 63
"""JobDefinitionName: ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`` (botocore's SageMaker model, MonitoringJobDefinitionName)."""

MonitoringType = Literal["DataQuality", "ModelQuality"]


@dataclass(frozen=True)
class AnalyzerImage:
    registry_account: str
    repository: str
    uri: str


@dataclass(frozen=True, kw_only=True)
class MonitorProps:
    """What every monitoring schedule of an endpoint needs."""

    schedule_name: str
    endpoint_name: str
    analyzer: AnalyzerImage
    artifacts: SecureBucket
    """Holds the captured requests and the reports (and the baseline, the ground truth)."""
    capture_prefix: str
    """The endpoint config's capture destination (``<prefix><endpoint>/<variant>/yyyy/mm/dd/hh/``)."""
    report_prefix: str
    encryption_key: kms.IKey
    cadence_hours: int = 1
    instance_type: str = "ml.m5.xlarge"
    volume_size_gb: int = 20
    max_runtime_seconds: int = 1800
    tags: tuple[tuple[str, str], ...] = ()
    """The tags the stage gives every resource: part of the job definition's name (see below)."""

    def _check(self, kind: MonitoringType, prefixes: tuple[str, ...]) -> None:
        schedule_expression(self.cadence_hours)  # raises on a cadence SageMaker does not offer
        longest = max_runtime_seconds(self.cadence_hours, kind)
        if not 1 <= self.max_runtime_seconds <= longest:
            raise ValueError(
                f"{type(self).__name__}.max_runtime_seconds: {self.max_runtime_seconds} must be between 1 and {longest} "
                f"on a {kind} schedule every {self.cadence_hours} hours"
            )
        for name in ("capture_prefix", "report_prefix", *prefixes):
            value = getattr(self, name)
            if not value.endswith("/") or value.startswith("/"):
                raise ValueError(f"{type(self).__name__}.{name}: {value!r} must be a key prefix ending in '/'")


class _Monitor(Construct):
    """The role, the job definition's shared parts and the schedule of one kind of monitoring."""

    kind: MonitoringType

    def __init__(self, scope: Construct, construct_id: str, props: MonitorProps, settings: tuple[str, ...]) -> None:
        super().__init__(scope, construct_id)
        self.schedule_name = props.schedule_name
        self.role = SageMakerExecutionRole(
            self,
            "Role",
            SageMakerExecutionRoleProps(
                description=f"Runs the {self.kind} monitoring jobs of {props.endpoint_name}",
                log_kinds=("ProcessingJobs",),
                publishes_metrics=False,
            ),
        )
        props.artifacts.grant_read_prefix(self.role, props.capture_prefix, within=f"{props.endpoint_name}/")
        props.artifacts.grant_write_prefix(self.role, props.report_prefix)
        self.role.allow_image_pull(props.analyzer.registry_account, props.analyzer.repository)
        self.role.allow_volume_encryption(props.encryption_key)
        self.role.allow_metric_namespaces(MODEL_METRICS_NAMESPACE_PATTERNS if self.kind == "ModelQuality" else METRICS_NAMESPACE_PATTERNS)
        self.job_definition_name = self._job_definition_name(props, settings)

    @staticmethod
    def _job_definition_name(props: MonitorProps, settings: tuple[str, ...]) -> str:
        """Named after what it holds: any change (a new baseline, above all) is a new name, so that
        CloudFormation can create the replacement before it deletes the old one, which the
        schedule still names until it moves. CloudFormation gives no name attribute to read.

        Every property of a monitoring job definition is create-only, its tags included (the
        CloudFormation resource schemas: ``createOnlyProperties``, ``tagUpdatable`` false), and
        CloudFormation cannot replace a resource that keeps its custom name: so the tags are part
        of the name too. The role and the key are this environment's own and keep their ARNs.
        """
        common = (
            *(f"tag:{key}={value}" for key, value in sorted(props.tags)),
            props.analyzer.uri,
            props.capture_prefix,
            props.report_prefix,
            props.instance_type,
            str(props.volume_size_gb),
            str(props.max_runtime_seconds),
        )
        digest = hashlib.sha256("\n".join((*settings, *common)).encode()).hexdigest()[:12]
        return f"{props.schedule_name[: JOB_DEFINITION_NAME_MAX - len(digest) - 1]}-{digest}"

    def _shared(self, cfn: Any, props: MonitorProps, output_config: str) -> dict[str, Any]:
        """The job definition's properties every kind spells the same (``cfn``: its L1 class)."""
        key = props.encryption_key.key_arn
        return {
            "job_definition_name": self.job_definition_name,
            output_config: cfn.MonitoringOutputConfigProperty(
                kms_key_id=key,
                monitoring_outputs=[
                    cfn.MonitoringOutputProperty(
                        s3_output=cfn.S3OutputProperty(
                            local_path=LOCAL_OUTPUT, s3_uri=props.artifacts.s3_uri(props.report_prefix), s3_upload_mode="EndOfJob"
                        )
                    )
                ],
            ),
            "job_resources": cfn.MonitoringResourcesProperty(
                cluster_config=cfn.ClusterConfigProperty(
                    instance_count=1, instance_type=props.instance_type, volume_size_in_gb=props.volume_size_gb, volume_kms_key_id=key
                )
            ),
            "network_config": cfn.NetworkConfigProperty(enable_network_isolation=True, enable_inter_container_traffic_encryption=True),
            "role_arn": self.role.role_arn,
            "stopping_condition": cfn.StoppingConditionProperty(max_runtime_in_seconds=props.max_runtime_seconds),
        }

    @staticmethod
    def _endpoint_input(cfn: Any, props: MonitorProps, **specific: Any) -> Any:
        """The job's view of the endpoint's captured data (``cfn``: the job definition's L1 class)."""
        return cfn.EndpointInputProperty(
            endpoint_name=props.endpoint_name,
            local_path=LOCAL_INPUT,
            s3_input_mode="File",
            s3_data_distribution_type="FullyReplicated",
            **specific,
        )

    def _schedule(self, props: MonitorProps, job_definition: Any) -> sagemaker.CfnMonitoringSchedule:
        # The role's policy must be in place before SageMaker checks what it can read.
        job_definition.node.add_dependency(self.role.role)
        schedule = sagemaker.CfnMonitoringSchedule(
            self,
            "Schedule",
            monitoring_schedule_name=props.schedule_name,
            endpoint_name=props.endpoint_name,
            monitoring_schedule_config=sagemaker.CfnMonitoringSchedule.MonitoringScheduleConfigProperty(
                monitoring_job_definition_name=self.job_definition_name,
                monitoring_type=self.kind,
                schedule_config=sagemaker.CfnMonitoringSchedule.ScheduleConfigProperty(
                    schedule_expression=schedule_expression(props.cadence_hours)
                ),
            ),
        )
        # The schedule names its job definition by a string, not a reference: without this,
        # CloudFormation may create the schedule before the definition it names, or delete both at once.
        schedule.add_resource_dependency(job_definition)
        return schedule

    @property
    def schedule_arn(self) -> str:
        return Stack.of(self).format_arn(service="sagemaker", resource="monitoring-schedule", resource_name=self.schedule_name.lower())


@dataclass(frozen=True, kw_only=True)
class DataQualityMonitorProps(MonitorProps):
    baseline_prefix: str
    """The served version's baseline folder (``statistics.json``, ``constraints.json``)."""

    def __post_init__(self) -> None:
        self._check("DataQuality", ("baseline_prefix",))


class DataQualityMonitor(_Monitor):
    kind: MonitoringType = "DataQuality"

    def __init__(self, scope: Construct, construct_id: str, props: DataQualityMonitorProps) -> None:
        super().__init__(scope, construct_id, props, (props.baseline_prefix,))
        self.props = props
        cfn = sagemaker.CfnDataQualityJobDefinition
        for file_name in (STATISTICS_FILE, CONSTRAINTS_FILE):
            props.artifacts.grant_read_object(self.role, props.baseline_prefix + file_name)
        self.job_definition = cfn(
            self,
            "JobDefinition",
            data_quality_app_specification=cfn.DataQualityAppSpecificationProperty(image_uri=props.analyzer.uri),
            data_quality_baseline_config=cfn.DataQualityBaselineConfigProperty(
                constraints_resource=cfn.ConstraintsResourceProperty(
                    s3_uri=props.artifacts.s3_uri(props.baseline_prefix + CONSTRAINTS_FILE)
                ),
                statistics_resource=cfn.StatisticsResourceProperty(s3_uri=props.artifacts.s3_uri(props.baseline_prefix + STATISTICS_FILE)),
            ),
            data_quality_job_input=cfn.DataQualityJobInputProperty(endpoint_input=self._endpoint_input(cfn, props)),
            **self._shared(cfn, props, "data_quality_job_output_config"),
        )
        self.schedule = self._schedule(props, self.job_definition)


@dataclass(frozen=True, kw_only=True)
class ModelQualityMonitorProps(MonitorProps):
    ground_truth_prefix: str
    """Where labels arrive later, as JSON Lines under ``<prefix>yyyy/mm/dd/hh/`` (README, "Ground truth")."""
    probability_threshold: float = 0.5
    """A predicted probability at or above it is the positive class."""
    ground_truth_delay_hours: int = 24
    """How long after a request its label is expected: each run judges the requests of one
    interval that ended this long ago."""

    def __post_init__(self) -> None:
        self._check("ModelQuality", ("ground_truth_prefix",))
        if not 0 < self.probability_threshold < 1:
            raise ValueError(f"ModelQualityMonitorProps.probability_threshold: {self.probability_threshold} must be between 0 and 1")
        if self.ground_truth_delay_hours < 1:
            raise ValueError(f"ModelQualityMonitorProps.ground_truth_delay_hours: {self.ground_truth_delay_hours} must be at least 1")


PROBABILITY_COLUMN = "0"
"""Where the probability is in a captured answer: the XGBoost container answers one CSV value per row."""


class ModelQualityMonitor(_Monitor):
    kind: MonitoringType = "ModelQuality"

    def __init__(self, scope: Construct, construct_id: str, props: ModelQualityMonitorProps) -> None:
        settings = (props.ground_truth_prefix, str(props.probability_threshold), str(props.ground_truth_delay_hours))
        super().__init__(scope, construct_id, props, settings)
        self.props = props
        cfn = sagemaker.CfnModelQualityJobDefinition
        props.artifacts.grant_read_prefix(self.role, props.ground_truth_prefix)
        end = props.ground_truth_delay_hours
        self.job_definition = cfn(
            self,
            "JobDefinition",
            model_quality_app_specification=cfn.ModelQualityAppSpecificationProperty(
                image_uri=props.analyzer.uri, problem_type="BinaryClassification"
            ),
            model_quality_job_input=cfn.ModelQualityJobInputProperty(
                endpoint_input=self._endpoint_input(
                    cfn,
                    props,
                    probability_attribute=PROBABILITY_COLUMN,
                    probability_threshold_attribute=props.probability_threshold,
                    # ISO 8601 durations before the run: the interval whose labels have arrived.
                    start_time_offset=f"-PT{end + props.cadence_hours}H",
                    end_time_offset=f"-PT{end}H",
                ),
                ground_truth_s3_input=cfn.MonitoringGroundTruthS3InputProperty(s3_uri=props.artifacts.s3_uri(props.ground_truth_prefix)),
            ),
            **self._shared(cfn, props, "model_quality_job_output_config"),
        )
        self.schedule = self._schedule(props, self.job_definition)


__all__ = [
    "AnalyzerImage",
    "DataQualityMonitor",
    "DataQualityMonitorProps",
    "ModelQualityMonitor",
    "ModelQualityMonitorProps",
]
