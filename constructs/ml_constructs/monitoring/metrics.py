"""What to measure, with the right namespaces, dimensions, statistics and units.

Metric factories in the style of cdk-monitoring-constructs: alarms and dashboards ask them for
metrics instead of spelling namespaces, dimensions and statistics themselves.

Units worth knowing: ``ModelLatency`` and ``OverheadLatency`` are reported in microseconds;
``/aws/sagemaker/Endpoints`` CPU (and GPU) utilization is summed over cores (0-100 x cores).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from ml_constructs.aws_facts.model_monitor import (
    CSV_FEATURE_NAME,
    DATA_METRICS_NAMESPACE,
    DRIFT_METRIC,
    ENDPOINT_DIMENSION,
    MODEL_METRICS_NAMESPACE,
    MODEL_QUALITY_METRICS,
    SCHEDULE_DIMENSION,
)


@functools.cache
def minutes(count: int) -> Duration:
    """One Duration per length: the dashboards and alarms build hundreds of metrics of a few
    periods, and each new Duration is a round trip to jsii's Node process."""
    return Duration.minutes(count)


INVOCATION_NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
MICROSECONDS_PER_MILLISECOND = 1000


def milliseconds_to_microseconds(milliseconds: float) -> float:
    return milliseconds * MICROSECONDS_PER_MILLISECOND


@dataclass(frozen=True)
class EndpointMetrics:
    endpoint_name: str
    variant_name: str
    period_minutes: int = 1

    @property
    def dimensions(self) -> dict[str, str]:
        return {"EndpointName": self.endpoint_name, "VariantName": self.variant_name}

    def _metric(self, namespace: str, name: str, statistic: str, label: str | None = None) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=namespace,
            metric_name=name,
            dimensions_map=self.dimensions,
            statistic=statistic,
            period=minutes(self.period_minutes),
            label=label,
        )

    def invocations(self) -> cloudwatch.Metric:
        return self._metric(INVOCATION_NAMESPACE, "Invocations", "Sum")

    def invocations_per_instance(self) -> cloudwatch.Metric:
        return self._metric(INVOCATION_NAMESPACE, "InvocationsPerInstance", "Sum")

    def errors_4xx(self) -> cloudwatch.Metric:
        return self._metric(INVOCATION_NAMESPACE, "Invocation4XXErrors", "Sum")

    def errors_5xx(self) -> cloudwatch.Metric:
        return self._metric(INVOCATION_NAMESPACE, "Invocation5XXErrors", "Sum")

    def error_rate_percent(self, errors: cloudwatch.Metric, errors_id: str, label: str) -> cloudwatch.MathExpression:
        """errors / invocations x 100, and 0 (not missing) when there is no traffic."""
        return cloudwatch.MathExpression(
            expression=f"IF(invocations > 0, 100 * {errors_id} / invocations, 0)",
            using_metrics={errors_id: errors, "invocations": self.invocations()},
            label=label,
            period=minutes(self.period_minutes),
        )

    def error_rate_5xx_percent(self) -> cloudwatch.MathExpression:
        return self.error_rate_percent(self.errors_5xx(), "errors5xx", "5XX error rate (%)")

    def error_rate_4xx_percent(self) -> cloudwatch.MathExpression:
        return self.error_rate_percent(self.errors_4xx(), "errors4xx", "4XX error rate (%)")

    def model_latency(self, statistic: str = "p99") -> cloudwatch.Metric:
        """Microseconds."""
        return self._metric(INVOCATION_NAMESPACE, "ModelLatency", statistic, f"model latency {statistic} (µs)")

    def overhead_latency(self, statistic: str = "p99") -> cloudwatch.Metric:
        """Microseconds."""
        return self._metric(INVOCATION_NAMESPACE, "OverheadLatency", statistic, f"overhead latency {statistic} (µs)")

    def cpu_utilization(self) -> cloudwatch.Metric:
        """Percent summed over cores: 0-100 x vCPUs."""
        return self._metric(INSTANCE_NAMESPACE, "CPUUtilization", "Average")

    def memory_utilization(self) -> cloudwatch.Metric:
        return self._metric(INSTANCE_NAMESPACE, "MemoryUtilization", "Average")

    def disk_utilization(self) -> cloudwatch.Metric:
        return self._metric(INSTANCE_NAMESPACE, "DiskUtilization", "Average")

    def gpu_utilization(self) -> cloudwatch.Metric:
        """Percent summed over GPUs: 0-100 x GPUs."""
        return self._metric(INSTANCE_NAMESPACE, "GPUUtilization", "Average")

    def gpu_memory_utilization(self) -> cloudwatch.Metric:
        return self._metric(INSTANCE_NAMESPACE, "GPUMemoryUtilization", "Average")

    def instance_count(self) -> cloudwatch.MathExpression:
        """Instances in service: invocations / invocations per instance (SageMaker publishes no count)."""
        return cloudwatch.MathExpression(
            expression="IF(perInstance > 0, invocations / perInstance, 0)",
            using_metrics={"invocations": self.invocations(), "perInstance": self.invocations_per_instance()},
            label="instances (from invocations)",
            period=minutes(self.period_minutes),
        )


STATES_NAMESPACE = "AWS/States"


@dataclass(frozen=True)
class PipelineMetrics:
    """A Step Functions state machine's executions."""

    state_machine_arn: str
    period_minutes: int = 5

    def _metric(self, name: str, statistic: str = "Sum") -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=STATES_NAMESPACE,
            metric_name=name,
            dimensions_map={"StateMachineArn": self.state_machine_arn},
            statistic=statistic,
            period=minutes(self.period_minutes),
        )

    def started(self) -> cloudwatch.Metric:
        return self._metric("ExecutionsStarted")

    def succeeded(self) -> cloudwatch.Metric:
        return self._metric("ExecutionsSucceeded")

    def failed(self) -> cloudwatch.Metric:
        return self._metric("ExecutionsFailed")

    def timed_out(self) -> cloudwatch.Metric:
        return self._metric("ExecutionsTimedOut")

    def aborted(self) -> cloudwatch.Metric:
        return self._metric("ExecutionsAborted")

    def execution_time(self, statistic: str = "Maximum") -> cloudwatch.Metric:
        """Milliseconds."""
        return self._metric("ExecutionTime", statistic)

    def unsuccessful(self) -> cloudwatch.MathExpression:
        """Failed, timed out or aborted executions: every way a run can end badly."""
        return cloudwatch.MathExpression(
            expression="FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)",
            using_metrics={"failed": self.failed(), "timedOut": self.timed_out(), "aborted": self.aborted()},
            label="unsuccessful executions",
            period=minutes(self.period_minutes),
        )


@dataclass(frozen=True)
class ServiceIntegrationMetrics:
    """How long Step Functions' SageMaker jobs ran (``.sync`` integrations, per account and region)."""

    resource_arn: str
    """e.g. ``arn:aws:states:::sagemaker:createTrainingJob.sync``."""
    period_minutes: int = 5

    def run_time(self, statistic: str = "Maximum") -> cloudwatch.Metric:
        """Milliseconds from the job's start to its end."""
        return cloudwatch.Metric(
            namespace=STATES_NAMESPACE,
            metric_name="ServiceIntegrationRunTime",
            dimensions_map={"ServiceIntegrationResourceArn": self.resource_arn},
            statistic=statistic,
            period=minutes(self.period_minutes),
        )


API_NAMESPACE = "AWS/ApiGateway"


@dataclass(frozen=True)
class ApiMetrics:
    """A REST API stage's metrics (``ApiName`` and ``Stage`` dimensions). Latencies are milliseconds."""

    api_name: str
    stage: str
    period_minutes: int = 1

    def _metric(self, name: str, statistic: str, label: str | None = None) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=API_NAMESPACE,
            metric_name=name,
            dimensions_map={"ApiName": self.api_name, "Stage": self.stage},
            statistic=statistic,
            period=minutes(self.period_minutes),
            label=label,
        )

    def requests(self) -> cloudwatch.Metric:
        return self._metric("Count", "Sum", "requests")

    def errors_4xx(self) -> cloudwatch.Metric:
        return self._metric("4XXError", "Sum", "4XX")

    def errors_5xx(self) -> cloudwatch.Metric:
        return self._metric("5XXError", "Sum", "5XX")

    def latency(self, statistic: str = "p99") -> cloudwatch.Metric:
        return self._metric("Latency", statistic, f"latency {statistic} (ms)")

    def integration_latency(self, statistic: str = "p99") -> cloudwatch.Metric:
        return self._metric("IntegrationLatency", statistic, f"integration latency {statistic} (ms)")

    def error_rate_percent(self, errors: cloudwatch.Metric, errors_id: str, label: str) -> cloudwatch.MathExpression:
        """errors / requests x 100, and 0 (not missing) when there is no traffic."""
        return cloudwatch.MathExpression(
            expression=f"IF(requests > 0, 100 * {errors_id} / requests, 0)",
            using_metrics={errors_id: errors, "requests": self.requests()},
            label=label,
            period=minutes(self.period_minutes),
        )

    def error_rate_5xx_percent(self) -> cloudwatch.MathExpression:
        return self.error_rate_percent(self.errors_5xx(), "errors5xx", "5XX rate (%)")

    def error_rate_4xx_percent(self) -> cloudwatch.MathExpression:
        return self.error_rate_percent(self.errors_4xx(), "errors4xx", "4XX rate (%)")


@dataclass(frozen=True)
class DataQualityMetrics:
    """What a data-quality monitoring schedule publishes about an endpoint's requests, per feature
    (``ml_constructs.aws_facts.model_monitor``): one value per monitoring run, so the period is the cadence."""

    endpoint_name: str
    schedule_name: str
    features: int
    """The model's features: the analyzer names them ``_c0`` … ``_c<features-1>``."""
    cadence_hours: int = 1

    def __post_init__(self) -> None:
        if self.features < 1:
            raise ValueError(f"DataQualityMetrics.features: {self.features} must be at least 1")

    def baseline_drift(self, feature_index: int, statistic: str = "Maximum") -> cloudwatch.Metric:
        """How far the feature's distribution is from the baseline's (0 to 1), per run."""
        if not 0 <= feature_index < self.features:
            raise ValueError(f"DataQualityMetrics.baseline_drift: feature {feature_index} is not one of 0..{self.features - 1}")
        return cloudwatch.Metric(
            namespace=DATA_METRICS_NAMESPACE,
            metric_name=DRIFT_METRIC.format(feature=CSV_FEATURE_NAME.format(index=feature_index)),
            dimensions_map={ENDPOINT_DIMENSION: self.endpoint_name, SCHEDULE_DIMENSION: self.schedule_name},
            statistic=statistic,
            period=minutes(60 * self.cadence_hours),
            label=f"feature {feature_index} drift",
        )

    def runs_reported(self) -> cloudwatch.Metric:
        """Runs that published results: every run that analyzed the captured requests reports the first feature."""
        return self.baseline_drift(0, "SampleCount").with_(label="runs that reported")


@dataclass(frozen=True)
class ModelQualityMetrics:
    """What a model-quality schedule publishes once labels arrive (binary classification), one value per run."""

    endpoint_name: str
    schedule_name: str
    cadence_hours: int = 24

    def metric(self, name: str) -> cloudwatch.Metric:
        if name not in MODEL_QUALITY_METRICS:
            raise ValueError(f"ModelQualityMetrics.metric: {name!r} is not one of {', '.join(MODEL_QUALITY_METRICS)}")
        return cloudwatch.Metric(
            namespace=MODEL_METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map={ENDPOINT_DIMENSION: self.endpoint_name, SCHEDULE_DIMENSION: self.schedule_name},
            statistic="Minimum",
            period=minutes(60 * self.cadence_hours),
            label=name,
        )
