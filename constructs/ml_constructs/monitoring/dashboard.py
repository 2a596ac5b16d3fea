"""How to show it: dashboard segments, each a few rows an on-call engineer reads top to bottom."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch

from ml_constructs.monitoring.metrics import (
    ApiMetrics,
    DataQualityMetrics,
    EndpointMetrics,
    ModelQualityMetrics,
    PipelineMetrics,
    ServiceIntegrationMetrics,
)

Row = list[cloudwatch.IWidget]
WIDTH = 24


def text_row(markdown: str, height: int = 3) -> Row:
    return [cloudwatch.TextWidget(markdown=markdown, width=WIDTH, height=height)]


def _graph(
    title: str, metrics: list[cloudwatch.IMetric], width: int, unit: str | None = None, max_value: float | None = None
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(
        title=title,
        left=metrics,
        width=width,
        height=6,
        left_y_axis=cloudwatch.YAxisProps(label=unit, min=0, max=max_value, show_units=False),
    )


def endpoint_rows(metrics: EndpointMetrics, vcpus: int | None, gpus: int) -> list[Row]:
    """Traffic, latency, errors, then resources (CPU is summed over cores: its axis goes to 100 x vCPUs)."""
    latency = ["p50", "p90", "p99"]
    rows: list[Row] = [
        [
            _graph("Invocations (per minute)", [metrics.invocations(), metrics.invocations_per_instance()], 12, "count"),
            _graph("Instances in service", [metrics.instance_count()], 12, "instances"),
        ],
        [
            _graph("Model latency (µs)", [metrics.model_latency(s) for s in latency], 12, "µs"),
            _graph("Overhead latency (µs)", [metrics.overhead_latency(s) for s in latency], 12, "µs"),
        ],
        [
            _graph("Errors (count)", [metrics.errors_4xx(), metrics.errors_5xx()], 12, "count"),
            _graph("Error rates (%)", [metrics.error_rate_4xx_percent(), metrics.error_rate_5xx_percent()], 12, "%"),
        ],
    ]
    if vcpus is not None:
        resources: Row = [
            _graph(f"CPU (% summed over {vcpus} vCPUs)", [metrics.cpu_utilization()], 8, "%", 100.0 * vcpus),
            _graph("Memory and disk (%)", [metrics.memory_utilization(), metrics.disk_utilization()], 8, "%", 100.0),
        ]
        if gpus:
            resources.append(
                _graph(
                    f"GPU (% summed over {gpus} GPUs)", [metrics.gpu_utilization(), metrics.gpu_memory_utilization()], 8, "%", 100.0 * gpus
                )
            )
        rows.append(resources)
    return rows


def pipeline_rows(metrics: PipelineMetrics, jobs: ServiceIntegrationMetrics, job_label: str) -> list[Row]:
    return [
        [
            _graph(
                "Executions (per 5 minutes)",
                [metrics.started(), metrics.succeeded(), metrics.failed(), metrics.timed_out(), metrics.aborted()],
                8,
                "count",
            ),
            _graph("Execution time (ms, max)", [metrics.execution_time("Maximum"), metrics.execution_time("Average")], 8, "ms"),
            _graph(f"{job_label} run time (ms, all pipelines of the account)", [jobs.run_time("Maximum")], 8, "ms"),
        ]
    ]


def api_rows(metrics: ApiMetrics) -> list[Row]:
    """Calls and error rates, then latency (ms) as callers see it and as the endpoint adds it."""
    latency = ["p50", "p90", "p99"]
    return [
        [
            _graph("API calls and errors (count)", [metrics.requests(), metrics.errors_4xx(), metrics.errors_5xx()], 12, "count"),
            _graph("API error rates (%)", [metrics.error_rate_4xx_percent(), metrics.error_rate_5xx_percent()], 12, "%"),
        ],
        [
            _graph("API latency (ms)", [metrics.latency(s) for s in latency], 12, "ms"),
            _graph("Integration latency (ms)", [metrics.integration_latency(s) for s in latency], 12, "ms"),
        ],
    ]


def data_quality_rows(metrics: DataQualityMetrics, threshold: float) -> list[Row]:
    """Each feature's drift from the baseline, per monitoring run, against the alarm threshold; and
    whether runs report at all."""
    drift = cloudwatch.GraphWidget(
        title=f"Feature drift from the baseline (per run; alarm above {threshold:g})",
        left=[metrics.baseline_drift(i) for i in range(metrics.features)],
        left_annotations=[cloudwatch.HorizontalAnnotation(value=threshold, label="drift threshold")],
        width=16,
        height=6,
        left_y_axis=cloudwatch.YAxisProps(min=0, max=1, show_units=False),
        legend_position=cloudwatch.LegendPosition.RIGHT,
    )
    return [[drift, _graph("Monitoring runs that reported", [metrics.runs_reported()], 8, "runs")]]


def model_quality_rows(metrics: ModelQualityMetrics) -> list[Row]:
    return [[_graph("Model quality per run (labelled traffic)", [metrics.metric(m) for m in ("auc", "f1", "accuracy")], 24, None, 1.0)]]
