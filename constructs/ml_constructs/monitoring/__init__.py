"""Monitoring as a small facade: metric factories (what to measure), an alarm factory (how to
alarm, with shared defaults) and dashboard segments (how to show it).

cdk-monitoring-constructs has no SageMaker module; this follows its shape for the signals a
SageMaker endpoint and its Step Functions pipelines have.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sns as sns

from constructs import Construct
from ml_constructs.monitoring.alarms import AlarmFactory, AlarmFactoryProps, AlarmSpec, alarm_name
from ml_constructs.monitoring.dashboard import api_rows, data_quality_rows, endpoint_rows, model_quality_rows, pipeline_rows, text_row
from ml_constructs.monitoring.metrics import (
    ApiMetrics,
    DataQualityMetrics,
    EndpointMetrics,
    ModelQualityMetrics,
    PipelineMetrics,
    ServiceIntegrationMetrics,
    milliseconds_to_microseconds,
)

__all__ = [
    "DATA_DRIFT",
    "AlarmFactory",
    "AlarmSpec",
    "ApiMetrics",
    "ApiThresholds",
    "DataQualityMetrics",
    "EndpointMetrics",
    "EndpointThresholds",
    "ModelMonitoring",
    "ModelMonitoringProps",
    "ModelQualityMetrics",
    "PipelineMetrics",
    "ServiceIntegrationMetrics",
    "alarm_name",
]


@dataclass(frozen=True)
class EndpointThresholds:
    error_rate_5xx_percent: float = 1.0
    error_rate_4xx_percent: float = 5.0
    p99_latency_ms: float = 500.0
    cpu_percent_per_core: float = 80.0
    memory_percent: float = 85.0
    disk_percent: float = 85.0
    gpu_percent_per_gpu: float = 90.0
    evaluation_periods: int = 5
    datapoints_to_alarm: int = 3
    invocation_anomaly_detection: bool = False
    anomaly_band_width: float = 3.0


@dataclass(frozen=True)
class ApiThresholds:
    error_rate_5xx_percent: float = 1.0
    error_rate_4xx_percent: float = 10.0
    p99_integration_latency_ms: float = 1000.0
    evaluation_periods: int = 5
    datapoints_to_alarm: int = 3


@dataclass(frozen=True)
class ModelMonitoringProps:
    name_prefix: str
    topic: sns.ITopic
    runbook_url: str
    dashboard_name: str
    introduction: str
    """Markdown at the top of the dashboard: what each row means, where the runbook is."""


ENDPOINT_5XX = "endpoint-5xx-error-rate"
DATA_DRIFT = "data-drift"
"""The composite of the per-feature drift alarms: one notification, and what retraining listens to."""
ENDPOINT_LATENCY = "endpoint-p99-model-latency"


class ModelMonitoring(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: ModelMonitoringProps) -> None:
        super().__init__(scope, construct_id)
        self.alarms = AlarmFactory(
            self, "Alarms", AlarmFactoryProps(name_prefix=props.name_prefix, topic=props.topic, runbook_url=props.runbook_url)
        )
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=props.dashboard_name)
        self.dashboard.add_widgets(*text_row(props.introduction, height=5))

    @property
    def rollback_alarm_names(self) -> list[str]:
        """The endpoint alarms a blue/green deployment rolls back on (error rate, latency)."""
        return [self.alarms.name_of(ENDPOINT_5XX), self.alarms.name_of(ENDPOINT_LATENCY)]

    def monitor_endpoint(self, metrics: EndpointMetrics, thresholds: EndpointThresholds, vcpus: int | None, gpus: int = 0) -> None:
        """``vcpus`` None: serverless, no instance metrics."""
        t = thresholds
        periods = {"evaluation_periods": t.evaluation_periods, "datapoints_to_alarm": t.datapoints_to_alarm}
        self.dashboard.add_widgets(*text_row(f"## Endpoint `{metrics.endpoint_name}` (variant `{metrics.variant_name}`)", 1))
        for row in endpoint_rows(metrics, vcpus, gpus):
            self.dashboard.add_widgets(*row)
        error_rate = self.alarms.add(
            AlarmSpec(
                ENDPOINT_5XX,
                metrics.error_rate_5xx_percent(),
                t.error_rate_5xx_percent,
                f"More than {t.error_rate_5xx_percent}% of requests to {metrics.endpoint_name} fail with a server error (5XX); "
                "during a deployment this rolls the update back.",
                "look at /aws/sagemaker/Endpoints logs for the failing variant and at recent deployments.",
                **periods,
            )
        )
        latency = self.alarms.add(
            AlarmSpec(
                ENDPOINT_LATENCY,
                metrics.model_latency("p99"),
                milliseconds_to_microseconds(t.p99_latency_ms),
                f"The slowest 1% of predictions take more than {t.p99_latency_ms} ms inside the model; "
                "during a deployment this rolls the update back.",
                "compare with invocations per instance (overload: scale out) and with the last model change.",
                **periods,
            )
        )
        self.alarms.add(
            AlarmSpec(
                "endpoint-4xx-error-rate",
                metrics.error_rate_4xx_percent(),
                t.error_rate_4xx_percent,
                f"More than {t.error_rate_4xx_percent}% of requests are rejected as client errors (4XX): callers send bad input "
                "or are throttled.",
                "check callers' payloads (features only, text/csv) and throttling.",
                **periods,
            )
        )
        members: list[cloudwatch.IAlarm] = [error_rate, latency]
        if vcpus is not None:
            resource = {**periods, "missing_data": cloudwatch.TreatMissingData.MISSING}
            members.append(
                self.alarms.add(
                    AlarmSpec(
                        "endpoint-cpu-utilization",
                        metrics.cpu_utilization(),
                        t.cpu_percent_per_core * vcpus,
                        f"CPU above {t.cpu_percent_per_core}% per core ({t.cpu_percent_per_core * vcpus:g}% summed over {vcpus} vCPUs), "
                        "sustained.",
                        "check that autoscaling is at max_capacity; raise it or choose a larger instance type.",
                        **resource,
                    )
                )
            )
            members.append(
                self.alarms.add(
                    AlarmSpec(
                        "endpoint-memory-utilization",
                        metrics.memory_utilization(),
                        t.memory_percent,
                        f"Memory above {t.memory_percent}% on the endpoint's instances.",
                        "check model size against the instance type; choose a memory-optimized type if it keeps growing.",
                        **resource,
                    )
                )
            )
            self.alarms.add(
                AlarmSpec(
                    "endpoint-disk-utilization",
                    metrics.disk_utilization(),
                    t.disk_percent,
                    f"Disk above {t.disk_percent}% on the endpoint's instances.",
                    "check the container logs volume and the model artifact size.",
                    **resource,
                )
            )
            if gpus:
                self.alarms.add(
                    AlarmSpec(
                        "endpoint-gpu-utilization",
                        metrics.gpu_utilization(),
                        t.gpu_percent_per_gpu * gpus,
                        f"GPU above {t.gpu_percent_per_gpu}% per GPU, sustained.",
                        "scale out or choose an instance type with more GPUs.",
                        **resource,
                    )
                )
        if t.invocation_anomaly_detection:
            self.alarms.add_anomaly(
                AlarmSpec(
                    "endpoint-invocations-anomaly",
                    metrics.invocations(),
                    0,
                    "Traffic is outside its usual band for this time (a surge, or callers that stopped calling).",
                    "check the callers and recent releases before scaling.",
                    evaluation_periods=t.evaluation_periods,
                    datapoints_to_alarm=t.datapoints_to_alarm,
                    missing_data=cloudwatch.TreatMissingData.BREACHING,
                ),
                t.anomaly_band_width,
            )
        self.alarms.add_composite(
            "endpoint-unhealthy",
            members,
            f"{metrics.endpoint_name} is unhealthy: errors, latency or saturated instances.",
            "open the dashboard's endpoint rows; the member alarm in ALARM says which.",
        )

    def monitor_api(self, metrics: ApiMetrics, thresholds: ApiThresholds) -> None:
        """The prediction API in front of the endpoint: what its callers see."""
        t = thresholds
        periods = {"evaluation_periods": t.evaluation_periods, "datapoints_to_alarm": t.datapoints_to_alarm}
        self.dashboard.add_widgets(*text_row(f"## Prediction API `{metrics.api_name}` (stage `{metrics.stage}`)", 1))
        for row in api_rows(metrics):
            self.dashboard.add_widgets(*row)
        self.alarms.add(
            AlarmSpec(
                "api-5xx-error-rate",
                metrics.error_rate_5xx_percent(),
                t.error_rate_5xx_percent,
                f"More than {t.error_rate_5xx_percent}% of calls to the prediction API fail on our side (5XX): the endpoint "
                "is missing, failing, or refuses the API's role.",
                "read integrationStatus and error in the API's access log for a failing requestId; then the endpoint alarms.",
                **periods,
            )
        )
        self.alarms.add(
            AlarmSpec(
                "api-p99-integration-latency",
                metrics.integration_latency("p99"),
                t.p99_integration_latency_ms,
                f"The slowest 1% of calls wait more than {t.p99_integration_latency_ms} ms for the endpoint; at 29 s API Gateway gives up.",
                "compare with the endpoint's model latency and invocations per instance (overload: scale out).",
                **periods,
            )
        )
        self.alarms.add(
            AlarmSpec(
                "api-4xx-error-rate",
                metrics.error_rate_4xx_percent(),
                t.error_rate_4xx_percent,
                f"More than {t.error_rate_4xx_percent}% of calls are refused (4XX): bad rows, wrong content type, bad "
                "credentials, or throttling and spent quotas (429).",
                "group the access log by status and apiKeyId or caller to find who, then tell that client what its errors say.",
                **periods,
            )
        )

    def monitor_pipeline(
        self, title: str, slug: str, metrics: PipelineMetrics, jobs: ServiceIntegrationMetrics, job_label: str, first_step: str
    ) -> None:
        self.dashboard.add_widgets(*text_row(f"## {title}", 1))
        for row in pipeline_rows(metrics, jobs, job_label):
            self.dashboard.add_widgets(*row)
        self.alarms.add(
            AlarmSpec(
                f"{slug}-failed",
                metrics.unsuccessful(),
                0,
                f"A {title.lower()} run failed, timed out or was aborted.",
                first_step,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )

    def monitor_data_quality(self, metrics: DataQualityMetrics, threshold: float, missed_runs: int = 2) -> cloudwatch.CompositeAlarm:
        """Per-feature drift alarms (members, silent) under one ``data-drift`` alarm that notifies,
        and an alarm when the schedule stops reporting (failed runs, or no captured requests)."""
        if not 0 < threshold <= 1:
            raise ValueError(f"monitor_data_quality threshold: {threshold} must be in (0, 1] (drift is a distance between distributions)")
        self.dashboard.add_widgets(
            *text_row(
                f"## Data quality of `{metrics.endpoint_name}`'s requests (schedule `{metrics.schedule_name}`, every "
                f"{metrics.cadence_hours} h)\nViolations per run: `constraint_violations.json` in the schedule's report folder.",
                2,
            )
        )
        for row in data_quality_rows(metrics, threshold):
            self.dashboard.add_widgets(*row)
        members = [
            self.alarms.add(
                AlarmSpec(
                    f"data-drift-feature-{index}",
                    metrics.baseline_drift(index),
                    threshold,
                    f"Feature {index} (column {index + 1} of a request) of {metrics.endpoint_name}'s traffic drifted from the "
                    f"served version's baseline by more than {threshold:g}.",
                    "read the last run's constraint_violations.json.",
                    evaluation_periods=1,
                    datapoints_to_alarm=1,
                    notify=False,
                    runbook_entry=DATA_DRIFT,
                )
            )
            for index in range(metrics.features)
        ]
        drift = self.alarms.add_composite(
            DATA_DRIFT,
            members,
            f"The requests to {metrics.endpoint_name} stopped looking like the training data of the version it serves: at least "
            f"one feature drifted by more than {threshold:g} from its baseline (the member alarm in ALARM says which).",
            "read the last run's constraint_violations.json, then decide: a change upstream (fix the callers) or the world "
            "changed (retrain on recent data).",
        )
        self.alarms.add(
            AlarmSpec(
                "data-quality-no-results",
                metrics.runs_reported(),
                1,
                f"The data-quality schedule {metrics.schedule_name} published no result for {missed_runs} runs: its jobs fail, "
                "or the endpoint captured no requests.",
                "the schedule's last executions (FailureReason) in SageMaker, then the endpoint's invocations.",
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=missed_runs,
                datapoints_to_alarm=missed_runs,
                missing_data=cloudwatch.TreatMissingData.BREACHING,
            )
        )
        return drift

    def monitor_model_quality(self, metrics: ModelQualityMetrics, min_auc: float | None) -> None:
        """The model-quality row, and (with ``min_auc``) an alarm when a run's AUC is below it."""
        self.dashboard.add_widgets(
            *text_row(f"## Model quality of `{metrics.endpoint_name}` against the ground truth (schedule `{metrics.schedule_name}`)", 1)
        )
        for row in model_quality_rows(metrics):
            self.dashboard.add_widgets(*row)
        if min_auc is None:
            return
        self.alarms.add(
            AlarmSpec(
                "model-quality-auc",
                metrics.metric("auc"),
                min_auc,
                f"The served model's AUC on labelled traffic fell below {min_auc:g} in the last model-quality run.",
                "compare with data-drift and with the version's own validation AUC; retrain and promote if the data moved.",
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=1,
                datapoints_to_alarm=1,
            )
        )
