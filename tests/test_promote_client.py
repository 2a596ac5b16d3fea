"""clients/promote.py against moto's model registry: promotion is an edit of a config file."""

from __future__ import annotations

import difflib
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from clients import promote
from config import load_environment
from config.loader import CONFIG_DIR

REGION = "eu-west-1"
IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.2-0"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    for name in ("dev.yaml", "prod.yaml"):
        shutil.copy(CONFIG_DIR / name, tmp_path / name)
    return tmp_path


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """dev's model registry with versions 1 (approved), 2 (rejected), 3 (approved), 4 (pending)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("sagemaker", region_name=REGION)
        client.create_model_package_group(ModelPackageGroupName="mlops-dev-xgboost")
        for status in ("Approved", "Rejected", "Approved", "PendingManualApproval"):
            client.create_model_package(
                ModelPackageGroupName="mlops-dev-xgboost",
                ModelApprovalStatus=status,
                InferenceSpecification={
                    "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://b/training-jobs/j/output/model.tar.gz"}],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
            )
        yield client


def arn(client: Any, version: int) -> str:
    return next(
        p["ModelPackageArn"]
        for p in client.list_model_packages(ModelPackageGroupName="mlops-dev-xgboost")["ModelPackageSummaryList"]
        if p["ModelPackageVersion"] == version
    )


def run(argv: list[str], config_dir: Path, client: Any) -> tuple[int, str]:
    out = io.StringIO()
    return promote.main(argv, out=out, config_dir=config_dir, client=client), out.getvalue()


def test_lists_approved_versions_newest_first(registry: Any, config_dir: Path) -> None:
    code, out = run(["list", "--env", "dev"], config_dir, registry)
    assert code == 0
    assert [line.split("\t")[0] for line in out.splitlines()] == ["3", "1"]


def test_promotes_the_newest_approved_version_into_the_config_keeping_its_comments(registry: Any, config_dir: Path) -> None:
    before = (config_dir / "dev.yaml").read_text()
    code, out = run(["promote", "--to", "dev"], config_dir, registry)
    assert code == 0
    after = (config_dir / "dev.yaml").read_text()
    assert load_environment("dev", config_dir).inference.model.model_package_arn == arn(registry, 3)  # type: ignore[union-attr]
    assert "artifact_key" not in after
    assert "# Development: cheap, disposable." in after
    assert "# managed spot training: up to 90% cheaper" in after
    changed = [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0) if line[:1] in "+-"]
    assert [line[:1] for line in changed] == ["-", "+", "-", "+"], "one line replaced (after the ---/+++ header)"
    assert changed[3] == f"+    model_package_arn: {arn(registry, 3)}"
    assert out.startswith(f"dev.yaml: inference.model.model_package_arn = {arn(registry, 3)} (was training-jobs/")


def test_promotes_a_chosen_version_from_dev_to_prod(registry: Any, config_dir: Path) -> None:
    code, _ = run(["promote", "--to", "prod", "--from", "dev", "--version", "1"], config_dir, registry)
    assert code == 0
    assert load_environment("prod", config_dir).inference.model.model_package_arn == arn(registry, 1)  # type: ignore[union-attr]
    assert load_environment("dev", config_dir).inference.model.artifact_key  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["promote", "--to", "dev", "--version", "2"], 5, "error: version 2 of 'mlops-dev-xgboost' is Rejected, not Approved"),
        (["promote", "--to", "dev", "--version", "4"], 5, "error: version 4 of 'mlops-dev-xgboost' is PendingManualApproval, not Approved"),
        (["promote", "--to", "dev", "--version", "9"], 3, "error: 'mlops-dev-xgboost' has no version 9; versions: 1, 2, 3, 4"),
        (["promote", "--to", "staging"], 2, "error: unknown environment 'staging'; allowed: dev, prod"),
    ],
)
def test_refuses_what_cannot_be_promoted(
    registry: Any, config_dir: Path, argv: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (config_dir / "dev.yaml").read_text()
    assert run(argv, config_dir, registry)[0] == code
    assert capsys.readouterr().err.startswith(message)
    assert (config_dir / "dev.yaml").read_text() == before, "nothing written"


def test_unknown_group(registry: Any, config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["list", "--env", "prod"], config_dir, registry)[0] == 3
    assert capsys.readouterr().err == "error: model package group 'mlops-prod-xgboost' not found\n"


def test_nothing_approved(registry: Any, config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry.create_model_package_group(ModelPackageGroupName="mlops-prod-xgboost")
    assert run(["promote", "--to", "prod"], config_dir, registry)[0] == 3
    assert capsys.readouterr().err == "error: no approved version in 'mlops-prod-xgboost': approve one in the model registry first\n"
