"""What to measure on a SageMaker real-time endpoint variant, with the right units.

A metric factory in the style of cdk-monitoring-constructs: alarms and dashboards ask it for
metrics instead of spelling namespaces, dimensions and statistics themselves.

Units worth knowing: ``ModelLatency`` and ``OverheadLatency`` are reported in microseconds;
``/aws/sagemaker/Endpoints`` CPU (and GPU) utilization is summed over cores (0-100 x cores).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

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
            period=Duration.minutes(self.period_minutes),
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

    def error_rate_percent(self, errors: cloudwatch.Metric, label: str) -> cloudwatch.MathExpression:
        """errors / invocations x 100, and 0 (not missing) when there is no traffic."""
        return cloudwatch.MathExpression(
            expression="IF(invocations > 0, 100 * errors / invocations, 0)",
            using_metrics={"errors": errors, "invocations": self.invocations()},
            label=label,
            period=Duration.minutes(self.period_minutes),
        )

    def error_rate_5xx_percent(self) -> cloudwatch.MathExpression:
        return self.error_rate_percent(self.errors_5xx(), "5XX error rate (%)")

    def error_rate_4xx_percent(self) -> cloudwatch.MathExpression:
        return self.error_rate_percent(self.errors_4xx(), "4XX error rate (%)")

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
