"""How train.py reports metrics and failures, and how SageMaker and the pipeline find them (no dependencies).

train.py prints one line per metric, ``metric validation:auc=0.987654``; the training job's
metric definitions (built from :func:`metric_definitions`) turn those lines into CloudWatch
metrics and into the job's ``FinalMetricDataList``, which the quality gate reads and the pipeline
copies into the model package's metadata. ``train:features`` (how many feature columns the model
was trained on) travels with the model version that way.

A run that fails on bad data or a bad hyperparameter prints one stderr line starting with
:data:`FAILURE_PREFIX` (see :func:`failure_line`); that line lands in the job's CloudWatch log
stream, where the pipeline looks it up with a filter pattern.
"""

from __future__ import annotations

CHANNELS = ("train", "validation", "test")
METRICS = ("accuracy", "precision", "recall", "f1", "auc", "logloss")
FEATURES_METRIC = "train:features"
"""How many feature columns the model was trained on (every channel has the same)."""
FAILURE_PREFIX = "train.py error: "
"""Starts the one stderr line that says why a run failed; the pipeline searches the logs for it."""
_VALUE = r"(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)"


def metric_line(channel: str, metric: str, value: float) -> str:
    return f"metric {channel}:{metric}={value:.6f}"


def failure_line(message: str) -> str:
    """The stderr line for a failed run: the prefix, then the message on the same line.

    CloudWatch Logs stores each line as its own event, so line breaks in the message would
    split it and a filter pattern would find only the first piece.
    """
    return FAILURE_PREFIX + " ".join(line.strip() for line in message.strip().splitlines())


def metric_definitions(channels: tuple[str, ...] = ("validation", "test")) -> list[dict[str, str]]:
    """SageMaker ``MetricDefinitions``: a name and a regex whose first group is the value.

    One per metric of each evaluated channel, plus :data:`FEATURES_METRIC`.
    """
    definitions = [
        {"Name": f"{channel}:{metric}", "Regex": rf"metric {channel}:{metric}={_VALUE}"} for channel in channels for metric in METRICS
    ]
    return [*definitions, {"Name": FEATURES_METRIC, "Regex": rf"metric {FEATURES_METRIC}={_VALUE}"}]
