"""SageMaker XGBoost container images, resolved offline from the SageMaker SDK's bundled tables.

Reading the JSON table straight from the installed ``sagemaker-core`` distribution keeps synth
free of network calls and avoids importing the SDK (over a second of start-up per synth).
``tests`` check that the result equals ``sagemaker.core.image_uris.retrieve``.
"""

from __future__ import annotations

import functools
import json
from importlib import metadata
from typing import Any, Literal

ImageScope = Literal["training", "inference"]
_TABLE = "sagemaker/core/image_uri_config/xgboost.json"


@functools.cache
def _table() -> dict[str, Any]:
    path = metadata.distribution("sagemaker-core").locate_file(_TABLE)
    return json.loads(path.read_text())  # type: ignore[union-attr]


def _versions(scope: ImageScope) -> dict[str, Any]:
    return _table()[scope]["versions"]


# Script mode (a user entry point in the framework container) starts with 1.2-1; older tags
# are the legacy built-in algorithm images with a different tag scheme.
_OLDEST_SCRIPT_MODE = (1, 2, 1)
# Isolated partitions (us-iso*) use other DNS suffixes and are out of scope.
_PARTITION_PREFIXES = ("us-iso",)


def _version_key(version: str) -> tuple[int, ...]:
    release, _, build = version.partition("-")
    return (*(int(p) for p in release.split(".")), int(build))


def xgboost_framework_versions(scope: ImageScope = "training") -> list[str]:
    """Script-mode framework container versions such as ``1.7-1`` or ``3.2-0``, oldest first."""
    versions = [v for v in _versions(scope) if "-" in v and _version_key(v) >= _OLDEST_SCRIPT_MODE]
    return sorted(versions, key=_version_key)


def latest_xgboost_framework_version() -> str:
    return xgboost_framework_versions("training")[-1]


def xgboost_regions(version: str, scope: ImageScope = "training") -> list[str]:
    return sorted(r for r in _versions(scope)[version]["registries"] if not r.startswith(_PARTITION_PREFIXES))


def all_xgboost_regions() -> frozenset[str]:
    return frozenset(
        region for scope in ("training", "inference") for v in xgboost_framework_versions(scope) for region in xgboost_regions(v, scope)
    )


def xgboost_image(version: str, region: str, scope: ImageScope = "training") -> tuple[str, str, str]:
    """(registry account, repository, image URI) for a framework version in a region."""
    versions = _versions(scope)
    if version not in xgboost_framework_versions(scope):
        raise ValueError(f"XGBoost framework version {version!r} is unknown; known: {', '.join(xgboost_framework_versions(scope))}")
    entry = versions[version]
    account = entry["registries"].get(region)
    if account is None or region not in xgboost_regions(version, scope):
        raise ValueError(f"XGBoost framework version {version!r} is not published in region {region!r}")
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    repository = entry["repository"]
    return account, repository, f"{account}.dkr.ecr.{region}.{domain}/{repository}:{version}"


def xgboost_image_uri(version: str, region: str, scope: ImageScope = "training") -> str:
    return xgboost_image(version, region, scope)[2]


# --- SageMaker Model Monitor's analyzer (the pre-built data-quality container) ----------------

_MODEL_MONITOR_TABLE = "sagemaker/core/image_uri_config/model-monitor.json"


@functools.cache
def _model_monitor_table() -> dict[str, Any]:
    path = metadata.distribution("sagemaker-core").locate_file(_MODEL_MONITOR_TABLE)
    return json.loads(path.read_text())  # type: ignore[union-attr]


def _model_monitor_entry() -> dict[str, Any]:
    # One unversioned entry: the SDK's retrieve("model-monitor", region) names no tag either.
    (entry,) = _model_monitor_table()["versions"].values()
    return entry


def model_monitor_regions() -> list[str]:
    return sorted(r for r in _model_monitor_entry()["registries"] if not r.startswith(_PARTITION_PREFIXES))


def model_monitor_image(region: str) -> tuple[str, str, str]:
    """(registry account, repository, image URI) of the Model Monitor analyzer in a region."""
    entry = _model_monitor_entry()
    account = entry["registries"].get(region)
    if account is None or region not in model_monitor_regions():
        raise ValueError(f"SageMaker Model Monitor's analyzer image is not published in region {region!r}")
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    repository = entry["repository"]
    return account, repository, f"{account}.dkr.ecr.{region}.{domain}/{repository}"
