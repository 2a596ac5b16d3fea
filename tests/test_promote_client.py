"""clients/promote.py against moto's model registry: promotion is an edit of a config file."""

from __future__ import annotations

import difflib
import hashlib
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
DEV_ACCOUNT = "111111111111"
IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.2-0"
DEV_MODELS, PROD_MODELS = "mlops-dev-models-111111111111-eu-west-1", "mlops-prod-models-222222222222-eu-west-1"
ARTIFACT_KEY = "training-jobs/mlops-dev-0f8fad5b/output/model.tar.gz"
ARTIFACT = b"a trained model archive"
BASELINE_KEY = "training-jobs/mlops-dev-0f8fad5b/baseline/"
BASELINE = {"statistics.json": b'{"version": 0.0, "features": []}', "constraints.json": b'{"version": 0.0, "features": []}'}
SHA256 = hashlib.sha256(ARTIFACT).hexdigest()


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    for name in ("dev.yaml", "prod.yaml"):
        shutil.copy(CONFIG_DIR / name, tmp_path / name)
    return tmp_path


def metadata(features: str | None) -> dict[str, str]:
    """What the training pipeline records: the job, the dataset and every final metric, as strings."""
    recorded = {"training_job": "mlops-dev-0f8fad5b", "dataset": "training/latest/", "validation:auc": "0.991"}
    return recorded | ({"train:features": features} if features is not None else {})


def recorded_baseline() -> dict[str, Any]:
    """What the training pipeline records on a version (DriftCheckBaselines.ModelDataQuality)."""
    return {
        part: {"ContentType": "application/json", "S3Uri": f"s3://{DEV_MODELS}/{BASELINE_KEY}{part.lower()}.json"}
        for part in ("Statistics", "Constraints")
    }


def register(client: Any, status: str, properties: dict[str, str] | None, group: str = "mlops-dev-xgboost", baseline: bool = True) -> None:
    client.create_model_package(
        **({"DriftCheckBaselines": {"ModelDataQuality": recorded_baseline()}} if baseline else {}),
        ModelPackageGroupName=group,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{DEV_MODELS}/{ARTIFACT_KEY}"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        **({"CustomerMetadataProperties": properties} if properties is not None else {}),
    )


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """dev's model registry with versions 1 (approved), 2 (rejected), 3 (approved, 31 features), 4 (pending)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = prod_registry(DEV_ACCOUNT)  # dev's registry is in dev's account
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (DEV_MODELS, PROD_MODELS):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket=DEV_MODELS, Key=ARTIFACT_KEY, Body=ARTIFACT)
        for name, body in BASELINE.items():
            s3.put_object(Bucket=DEV_MODELS, Key=BASELINE_KEY + name, Body=body)
        client.create_model_package_group(ModelPackageGroupName="mlops-dev-xgboost")
        for status, features in (("Approved", "30"), ("Rejected", "30"), ("Approved", "31"), ("PendingManualApproval", "31")):
            register(client, status, metadata(features))
        yield client


def test_moto_returns_the_metadata_the_pipeline_records(registry: Any) -> None:
    """The client reads it with DescribeModelPackage: ListModelPackages' summaries carry no metadata."""
    summary = registry.list_model_packages(ModelPackageGroupName="mlops-dev-xgboost")["ModelPackageSummaryList"][0]
    assert "CustomerMetadataProperties" not in summary
    described = registry.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
    assert described["CustomerMetadataProperties"]["train:features"] in ("30", "31")


def arn(client: Any, version: int) -> str:
    return next(
        p["ModelPackageArn"]
        for p in client.list_model_packages(ModelPackageGroupName="mlops-dev-xgboost")["ModelPackageSummaryList"]
        if p["ModelPackageVersion"] == version
    )


def prod_registry(account: str = "222222222222") -> Any:
    """A SageMaker client in prod's account (moto keeps accounts apart by the credentials STS issues)."""
    credentials = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/promoter", RoleSessionName="promote"
    )["Credentials"]
    return boto3.client(
        "sagemaker",
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def run(argv: list[str], config_dir: Path, client: Any) -> tuple[int, str]:
    out = io.StringIO()
    s3 = boto3.client("s3", region_name=REGION)

    def account_of(option: str) -> Any:
        return prod_registry() if option in argv and argv[argv.index(option) + 1] == "prod" else client

    source = account_of("--from") if "--from" in argv else account_of("--to")
    return promote.main(argv, out=out, config_dir=config_dir, client=source, s3=s3, target_client=account_of("--to")), out.getvalue()


def promoted(client: Any, group: str = "mlops-dev-xgboost") -> str:
    """The version a promotion registered: the newest of the target's group."""
    client = prod_registry() if group == "mlops-prod-xgboost" else client
    summaries = client.list_model_packages(ModelPackageGroupName=group, SortBy="CreationTime", SortOrder="Descending")
    return str(summaries["ModelPackageSummaryList"][0]["ModelPackageArn"])


def test_lists_approved_versions_newest_first(registry: Any, config_dir: Path) -> None:
    code, out = run(["list", "--env", "dev"], config_dir, registry)
    assert code == 0
    assert [line.split("\t")[0] for line in out.splitlines()] == ["3", "1"]


def test_promotes_the_newest_approved_version_into_the_config_keeping_its_comments(registry: Any, config_dir: Path) -> None:
    before = (config_dir / "dev.yaml").read_text()
    code, out = run(["promote", "--to", "dev"], config_dir, registry)
    assert code == 0
    after = (config_dir / "dev.yaml").read_text()
    model = load_environment("dev", config_dir).inference.model  # type: ignore[union-attr]
    assert model is not None
    assert (model.model_package_arn, model.features) == (promoted(registry), 31), "the package's train:features"
    assert model.artifact_sha256 == SHA256
    assert "artifact_key" not in after
    assert "# Development: cheap, disposable." in after
    assert "# managed spot training: up to 90% cheaper" in after
    changed = [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0) if line[:1] in "+-"]
    artifact_line = next(line for line in before.splitlines() if "artifact_key:" in line)
    features_line = next(line for line in before.splitlines() if line.strip().startswith("features: 30"))
    assert "#" in features_line, "dev.yaml comments its feature count"
    assert [line for line in changed[2:] if line.startswith("-")] == [f"-{artifact_line}", f"-{features_line}"]
    assert [line for line in changed[2:] if line.startswith("+")] == [
        f"+    model_package_arn: {promoted(registry)}",
        f"+    artifact_sha256: {SHA256}",
        "+    baseline_prefix: promoted/mlops-dev-xgboost/3/baseline/",
        "+" + features_line.replace("features: 30", "features: 31"),
    ], "two lines replaced, the checksum and the baseline pinned, the comment kept"
    assert out.splitlines()[1] == f"s3://{DEV_MODELS}/promoted/mlops-dev-xgboost/3/baseline/: the version's data-quality baseline"
    assert out.splitlines()[2:4] == [
        f"dev.yaml: inference.model.model_package_arn = {promoted(registry)} (was {artifact_line.split(': ')[1]})",
        "dev.yaml: inference.model.features = 31 (was 30)",
    ]


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0) if line[:1] in "+-"][2:]


@pytest.mark.parametrize("name", ["dev.yaml", "prod.yaml"])
def test_a_promotion_changes_only_the_lines_of_the_model(registry: Any, config_dir: Path, name: str) -> None:
    """prod.yaml indents its lists under their key (a YAML dump would re-indent them); odd spacing elsewhere stays too."""
    prod_registry().create_model_package_group(ModelPackageGroupName="mlops-prod-xgboost")
    register(prod_registry(), "Approved", metadata("30"), group="mlops-prod-xgboost")  # prod.yaml's version 1
    path = config_dir / name
    path.write_text(path.read_text().replace("tags:\n", "tags:      # aligned   oddly\n").replace("monitoring:\n", "monitoring:\n\n\n"))
    before = path.read_text()
    assert run(["promote", "--to", name.removesuffix(".yaml"), "--from", "dev", "--version", "3"], config_dir, registry)[0] == 0
    changed = changed_lines(before, path.read_text())
    removed = [line[1:] for line in changed if line.startswith("-")]
    added = [line[1:] for line in changed if line.startswith("+")]
    # prod.yaml names its served version's baseline already; dev's artifact has its own beside it.
    sources = ["    model_package_arn", "    baseline_prefix"] if "prod" in name else ["    artifact_key"]
    assert [line.split(":")[0] for line in removed] == [*sources, "    features"], changed
    group = "mlops-prod-xgboost" if "prod" in name else "mlops-dev-xgboost"
    assert added[:3] == [
        f"    model_package_arn: {promoted(registry, group)}",
        f"    artifact_sha256: {SHA256}",
        "    baseline_prefix: promoted/mlops-dev-xgboost/3/baseline/",
    ]
    assert added[3:] == [removed[-1].replace("features: 30", "features: 31")], "the comment kept in its column"


def test_an_empty_model_key_is_filled_in(registry: Any, config_dir: Path) -> None:
    text = (config_dir / "dev.yaml").read_text()
    text = text[: text.index("  model:\n")] + "  model:\n" + text[text.index("  variant:\n") :]
    text = text[: text.index("batch:\n")] + text[text.index("monitoring:\n") :]
    (config_dir / "dev.yaml").write_text(text)
    assert run(["promote", "--to", "dev", "--version", "3"], config_dir, registry)[0] == 0
    changed = changed_lines(text, (config_dir / "dev.yaml").read_text())
    assert changed == [
        f"+    model_package_arn: {promoted(registry)}",
        f"+    artifact_sha256: {SHA256}",
        "+    baseline_prefix: promoted/mlops-dev-xgboost/3/baseline/",
        "+    features: 31",
    ]


def test_promotes_a_chosen_version_from_dev_to_prod(registry: Any, config_dir: Path) -> None:
    prod_registry().create_model_package_group(ModelPackageGroupName="mlops-prod-xgboost")
    before = (config_dir / "prod.yaml").read_text()
    code, _ = run(["promote", "--to", "prod", "--from", "dev", "--version", "1"], config_dir, registry)
    assert code == 0
    model = load_environment("prod", config_dir).inference.model  # type: ignore[union-attr]
    assert model is not None
    assert (model.model_package_arn, model.features) == (promoted(registry, "mlops-prod-xgboost"), 30)
    features_line = next(line for line in before.splitlines() if line.strip().startswith("features:"))
    assert features_line.replace(features_line.split("#")[0], "") in (config_dir / "prod.yaml").read_text(), "its comment kept"
    assert load_environment("dev", config_dir).inference.model.artifact_key  # type: ignore[union-attr]


UNKNOWN_COUNT = (
    "error: version 5 of 'mlops-dev-xgboost' has no train:features in its CustomerMetadataProperties, so its feature count is "
    "unknown: promote a version trained since train.py reports it\n"
)
NOT_A_COUNT = "error: version 5 of 'mlops-dev-xgboost' has train:features = {!r}: not a number of features (a whole number, at least 1)\n"


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        (metadata(None), UNKNOWN_COUNT),
        (None, UNKNOWN_COUNT),
        (metadata("0"), NOT_A_COUNT.format("0")),
        (metadata("29.5"), NOT_A_COUNT.format("29.5")),
        (metadata("thirty"), NOT_A_COUNT.format("thirty")),
    ],
)
def test_refuses_a_version_without_its_feature_count(
    registry: Any, config_dir: Path, properties: dict[str, str] | None, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    register(registry, "Approved", properties)
    before = (config_dir / "dev.yaml").read_text()
    assert run(["promote", "--to", "dev"], config_dir, registry)[0] == 5
    assert capsys.readouterr().err == message
    assert (config_dir / "dev.yaml").read_text() == before, "nothing written"


def test_a_float_metric_value_is_a_feature_count(registry: Any, config_dir: Path) -> None:
    """Final metric values are floats; however the pipeline stringifies 30, it is 30 features."""
    register(registry, "Approved", metadata("30.0"))
    assert run(["promote", "--to", "dev"], config_dir, registry)[0] == 0
    assert load_environment("dev", config_dir).inference.model.features == 30  # type: ignore[union-attr]


def test_promotes_into_an_inference_section_without_a_model(registry: Any, config_dir: Path) -> None:
    text = (config_dir / "dev.yaml").read_text()
    # No model yet: no inference.model block, and no batch section (batch needs a model).
    text = text[: text.index("  model:\n")] + text[text.index("  variant:\n") :]
    text = text[: text.index("batch:\n")] + text[text.index("monitoring:\n") :]
    (config_dir / "dev.yaml").write_text(text)
    assert load_environment("dev", config_dir).inference.model is None  # type: ignore[union-attr]
    assert run(["promote", "--to", "dev", "--version", "3"], config_dir, registry)[0] == 0
    model = load_environment("dev", config_dir).inference.model  # type: ignore[union-attr]
    assert model is not None
    assert (model.model_package_arn, model.features) == (promoted(registry), 31)


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
    prod_registry().create_model_package_group(ModelPackageGroupName="mlops-prod-xgboost")
    assert run(["promote", "--to", "prod"], config_dir, registry)[0] == 3
    assert capsys.readouterr().err == "error: no approved version in 'mlops-prod-xgboost': approve one in the model registry first\n"


def test_a_promotion_serves_a_write_once_copy_in_the_targets_own_bucket_and_registry(registry: Any, config_dir: Path) -> None:
    """The copy is the file prod serves: in prod's bucket under promoted/, its checksum stored by S3
    and pinned in Git; dev rewriting its trained artifact afterwards changes nothing prod serves."""
    prod_registry().create_model_package_group(ModelPackageGroupName="mlops-prod-xgboost")
    s3 = boto3.client("s3", region_name=REGION)
    assert run(["promote", "--to", "prod", "--from", "dev", "--version", "3"], config_dir, registry)[0] == 0
    model = load_environment("prod", config_dir).inference.model  # type: ignore[union-attr]
    package = prod_registry().describe_model_package(ModelPackageName=model.model_package_arn)
    assert package["ModelApprovalStatus"] == "Approved"
    (container,) = package["InferenceSpecification"]["Containers"]
    key = "promoted/mlops-dev-xgboost/3/model.tar.gz"
    assert container["ModelDataUrl"] == f"s3://{PROD_MODELS}/{key}"
    assert package["CustomerMetadataProperties"]["promoted_from"] == arn(registry, 3)
    assert package["CustomerMetadataProperties"]["artifact:sha256"] == SHA256 == model.artifact_sha256
    s3.put_object(Bucket=DEV_MODELS, Key=ARTIFACT_KEY, Body=b"rewritten after approval")
    assert s3.get_object(Bucket=PROD_MODELS, Key=key)["Body"].read() == ARTIFACT


def test_a_promoted_key_is_never_overwritten(registry: Any, config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prod_registry().create_model_package_group(ModelPackageGroupName="mlops-prod-xgboost")
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=PROD_MODELS, Key="promoted/mlops-dev-xgboost/3/model.tar.gz", Body=b"something else")
    before = (config_dir / "prod.yaml").read_text()
    assert run(["promote", "--to", "prod", "--from", "dev", "--version", "3"], config_dir, registry)[0] == 5
    assert capsys.readouterr().err == (
        f"error: s3://{PROD_MODELS}/promoted/mlops-dev-xgboost/3/model.tar.gz exists with other content: it is write-once, "
        "so this version cannot be promoted there\n"
    )
    assert (config_dir / "prod.yaml").read_text() == before
    assert s3.get_object(Bucket=PROD_MODELS, Key="promoted/mlops-dev-xgboost/3/model.tar.gz")["Body"].read() == b"something else"


def test_the_baseline_is_copied_write_once_beside_the_artifact_and_recorded(registry: Any, config_dir: Path) -> None:
    assert run(["promote", "--to", "dev", "--version", "3"], config_dir, registry)[0] == 0
    s3 = boto3.client("s3", region_name=REGION)
    folder = "promoted/mlops-dev-xgboost/3/baseline/"
    for name, body in BASELINE.items():
        assert s3.get_object(Bucket=DEV_MODELS, Key=folder + name)["Body"].read() == body
    described = registry.describe_model_package(ModelPackageName=promoted(registry))
    expected = {
        part: {"ContentType": "application/json", "S3Uri": f"s3://{DEV_MODELS}/{folder}{part.lower()}.json"}
        for part in ("Statistics", "Constraints")
    }
    assert described["DriftCheckBaselines"] == {"ModelDataQuality": expected}
    assert load_environment("dev", config_dir).inference.model.baseline == folder  # type: ignore[union-attr]


def test_a_version_without_a_baseline_is_refused_where_the_endpoint_is_monitored(
    registry: Any, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    register(registry, "Approved", metadata("30"), baseline=False)  # version 5
    before = (config_dir / "dev.yaml").read_text()
    assert run(["promote", "--to", "dev", "--version", "5"], config_dir, registry)[0] == 5
    assert capsys.readouterr().err == (
        "error: version 5 of 'mlops-dev-xgboost' records no data-quality baseline (DriftCheckBaselines.ModelDataQuality), and "
        "dev's endpoint is monitored against one (monitoring.data_quality.enabled): promote a version trained since the pipeline "
        "computes baselines\n"
    )
    assert (config_dir / "dev.yaml").read_text() == before, "nothing written"
    assert len(registry.list_model_packages(ModelPackageGroupName="mlops-dev-xgboost")["ModelPackageSummaryList"]) == 5, (
        "nothing registered"
    )
