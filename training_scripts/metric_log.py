"""How train.py reports metrics, and how SageMaker parses them back (no dependencies).

train.py prints one line per metric, ``metric validation:auc=0.987654``; the training job's
metric definitions (built from :func:`metric_definitions`) turn those lines into CloudWatch
metrics and into the job's ``FinalMetricDataList``, which the quality gate reads.
"""

from __future__ import annotations

CHANNELS = ("train", "validation", "test")
METRICS = ("accuracy", "precision", "recall", "f1", "auc", "logloss")
_VALUE = r"(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)"


def metric_line(channel: str, metric: str, value: float) -> str:
    return f"metric {channel}:{metric}={value:.6f}"


def metric_definitions(channels: tuple[str, ...] = ("validation", "test")) -> list[dict[str, str]]:
    """SageMaker ``MetricDefinitions``: a name and a regex whose first group is the value."""
    return [{"Name": f"{channel}:{metric}", "Regex": rf"metric {channel}:{metric}={_VALUE}"} for channel in channels for metric in METRICS]
