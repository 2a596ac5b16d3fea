"""What an instance type brings, for thresholds that scale with it (offline)."""

from __future__ import annotations

import functools
import json
from importlib import metadata

# vCPUs by size for the general, compute, memory and accelerated families SageMaker offers
# (burstable t2/t3 medium and small have 2 as well).
_VCPUS_BY_SIZE = {"small": 2, "medium": 2, "large": 2, "xlarge": 4}


def vcpus(instance_type: str) -> int:
    size = instance_type.split(".")[-1]
    if size in _VCPUS_BY_SIZE:
        return _VCPUS_BY_SIZE[size]
    multiple = size.removesuffix("xlarge")
    if not multiple.isdigit():
        raise ValueError(f"unknown instance size in {instance_type!r}")
    return 4 * int(multiple)


@functools.cache
def _gpu_table() -> dict[str, dict[str, dict[str, int]]]:
    path = metadata.distribution("sagemaker-core").locate_file("sagemaker/core/image_uri_config/instance_gpu_info.json")
    return json.loads(path.read_text())  # type: ignore[union-attr]


def gpus(instance_type: str, region: str) -> int:
    """GPUs of the instance type, from the SageMaker SDK's table (0 for CPU instances)."""
    return _gpu_table().get(region, {}).get(instance_type, {}).get("Count", 0)
