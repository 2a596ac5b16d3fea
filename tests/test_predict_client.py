"""clients/predict.py: good calls and each failure a person can run into.

The endpoint is played by the model train.py produced, served the way the XGBoost container's
default inference serves it, so that training and serving are checked to agree on formats.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from sklearn.datasets import load_breast_cancer

from clients import predict
from tests.support import xgboost_serving
from training_scripts import train as train_script

PROJECT_DIR = Path(__file__).resolve().parents[1]
REGION = "eu-west-1"
ENDPOINT = "mlops-dev-xgboost"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    features, labels = load_breast_cancer(return_X_y=True)
    root = tmp_path_factory.mktemp("model")
    for channel, part in (("train", slice(0, 400)), ("validation", slice(400, None))):
        (root / channel).mkdir()
        np.savetxt(root / channel / "data.csv", np.column_stack([labels[part], features[part]]), delimiter=",", fmt="%.10g")
    argv = ["--train", str(root / "train"), "--validation", str(root / "validation"), "--model-dir", str(root / "model")]
    assert train_script.main([*argv, "--output-data-dir", str(root / "data"), "--num_round", "30"]) == 0
    return root / "model"


ROW_LABELS = [0, 0, 0, 0, 1, 1, 1]


@pytest.fixture(scope="module")
def rows_csv() -> str:
    """Seven rows of the data set (features only): four malignant (0), three benign (1)."""
    features, labels = load_breast_cancer(return_X_y=True)
    picked = [*np.flatnonzero(labels == 0)[:4], *np.flatnonzero(labels == 1)[:3]]
    return "\n".join(",".join(f"{v:.6g}" for v in features[i]) for i in picked) + "\n"


def run(argv: list[str], stdin: str, invoke: predict.Invoke | None = None) -> tuple[int, str]:
    out = io.StringIO()
    code = predict.main(argv, stdin=io.StringIO(stdin), stdout=out, invoke=invoke)
    return code, out.getvalue()


def test_served_model_answers_csv_with_probabilities(model_dir: Path, rows_csv: str, capsys: pytest.CaptureFixture[str]) -> None:
    booster = xgboost_serving.load_model(model_dir)
    code, out = run(["--env", "dev"], rows_csv, lambda payload: xgboost_serving.invoke(booster, payload))
    assert code == 0, capsys.readouterr().err
    predictions = [float(line) for line in out.splitlines()]
    assert len(predictions) == 7
    assert all(0 <= p <= 1 for p in predictions)
    assert [round(p) for p in predictions] == ROW_LABELS


# --- boto3 (sagemaker-runtime InvokeEndpoint), stubbed ------------------------------------------


@pytest.fixture
def runtime() -> Iterator[tuple[object, Stubber]]:
    client = boto3.client("sagemaker-runtime", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber


def body(text: str) -> StreamingBody:
    return StreamingBody(io.BytesIO(text.encode()), len(text))


def test_boto3_good_call_batches_rows_and_prints_predictions(runtime: tuple[object, Stubber], rows_csv: str) -> None:
    client, stubber = runtime
    for predictions in ("0.1\n0.2\n0.3", "0.4,0.5,0.6", "0.7"):  # newline- or comma-separated, as containers answer
        stubber.add_response(
            "invoke_endpoint",
            {"Body": body(predictions), "ContentType": "text/csv"},
            {"EndpointName": ENDPOINT, "ContentType": "text/csv", "Accept": "text/csv", "Body": ANY},
        )
    target = predict.Target(ENDPOINT, REGION)
    code, out = run(["--env", "dev", "--batch-size", "3"], rows_csv, predict.boto3_invoke(target, client))
    assert code == 0
    assert out.splitlines() == ["0.100000", "0.200000", "0.300000", "0.400000", "0.500000", "0.600000", "0.700000"]
    stubber.assert_no_pending_responses()


def test_endpoint_not_found(runtime: tuple[object, Stubber], rows_csv: str, capsys: pytest.CaptureFixture[str]) -> None:
    client, stubber = runtime
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code="ValidationException",
        service_message=f"Endpoint {ENDPOINT} of account 111111111111 not found.",
    )
    code, _ = run(["--env", "dev"], rows_csv, predict.boto3_invoke(predict.Target(ENDPOINT, REGION), client))
    assert code == 3
    assert capsys.readouterr().err == f"error: endpoint '{ENDPOINT}' not found in {REGION}: is the Inference stack deployed there?\n"


def test_model_error(runtime: tuple[object, Stubber], rows_csv: str, capsys: pytest.CaptureFixture[str]) -> None:
    client, stubber = runtime
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code="ModelError",
        service_message='Received client error (400) from primary with message "feature_names mismatch"',
        response_meta={"OriginalStatusCode": 400},
    )
    code, _ = run(["--env", "dev"], rows_csv, predict.boto3_invoke(predict.Target(ENDPOINT, REGION), client))
    assert code == 5
    assert capsys.readouterr().err.startswith("error: the model failed on this input (container status ")


def test_access_denied(runtime: tuple[object, Stubber], rows_csv: str, capsys: pytest.CaptureFixture[str]) -> None:
    client, stubber = runtime
    stubber.add_client_error("invoke_endpoint", service_error_code="AccessDeniedException", service_message="not authorized")
    code, _ = run(["--env", "dev"], rows_csv, predict.boto3_invoke(predict.Target(ENDPOINT, REGION), client))
    assert code == 4
    assert capsys.readouterr().err == "error: AWS refused the credentials (AccessDeniedException): not authorized\n"


def test_answer_with_the_wrong_number_of_predictions(rows_csv: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(["--env", "dev"], rows_csv, lambda payload: b"0.5\n")
    assert code == 5
    assert capsys.readouterr().err == "error: the endpoint returned 1 predictions for 7 rows\n"


def test_no_credentials_end_to_end(tmp_path: Path, rows_csv: str) -> None:
    """The real command, in a clean environment: no keys, no profile, no instance metadata."""
    (tmp_path / "rows.csv").write_text(rows_csv)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    result = subprocess.run(
        [sys.executable, "-m", "clients.predict", "--env", "dev", str(tmp_path / "rows.csv")],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 4
    assert result.stderr == "error: no AWS credentials found: set AWS_PROFILE, or run `aws configure` or `aws sso login`\n"


# --- bad input: caught before any request -------------------------------------------------------


def never_called(payload: bytes) -> bytes:
    raise AssertionError("no request may be sent for bad input")


@pytest.mark.parametrize(
    ("stdin", "argv", "message"),
    [
        ("1,2,3\n4,5\n", [], "error: stdin line 2: 2 values, expected 3 (features only, no label)"),
        ("1,2,3\n4,x,6\n", [], "error: stdin line 2, column 2: 'x' is not a number"),
        ("\n\n", [], "error: stdin: no rows to send"),
        ("1,2,3\n", ["--features", "30"], "error: stdin line 1: 3 values, expected 30 (features only, no label)"),
    ],
)
def test_malformed_csv(stdin: str, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(["--env", "dev", *argv], stdin, never_called)
    assert code == 2
    assert capsys.readouterr().err == message + "\n"


def test_missing_file_and_unknown_environment(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--env", "dev", "/nonexistent.csv"], "", never_called)[0] == 2
    assert capsys.readouterr().err == "error: cannot read /nonexistent.csv: No such file or directory\n"
    assert run(["--env", "staging"], "1,2\n", never_called)[0] == 2
    assert capsys.readouterr().err.startswith("error: unknown environment 'staging'; allowed: dev, prod")


# --- the SageMaker SDK path, against moto ---------------------------------------------------------


@mock_aws
def test_sdk_good_call(model_dir: Path, rows_csv: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.sagemakerruntime.models import sagemakerruntime_backends

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_model(ModelName="m", ExecutionRoleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/r", PrimaryContainer={"Image": "i"})
    sagemaker.create_endpoint_config(
        EndpointConfigName="c",
        ProductionVariants=[
            {"VariantName": "primary-m5-large", "ModelName": "m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
        ],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 50,
            "DestinationS3Uri": "s3://b/data-capture/",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
    )
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="c")
    # The endpoint answers with what the trained model computes for these rows.
    expected = xgboost_serving.invoke(xgboost_serving.load_model(model_dir), rows_csv.encode()).decode()
    sagemakerruntime_backends[DEFAULT_ACCOUNT_ID][REGION].results_queue.append((expected, "text/csv", "primary-m5-large", ""))

    target = predict.Target(ENDPOINT, REGION)
    code, out = run(["--env", "dev", "--via", "sdk"], rows_csv, predict.sdk_invoke(target))
    assert code == 0, capsys.readouterr().err
    assert [round(float(v), 6) for v in out.splitlines()] == [round(float(v), 6) for v in expected.splitlines()]
    # Failures come back as the same botocore errors as through boto3 (mapped by aws_errors,
    # tested above); moto's runtime answers for any endpoint name, so it cannot play "not found".


@mock_aws
def test_assumes_a_role_before_calling(model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """What the delivery pipeline's smoke test runs: another account's role, then InvokeEndpoint."""
    from moto.sagemakerruntime.models import sagemakerruntime_backends

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    rows = (PROJECT_DIR / "clients" / "smoke_rows.csv").read_text()
    expected = xgboost_serving.invoke(xgboost_serving.load_model(model_dir), rows.encode()).decode()
    sagemakerruntime_backends[DEFAULT_ACCOUNT_ID][REGION].results_queue.append((expected, "text/csv", "primary-m5-large", ""))
    role = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/mlops-dev-endpoint-smoke-test"
    code, out = run(["--endpoint", ENDPOINT, "--region", REGION, "--assume-role", role], rows)
    assert code == 0, capsys.readouterr().err
    assert [round(float(v)) for v in out.splitlines()] == [0, 1, 1], "the smoke rows: one malignant, two benign"
