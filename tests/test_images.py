"""The offline image lookup agrees with the SageMaker SDK for every version and region."""

from __future__ import annotations

import pytest

from ml_constructs.images import (
    latest_xgboost_framework_version,
    xgboost_framework_versions,
    xgboost_image_uri,
    xgboost_regions,
)


def sdk_uri(version: str, region: str, scope: str) -> str:
    # Each call reads botocore's endpoints through a loader that tests/conftest.py shares.
    from sagemaker.core import image_uris  # on first use: every test worker collects this module

    return image_uris.retrieve("xgboost", region=region, version=version, image_scope=scope)


@pytest.mark.parametrize("scope", ["training", "inference"])
@pytest.mark.parametrize("version", xgboost_framework_versions())
def test_matches_the_sdk_in_every_region_for_every_version(version: str, scope: str) -> None:
    regions = xgboost_regions(version, scope)  # type: ignore[arg-type]
    assert len(regions) > 25
    for region in regions:
        assert xgboost_image_uri(version, region, scope) == sdk_uri(version, region, scope)  # type: ignore[arg-type]


def test_latest_is_the_newest_script_mode_version() -> None:
    versions = xgboost_framework_versions()
    assert latest_xgboost_framework_version() == versions[-1]
    assert "1.7-1" in versions
    assert not [v for v in versions if v.startswith("0.")]


def test_unknown_version_or_region_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"XGBoost framework version '0.1-0' is unknown; known: 1.2-1"):
        xgboost_image_uri("0.1-0", "eu-west-1")
    with pytest.raises(ValueError, match="is not published in region 'mars-north-1'"):
        xgboost_image_uri(latest_xgboost_framework_version(), "mars-north-1")


def test_tests_run_the_xgboost_the_default_container_runs() -> None:
    """The container tag is <xgboost major.minor>-<build>; train.py is tested with that XGBoost."""
    import xgboost

    release = latest_xgboost_framework_version().split("-")[0]
    assert xgboost.__version__.startswith(f"{release}."), (xgboost.__version__, release)


def test_model_monitor_image_matches_the_sdk_in_every_region() -> None:
    from sagemaker.core import image_uris

    from ml_constructs.images import model_monitor_image, model_monitor_regions

    regions = model_monitor_regions()
    assert "eu-west-1" in regions
    assert len(regions) > 25
    for region in regions:
        assert model_monitor_image(region)[2] == image_uris.retrieve("model-monitor", region=region)


def test_model_monitor_image_in_an_unknown_region_is_a_clear_error() -> None:
    from ml_constructs.images import model_monitor_image

    with pytest.raises(ValueError, match="Model Monitor's analyzer image is not published in region 'mars-north-1'"):
        model_monitor_image("mars-north-1")
