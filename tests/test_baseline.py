"""Each trained version's data-quality baseline: its input is what the endpoint receives (features
only, in the training column order, no label), and the registered version records where it is."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ml_constructs.baseline import FEATURES_SCRIPT, PROCESSING_DIR
from ml_constructs.images import model_monitor_image
from tests.conftest import SynthesizedEnvironment
from tests.support.asl import definition_of, evaluate

ENVIRONMENTS = ("dev", "prod")


def states_of(environment: SynthesizedEnvironment) -> dict[str, Any]:
    return definition_of(environment["Training"].resource("AWS::StepFunctions::StateMachine"))["States"]


@pytest.fixture(params=ENVIRONMENTS, scope="module")
def environment(request: pytest.FixtureRequest, synthesized: dict[str, SynthesizedEnvironment]) -> SynthesizedEnvironment:
    return synthesized[request.param]


def run_features_job(request: dict[str, Any], channel: Path, output: Path) -> subprocess.CompletedProcess[str]:
    """The features job's container command, as SageMaker runs it (ContainerEntrypoint, then
    ContainerArguments), with its /opt/ml/processing folders moved to ``channel`` and ``output``."""
    app = request["AppSpecification"]
    local_in = request["ProcessingInputs"][0]["S3Input"]["LocalPath"]
    local_out = request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["LocalPath"]
    moved = {local_in: str(channel), local_out: str(output)}
    output.mkdir(parents=True, exist_ok=True)
    return subprocess.run([*app["ContainerEntrypoint"], *(moved[a] for a in app["ContainerArguments"])], capture_output=True, text=True)


def write_training_channel(folder: Path) -> list[list[str]]:
    """The breast cancer data in the training layout (label first, no header), in two files and
    with a marker and a hidden file beside them; returns the rows as written."""
    from sklearn.datasets import load_breast_cancer  # on first use, not when each worker collects

    features, labels = load_breast_cancer(return_X_y=True)
    rows = [[str(int(label)), *(f"{value:.6g}" for value in row)] for label, row in zip(labels, features, strict=True)]
    rows[3][5] = ""  # a missing value stays an empty cell
    folder.mkdir(parents=True)
    for name, part in (("part-00000.csv", rows[:300]), ("part-00001.csv", rows[300:])):
        with (folder / name).open("w", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(part)
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-00000.csv.crc").write_text("not,data\n")
    return rows


def read_rows(folder: Path) -> list[list[str]]:
    rows: list[list[str]] = []
    for path in sorted(folder.iterdir()):
        with path.open(newline="") as handle:
            rows.extend(csv.reader(handle))
    return rows


def test_the_baseline_input_has_the_endpoints_columns_not_the_label(environment: SynthesizedEnvironment, tmp_path: Path) -> None:
    request = states_of(environment)["BaselineFeatures"]["Arguments"]
    written = write_training_channel(tmp_path / "train")
    done = run_features_job(request, tmp_path / "train", tmp_path / "features")
    assert done.returncode == 0, done.stderr
    baseline_rows = read_rows(tmp_path / "features")
    # Every training row, in order, without its first column: the label.
    assert baseline_rows == [row[1:] for row in written]
    assert baseline_rows[3][4] == ""
    # As wide as the rows the endpoint accepts (the model's features, as clients check them).
    model = environment.config.inference.model if environment.config.inference else None
    assert model is not None
    assert {len(row) for row in baseline_rows} == {model.features}


def test_the_features_job_fails_and_says_why_on_an_empty_channel(environment: SynthesizedEnvironment, tmp_path: Path) -> None:
    request = states_of(environment)["BaselineFeatures"]["Arguments"]
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "_SUCCESS").write_text("")
    done = run_features_job(request, tmp_path / "train", tmp_path / "features")
    assert done.returncode != 0
    assert "no training files in" in done.stderr


def test_the_features_script_is_one_container_argument_sagemaker_accepts() -> None:
    # ContainerEntrypoint items hold at most 256 characters (botocore's SageMaker model).
    assert len(FEATURES_SCRIPT) <= 256


def test_the_analyzer_reads_the_features_and_writes_beside_the_model(environment: SynthesizedEnvironment) -> None:
    states = states_of(environment)
    features, analyzer = states["BaselineFeatures"]["Arguments"], states["Baseline"]["Arguments"]
    bucket = f"s3://{environment.config.bucket_names['models']}"
    job = {"jobName": f"{environment.config.prefix}-0f8fad5b", "dataset": "training/2026-11-01/"}
    channel, written, read, results = evaluate(
        [
            (features["ProcessingInputs"][0]["S3Input"]["S3Uri"], job),
            (features["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"], job),
            (analyzer["ProcessingInputs"][0]["S3Input"]["S3Uri"], job),
            (analyzer["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"], job),
        ]
    )
    assert channel == f"s3://{environment.config.bucket_names['data']}/training/2026-11-01/train/"
    assert written == read == f"{bucket}/training-jobs/{job['jobName']}/baseline/features/"
    # Beside the model, which the training job writes to training-jobs/<job>/output/model.tar.gz.
    assert results == f"{bucket}/training-jobs/{job['jobName']}/baseline/"
    assert analyzer["AppSpecification"] == {"ImageUri": model_monitor_image(environment.config.region)[2]}
    assert analyzer["Environment"]["dataset_source"] == analyzer["ProcessingInputs"][0]["S3Input"]["LocalPath"]
    assert analyzer["Environment"]["output_path"] == analyzer["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["LocalPath"]
    assert analyzer["Environment"]["dataset_format"] == '{"csv": {"header": false, "output_columns_position": "START"}}'
    assert all(path.startswith(PROCESSING_DIR) for path in analyzer["Environment"].values() if path.startswith("/"))


def test_the_registered_version_records_its_baseline(environment: SynthesizedEnvironment) -> None:
    states = states_of(environment)
    job = {"jobName": f"{environment.config.prefix}-0f8fad5b"}
    [baseline] = evaluate([(states["Baseline"]["Assign"]["baseline"], job)])
    folder = f"s3://{environment.config.bucket_names['models']}/training-jobs/{job['jobName']}/baseline/"
    assert baseline == {"statistics": f"{folder}statistics.json", "constraints": f"{folder}constraints.json"}
    register = states["RegisterModel"]["Arguments"]
    recorded = {
        "Statistics": {"ContentType": "application/json", "S3Uri": "{% $baseline.statistics %}"},
        "Constraints": {"ContentType": "application/json", "S3Uri": "{% $baseline.constraints %}"},
    }
    assert register["DriftCheckBaselines"] == {"ModelDataQuality": recorded}
    assert register["ModelMetrics"] == {"ModelDataQuality": recorded}
    # Only versions that passed the gate get a baseline, and every one of them does.
    assert states["QualityGate"]["Choices"][0]["Next"] == "BaselineFeatures"
    assert states["BaselineFeatures"]["Next"] == "Baseline"
    assert states["Baseline"]["Next"] == "CreateModel"


@pytest.mark.parametrize("state", ["BaselineFeatures", "Baseline"])
def test_baseline_jobs_are_encrypted_isolated_and_bounded(environment: SynthesizedEnvironment, state: str) -> None:
    request = states_of(environment)[state]["Arguments"]
    config = environment.config.training.baseline
    key = request["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"]
    assert key.startswith("<import:")
    assert "DataKey" in key
    assert request["ProcessingOutputConfig"]["KmsKeyId"] == key
    assert request["NetworkConfig"] == {"EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": True}
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": config.max_runtime_seconds}
    assert request["ProcessingResources"]["ClusterConfig"]["InstanceType"] == config.instance_type
    assert request["RoleArn"].startswith("<BaselineJobRole")


def test_a_failed_baseline_names_the_step_the_training_job_and_the_reason(environment: SynthesizedEnvironment) -> None:
    states = states_of(environment)
    failure = states["Baseline"]["Catch"][0]["Assign"]["failure"]
    error = {"Error": "States.TaskFailed", "Cause": '{"FailureReason": "AlgorithmError: See job logs for more information"}'}
    bindings = {"jobName": f"{environment.config.prefix}-run-7", "states": {"errorOutput": error}}
    name, cause = evaluate([(failure["Error"], bindings), (failure["Cause"], bindings)])
    assert name == "States.TaskFailed"
    assert cause == (
        f"The data-quality baseline of training job {environment.config.prefix}-run-7 failed (processing job "
        f"{environment.config.prefix}-run-7-baseline): " + error["Cause"]
    )
