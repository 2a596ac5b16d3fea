"""AWS's own rules from botocore's service models, for configuration checks at synth (offline).

botocore ships with boto3, which the app depends on: its models carry the instance types each
SageMaker API accepts, name patterns and numeric limits, updated with every release. A model is
read once per process and only when a check asks for it (a quarter of a second for SageMaker's).
No aws_cdk here: config validation must not start jsii.
"""

from __future__ import annotations

import difflib
import functools
import re
from typing import Any, Literal

InstanceUse = Literal["training", "endpoint", "transform", "processing"]

INSTANCE_TYPE_SHAPES: dict[InstanceUse, str] = {
    "training": "TrainingInstanceType",  # CreateTrainingJob ResourceConfig.InstanceType
    "endpoint": "ProductionVariantInstanceType",  # CreateEndpointConfig ProductionVariants[].InstanceType
    "transform": "TransformInstanceType",  # CreateTransformJob TransformResources.InstanceType
    # CreateProcessingJob ProcessingResources.ClusterConfig.InstanceType, and the monitoring jobs'
    # MonitoringResources.ClusterConfig.InstanceType (DataQualityJobDefinition, MonitoringSchedule)
    "processing": "ProcessingInstanceType",
}


@functools.cache
def service_model(service: str) -> dict[str, Any]:
    from botocore.loaders import Loader

    return Loader().load_service_model(service, "service-2")


def shape(service: str, name: str) -> dict[str, Any]:
    return service_model(service)["shapes"][name]


def member_documentation(service: str, structure: str, member: str) -> str:
    """A member's documentation, HTML tags removed (the text AWS's API reference shows)."""
    raw = shape(service, structure)["members"][member].get("documentation", "")
    return " ".join(re.sub(r"<[^>]+>", "", raw).split())


@functools.cache
def instance_types(use: InstanceUse) -> tuple[str, ...]:
    return tuple(shape("sagemaker", INSTANCE_TYPE_SHAPES[use])["enum"])


def unknown_instance_type(value: str, use: InstanceUse) -> str | None:
    """None when SageMaker offers ``value`` for ``use``; otherwise what to say instead."""
    offered = instance_types(use)
    if value in offered:
        return None
    family = value.rsplit(".", 1)[0] + "."
    sizes = [name for name in offered if name.startswith(family)]
    allowed = f"allowed: a SageMaker {use} instance type (botocore's SageMaker {INSTANCE_TYPE_SHAPES[use]}, {len(offered)} types)"
    guesses = difflib.get_close_matches(value, sizes or offered, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(guess) for guess in guesses)}?" if guesses else ""
    if sizes:
        return f"{allowed}{hint} ({family[:-1]} comes in {', '.join(sizes)})"
    others = [other for other in INSTANCE_TYPE_SHAPES if other != use and value in instance_types(other)]
    offered_elsewhere = f"; {value} is offered for {' and '.join(others)} only" if others else ""
    return f"{allowed}{offered_elsewhere}{hint}"


def name_problem(service: str, shape_name: str, value: str) -> str | None:
    """None when ``value`` fits the string shape's length and pattern; otherwise the rule it breaks."""
    rules = shape(service, shape_name)
    low, high = rules.get("min", 0), rules.get("max")
    if len(value) < low or (high is not None and len(value) > high):
        return f"{len(value)} characters; {service} {shape_name} allows {low} to {high}"
    pattern = rules.get("pattern")
    if pattern and not re.fullmatch(pattern.removeprefix("^").removesuffix("$"), value):
        return f"does not match {service} {shape_name} pattern {pattern}"
    return None


def _numbers_after(text: str, lead: str) -> tuple[int, ...]:
    """The integers listed after ``lead`` in a documentation sentence ("... are: 1, 3, and 5.")."""
    found = re.search(re.escape(lead) + r"([\d, and]+)", text)
    if not found:
        raise LookupError(f"botocore's documentation no longer says {lead!r}: {text[:200]!r}")
    return tuple(int(number) for number in re.findall(r"\d+", found.group(1)))


@functools.cache
def log_retention_days() -> tuple[int, ...]:
    """The retention periods CloudWatch Logs accepts (PutRetentionPolicy ``retentionInDays``, shape ``Days``)."""
    documentation = " ".join(re.sub(r"<[^>]+>", "", shape("logs", "Days").get("documentation", "")).split())
    return _numbers_after(documentation, "Possible values are: ")


def waf_rate_limit_range() -> tuple[int, int]:
    """The request counts a WAF rate-based rule accepts (wafv2 ``RateBasedStatement.Limit``)."""
    rules = shape("wafv2", shape("wafv2", "RateBasedStatement")["members"]["Limit"]["shape"])
    return int(rules["min"]), int(rules["max"])


@functools.cache
def waf_evaluation_windows() -> tuple[int, ...]:
    """The look-back windows of a WAF rate-based rule (``RateBasedStatement.EvaluationWindowSec``)."""
    return _numbers_after(member_documentation("wafv2", "RateBasedStatement", "EvaluationWindowSec"), "Valid settings are ")
