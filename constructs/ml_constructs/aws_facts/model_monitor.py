"""What SageMaker Model Monitor does that no machine-readable model states, each with its source.

Sources quoting botocore are held to it by the suite (tests/test_api_contracts.py); the metric
names come from the SageMaker Developer Guide, whose pages disagree with each other on the
namespace's spelling (see ``METRICS_SOURCES``): which one the analyzer really uses is for a first
monitoring run to show (README, "What only AWS can settle").
"""

from __future__ import annotations

from ml_constructs.aws_facts.requests import BotocoreDocumentation, Page

# --- schedules -------------------------------------------------------------------------------

CADENCE_HOURS = (1, 2, 3, 4, 6, 8, 12, 24)
"""The cadences a monitoring schedule supports: hourly, every N hours (a divisor of 24), daily."""


def schedule_expression(hours: int) -> str:
    """The cron expression SageMaker accepts for a schedule every ``hours`` hours."""
    if hours not in CADENCE_HOURS:
        raise ValueError(f"a monitoring schedule runs every {', '.join(map(str, CADENCE_HOURS))} hours; got {hours}")
    if hours == 1:
        return "cron(0 * ? * * *)"
    if hours == 24:
        return "cron(0 0 ? * * *)"
    return f"cron(0 0/{hours} ? * * *)"


SCHEDULE_EXPRESSIONS = BotocoreDocumentation(
    "sagemaker",
    "ScheduleConfig",
    "ScheduleExpression",
    "To support running every 6, 12 hours, the following are also supported: cron(0 [00-23]/[01-24] ? * * *)",
)
RUNTIME_WITHIN_CADENCE = BotocoreDocumentation(
    "sagemaker",
    "MonitoringStoppingCondition",
    "MaxRuntimeInSeconds",
    "The MaxRuntimeInSeconds cannot exceed the frequency of the job. For data quality and model explainability, this can be up "
    "to 3600 seconds for an hourly schedule. For model bias and model quality hourly schedules, this can be up to 1800 seconds.",
)


def max_runtime_seconds(hours: int, kind: str = "DataQuality") -> int:
    """The longest a monitoring job may run on a schedule every ``hours`` hours (``RUNTIME_WITHIN_CADENCE``)."""
    if hours == 1 and kind == "ModelQuality":
        return 1800
    return min(hours * 3600, 86_400)


# --- what the analyzer publishes -----------------------------------------------------------------

DATA_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
"""Where a schedule's data-quality metrics land, with dimensions ``Endpoint`` and ``MonitoringSchedule``."""
MODEL_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/model-metrics"
ENDPOINT_DIMENSION = "Endpoint"
SCHEDULE_DIMENSION = "MonitoringSchedule"
DRIFT_METRIC = "feature_baseline_drift_{feature}"
"""The distance of a feature's distribution from its baseline's (0 to 1), per feature."""
CSV_FEATURE_NAME = "_c{index}"
"""The analyzer's name for the column at ``index`` of headerless CSV, in baselines and captured requests alike."""
METRICS_NAMESPACE_PATTERNS = ("aws/sagemaker/Endpoints/data-metric*", "/aws/sagemaker/Endpoint*/data-metric*")
"""``cloudwatch:namespace`` values a data-quality monitoring role may publish to: each spelling the guide uses."""
MODEL_METRICS_NAMESPACE_PATTERNS = ("aws/sagemaker/Endpoints/model-metric*", "/aws/sagemaker/Endpoint*/model-metric*")
"""The same for model-quality monitoring (``auc``, ``f1``, ``accuracy``, … in ``MODEL_METRICS_NAMESPACE``)."""

METRICS_SOURCES = (
    Page(
        "SageMaker Developer Guide: CloudWatch Metrics (Model Monitor)",
        "https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-interpreting-cloudwatch.html",
        "For real-time endpoints: /aws/sagemaker/Endpoints/data-metric namespace with EndpointName and ScheduleName dimensions. "
        "Metric: Baseline Drift → query for MetricName: feature_baseline_drift_{feature_name}, Stat: Sum",
    ),
    Page(
        "SageMaker Developer Guide: CloudWatch Metrics for Bring Your Own Containers",
        "https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-cloudwatch.html",
        "For real-time endpoints: /aws/sagemaker/Endpoint/data-metrics ... We recommend you add the following dimensions at "
        "minimum: Endpoint and MonitoringSchedule for real-time endpoints",
    ),
    Page(
        "SageMaker Developer Guide: CloudWatch Metrics for Bias Drift Analysis (the same family of jobs)",
        "https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-model-monitor-bias-drift-cw.html",
        "For real-time endpoints: aws/sagemaker/Endpoints/bias-metrics ... Endpoint: The name of the monitored endpoint ... "
        "MonitoringSchedule: The name of the schedule for the monitoring job.",
    ),
)

MODEL_QUALITY_METRICS = ("auc", "f1", "accuracy", "precision", "recall")
"""Some of the binary-classification metrics a model-quality run publishes to ``MODEL_METRICS_NAMESPACE``."""
MODEL_QUALITY_METRICS_SOURCE = Page(
    "SageMaker Developer Guide: Model quality metrics and Amazon CloudWatch monitoring",
    "https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html",
    "Binary classification metrics: accuracy, precision, recall, f1, auc, ... published to CloudWatch in the "
    "aws/sagemaker/Endpoints/model-metrics namespace with the Endpoint and MonitoringSchedule dimensions.",
)
CAPTURE_LAYOUT = Page(
    "SageMaker Developer Guide: Capture data from real-time endpoint",
    "https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html",
    "The captured data is stored at s3://{destination-bucket-prefix}/{endpoint-name}/{variant-name}/yyyy/mm/dd/hh/{filename}.jsonl",
)
GROUND_TRUTH_CONTRACT = Page(
    "SageMaker Developer Guide: Ingest Ground Truth labels and merge them with predictions",
    "https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-merge.html",
    "Ground truth labels are JSON Lines files under s3://bucket/prefix/yyyy/mm/dd/hh/, each record "
    '{"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "<the inference id>"}, '
    '"eventVersion": "0"}; the merge job matches eventId with the captured record\'s inferenceId (or its eventId when the '
    "request named no InferenceId).",
)
AVAILABILITY = Page(
    "SageMaker Developer Guide: Amazon SageMaker Model Monitor availability change",
    "https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-availability-change.html",
    "Amazon SageMaker Model Monitor is no longer open to new customers. Existing customers can continue to use the service as normal.",
)
