"""SageMaker Model Monitor on an endpoint: a data-quality job definition and the schedule that runs it.

Every ``cadence_hours`` the schedule starts a processing job with Model Monitor's analyzer over the
requests the endpoint captured in that interval, compares them with the served version's baseline
(``statistics.json`` and ``constraints.json``), writes a report (``constraint_violations.json``)
and publishes per-feature metrics to CloudWatch (``ml_constructs.aws_facts.model_monitor``).

A new model version brings a new baseline: the job definition (its properties cannot change in
place) is replaced under a generated name, and the schedule, whose name stays, moves to it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker

from constructs import Construct
from ml_constructs.aws_facts.model_monitor import (
    CSV_FEATURE_NAME,
    DATA_METRICS_NAMESPACE,
    DRIFT_METRIC,
    ENDPOINT_DIMENSION,
    METRICS_NAMESPACE_PATTERNS,
    SCHEDULE_DIMENSION,
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


@dataclass(frozen=True)
class AnalyzerImage:
    registry_account: str
    repository: str
    uri: str


@dataclass(frozen=True)
class DataQualityMonitorProps:
    schedule_name: str
    endpoint_name: str
    analyzer: AnalyzerImage
    artifacts: SecureBucket
    """Holds the captured requests, the baseline and the reports."""
    capture_prefix: str
    """The endpoint config's capture destination (``<prefix><endpoint>/<variant>/yyyy/mm/dd/hh/``)."""
    baseline_prefix: str
    """The served version's baseline folder (``statistics.json``, ``constraints.json``)."""
    report_prefix: str
    encryption_key: kms.IKey
    cadence_hours: int = 1
    instance_type: str = "ml.m5.xlarge"
    volume_size_gb: int = 20
    max_runtime_seconds: int = 1800

    def __post_init__(self) -> None:
        schedule_expression(self.cadence_hours)  # raises on a cadence SageMaker does not offer
        longest = max_runtime_seconds(self.cadence_hours)
        if not 1 <= self.max_runtime_seconds <= longest:
            raise ValueError(
                f"DataQualityMonitorProps.max_runtime_seconds: {self.max_runtime_seconds} must be between 1 and {longest} "
                f"on a schedule every {self.cadence_hours} hours"
            )
        for name in ("capture_prefix", "baseline_prefix", "report_prefix"):
            value = getattr(self, name)
            if not value.endswith("/") or value.startswith("/"):
                raise ValueError(f"DataQualityMonitorProps.{name}: {value!r} must be a key prefix ending in '/'")


class DataQualityMonitor(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: DataQualityMonitorProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.schedule_name = props.schedule_name
        self.role = SageMakerExecutionRole(
            self,
            "Role",
            SageMakerExecutionRoleProps(
                description=f"Runs the data-quality monitoring jobs of {props.endpoint_name}",
                log_kinds=("ProcessingJobs",),
                publishes_metrics=False,
            ),
        )
        self._grant(props)
        artifacts = props.artifacts
        self.job_definition_name = self._job_definition_name(props)
        self.job_definition = sagemaker.CfnDataQualityJobDefinition(
            self,
            "JobDefinition",
            job_definition_name=self.job_definition_name,
            data_quality_app_specification=sagemaker.CfnDataQualityJobDefinition.DataQualityAppSpecificationProperty(
                image_uri=props.analyzer.uri
            ),
            data_quality_baseline_config=sagemaker.CfnDataQualityJobDefinition.DataQualityBaselineConfigProperty(
                constraints_resource=sagemaker.CfnDataQualityJobDefinition.ConstraintsResourceProperty(
                    s3_uri=artifacts.s3_uri(props.baseline_prefix + CONSTRAINTS_FILE)
                ),
                statistics_resource=sagemaker.CfnDataQualityJobDefinition.StatisticsResourceProperty(
                    s3_uri=artifacts.s3_uri(props.baseline_prefix + STATISTICS_FILE)
                ),
            ),
            data_quality_job_input=sagemaker.CfnDataQualityJobDefinition.DataQualityJobInputProperty(
                endpoint_input=sagemaker.CfnDataQualityJobDefinition.EndpointInputProperty(
                    endpoint_name=props.endpoint_name,
                    local_path=LOCAL_INPUT,
                    s3_input_mode="File",
                    s3_data_distribution_type="FullyReplicated",
                )
            ),
            data_quality_job_output_config=sagemaker.CfnDataQualityJobDefinition.MonitoringOutputConfigProperty(
                kms_key_id=props.encryption_key.key_arn,
                monitoring_outputs=[
                    sagemaker.CfnDataQualityJobDefinition.MonitoringOutputProperty(
                        s3_output=sagemaker.CfnDataQualityJobDefinition.S3OutputProperty(
                            local_path=LOCAL_OUTPUT, s3_uri=artifacts.s3_uri(props.report_prefix), s3_upload_mode="EndOfJob"
                        )
                    )
                ],
            ),
            job_resources=sagemaker.CfnDataQualityJobDefinition.MonitoringResourcesProperty(
                cluster_config=sagemaker.CfnDataQualityJobDefinition.ClusterConfigProperty(
                    instance_count=1,
                    instance_type=props.instance_type,
                    volume_size_in_gb=props.volume_size_gb,
                    volume_kms_key_id=props.encryption_key.key_arn,
                )
            ),
            network_config=sagemaker.CfnDataQualityJobDefinition.NetworkConfigProperty(
                enable_network_isolation=True, enable_inter_container_traffic_encryption=True
            ),
            role_arn=self.role.role_arn,
            stopping_condition=sagemaker.CfnDataQualityJobDefinition.StoppingConditionProperty(
                max_runtime_in_seconds=props.max_runtime_seconds
            ),
        )
        # The role's policy must be in place before SageMaker checks what it can read.
        self.job_definition.node.add_dependency(self.role.role)
        self.schedule = sagemaker.CfnMonitoringSchedule(
            self,
            "Schedule",
            monitoring_schedule_name=props.schedule_name,
            endpoint_name=props.endpoint_name,
            monitoring_schedule_config=sagemaker.CfnMonitoringSchedule.MonitoringScheduleConfigProperty(
                monitoring_job_definition_name=self.job_definition_name,
                monitoring_type="DataQuality",
                schedule_config=sagemaker.CfnMonitoringSchedule.ScheduleConfigProperty(
                    schedule_expression=schedule_expression(props.cadence_hours)
                ),
            ),
        )

    @staticmethod
    def _job_definition_name(props: DataQualityMonitorProps) -> str:
        """Named after what it holds: any change (a new baseline, above all) is a new name, so that
        CloudFormation can create the replacement before it deletes the old one, which the
        schedule still names until it moves. CloudFormation gives no name attribute to read."""
        settings = (
            props.baseline_prefix,
            props.analyzer.uri,
            props.capture_prefix,
            props.report_prefix,
            props.instance_type,
            str(props.volume_size_gb),
            str(props.max_runtime_seconds),
        )
        digest = hashlib.sha256("\n".join(settings).encode()).hexdigest()[:12]
        return f"{props.schedule_name[: JOB_DEFINITION_NAME_MAX - len(digest) - 1]}-{digest}"

    def _grant(self, props: DataQualityMonitorProps) -> None:
        role = self.role
        artifacts = props.artifacts
        artifacts.grant_read_prefix(role, props.capture_prefix, within=f"{props.endpoint_name}/")
        artifacts.grant_read_object(role, props.baseline_prefix + STATISTICS_FILE)
        artifacts.grant_read_object(role, props.baseline_prefix + CONSTRAINTS_FILE)
        artifacts.grant_write_prefix(role, props.report_prefix)
        role.allow_image_pull(props.analyzer.registry_account, props.analyzer.repository)
        role.allow_volume_encryption(props.encryption_key)
        role.allow_metric_namespaces(METRICS_NAMESPACE_PATTERNS)

    @property
    def schedule_arn(self) -> str:
        return Stack.of(self).format_arn(service="sagemaker", resource="monitoring-schedule", resource_name=self.schedule_name.lower())


def drift_metric_name(feature_index: int) -> str:
    """The analyzer's baseline-drift metric of the CSV column at ``feature_index`` (features only: 0 is the first feature)."""
    return DRIFT_METRIC.format(feature=CSV_FEATURE_NAME.format(index=feature_index))


def data_metric_dimensions(endpoint_name: str, schedule_name: str) -> dict[str, str]:
    return {ENDPOINT_DIMENSION: endpoint_name, SCHEDULE_DIMENSION: schedule_name}


__all__ = [
    "DATA_METRICS_NAMESPACE",
    "AnalyzerImage",
    "DataQualityMonitor",
    "DataQualityMonitorProps",
    "data_metric_dimensions",
    "drift_metric_name",
]
