"""clients/predict.py: good calls and each failure a person can run into.

The endpoint is played by the model train.py produced, served the way the XGBoost container's
default inference serves it (``tests/support/xgboost_serving.py``, which cites the container's
code), so that training and serving are checked to agree on formats — and so that the tests show
what the container does with rows the client refuses: a row one feature short is scored.
"""

from __future__ import annotations

import gzip
import io
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import pytest
import xgboost as xgb
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from sklearn.datasets import load_breast_cancer

from clients import predict
from config import load_environment
from tests.support import xgboost_serving
from tests.support.xgboost_serving import ContainerError, ServedModel
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


@pytest.fixture(scope="module")
def served(model_dir: Path) -> ServedModel:
    return xgboost_serving.load_model(model_dir)


ROW_LABELS = [0, 0, 0, 0, 1, 1, 1]
FEATURES = 30
"""The breast cancer data set's; config/dev.yaml's inference.model.features says the same."""


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    """Seven rows of the data set (features only): four malignant (0), three benign (1)."""
    features, labels = load_breast_cancer(return_X_y=True)
    picked = [*np.flatnonzero(labels == 0)[:4], *np.flatnonzero(labels == 1)[:3]]
    return features[picked]


def as_csv(rows: np.ndarray) -> str:
    return "\n".join(",".join(f"{v:.6g}" for v in row) for row in rows) + "\n"


@pytest.fixture(scope="module")
def rows_csv(rows: np.ndarray) -> str:
    return as_csv(rows)


def scores(answer: bytes) -> list[float]:
    """A real-time answer: one line, the predictions separated by commas."""
    return [float(v) for v in answer.decode().split(",")]


def test_the_configured_feature_count_is_the_data_sets() -> None:
    model = load_environment("dev").inference.model  # type: ignore[union-attr]
    assert model is not None
    assert model.features == FEATURES == load_breast_cancer().data.shape[1]


def run(argv: list[str], stdin: str, invoke: predict.Invoke | None = None) -> tuple[int, str]:
    out = io.StringIO()
    code = predict.main(argv, stdin=io.StringIO(stdin), stdout=out, invoke=invoke)
    return code, out.getvalue()


def test_served_model_answers_csv_with_probabilities(served: ServedModel, rows_csv: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["--env", "dev"], rows_csv, lambda payload: xgboost_serving.invoke(served, payload))
    assert code == 0, capsys.readouterr().err
    predictions = [float(line) for line in out.splitlines()]
    assert len(predictions) == 7
    assert all(0 <= p <= 1 for p in predictions)
    assert [round(p) for p in predictions] == ROW_LABELS


def test_endpoint_with_its_feature_count(served: ServedModel, rows_csv: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--endpoint", ENDPOINT, "--region", REGION, "--features", str(FEATURES)]
    code, out = run(argv, rows_csv, lambda payload: xgboost_serving.invoke(served, payload))
    assert code == 0, capsys.readouterr().err
    assert [round(float(v)) for v in out.splitlines()] == ROW_LABELS


# --- what the container does with what it is sent (why the client checks widths) ----------------


def test_the_model_file_train_py_writes_is_loaded_by_xgboosts_own_loader(model_dir: Path, served: ServedModel) -> None:
    """The container tries pickle first; train.py's UBJSON file is not a pickle."""
    assert [p.name for p in model_dir.iterdir()] == ["xgboost-model"]
    assert served.formats == (xgboost_serving.NATIVE_FORMAT,)
    assert served.num_features == FEATURES


def test_a_real_time_answer_is_one_comma_separated_line_and_a_batch_answer_one_line_per_row(served: ServedModel, rows_csv: str) -> None:
    online = xgboost_serving.invoke(served, rows_csv.encode())
    batch = xgboost_serving.invoke(served, rows_csv.encode(), batch=True)
    assert b"\n" not in online
    assert batch.decode().splitlines() == online.decode().split(",")
    assert batch.endswith(b"\n")


def test_a_row_one_feature_short_is_scored_without_complaint(served: ServedModel, rows: np.ndarray) -> None:
    """The 29 values are read as features 1..29 and the 30th as missing: HTTP 200, other probabilities."""
    right = scores(xgboost_serving.invoke(served, as_csv(rows).encode()))
    for short in (rows[:, 1:], rows[:, :-1]):  # the first value forgotten, or the last
        status, answer = xgboost_serving.respond(served, as_csv(short).encode())
        assert status == 200
        assert len(scores(answer)) == len(rows)
    shifted = scores(xgboost_serving.invoke(served, as_csv(rows[:, 1:]).encode()))
    assert max(abs(a - b) for a, b in zip(shifted, right, strict=True)) > 0.1, "scored, but as other rows"


def test_a_row_one_feature_too_wide_is_refused_by_xgboost(served: ServedModel, rows: np.ndarray) -> None:
    """A label column left in: XGBoost checks that a matrix is not wider than the model (HTTP 400)."""
    with_label = np.column_stack([np.zeros(len(rows)), rows])
    with pytest.raises(ContainerError) as refused:
        xgboost_serving.invoke(served, as_csv(with_label).encode())
    assert refused.value.status == 400
    assert refused.value.message.startswith("Unable to evaluate payload provided: ")
    assert "(30 vs. 31) : Number of columns does not match number of features in booster." in refused.value.message


def test_an_empty_cell_is_a_missing_value(served: ServedModel, rows: np.ndarray) -> None:
    csv_rows = as_csv(rows).splitlines()
    with_gap = [",".join(["", *line.split(",")[1:]]) for line in csv_rows]  # the first feature left empty
    answer = scores(xgboost_serving.invoke(served, "\n".join(with_gap).encode()))
    missing = rows.copy()
    missing[:, 0] = np.nan
    assert answer == pytest.approx(served.boosters[0].predict(xgb.DMatrix(missing)).tolist())
    spelled_out = [",".join(["nan", *line.split(",")[1:]]) for line in csv_rows]
    assert scores(xgboost_serving.invoke(served, "\n".join(spelled_out).encode())) == answer


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"1,2,x", "could not convert string to float"),
        (b"1,2,3\n4,5", "inhomogeneous"),  # rows of different widths in one request
        (b"1,2,3\n\n4,5,6", "inhomogeneous"),  # a blank line inside a request is a row of one missing value
        (b"1, ,3", "could not convert string to float"),  # a blank cell is not an empty one
        (b"\xff,1", "codec can't decode"),
    ],
)
def test_what_the_container_cannot_parse_is_415(served: ServedModel, body: bytes, error: str) -> None:
    with pytest.raises(ContainerError) as refused:
        xgboost_serving.invoke(served, body)
    assert refused.value.status == 415
    assert refused.value.message.startswith("Loading csv data failed with Exception, please ensure data is in csv format:")
    assert error in refused.value.message


def test_other_requests(served: ServedModel, rows_csv: str) -> None:
    assert xgboost_serving.respond(served, b"") == (204, b"")
    assert xgboost_serving.respond(served, rows_csv.encode(), "Text/CSV; charset=utf-8")[0] == 200
    status, answer = xgboost_serving.respond(served, rows_csv.encode(), "application/json")
    assert (status, answer.decode().split(":")[0]) == (415, "application/json is not an accepted ContentType")
    assert xgboost_serving.respond(served, rows_csv.encode(), "text/csv; label_size=0")[0] == 415
    too_big = (rows_csv * (7 * 1024 * 1024 // len(rows_csv))).encode()
    assert xgboost_serving.respond(served, too_big)[0] == 413


def test_loading_tries_pickle_then_xgboost_and_reads_every_model_file(served: ServedModel, tmp_path: Path, rows_csv: str) -> None:
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "xgboost-model").write_bytes(pickle.dumps(served.boosters[0]))
    (pickled / ".DS_Store").write_bytes(b"not a model")  # dotfiles are skipped
    assert xgboost_serving.load_model(pickled).formats == (xgboost_serving.PICKLE_FORMAT,)

    both = tmp_path / "two-models"  # every file is a model: the answers are averaged
    both.mkdir()
    for name in ("a", "b"):
        (both / name).write_bytes(pickle.dumps(served.boosters[0]))
    assert xgboost_serving.invoke(xgboost_serving.load_model(both), rows_csv.encode()) == xgboost_serving.invoke(served, rows_csv.encode())

    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "evaluation.json").write_text("{}")
    with pytest.raises(ContainerError) as broken:
        xgboost_serving.load_model(stray)
    assert broken.value.status == 500
    assert "Unable to load model: Model " in broken.value.message
    assert "Pickle load error=" in broken.value.message
    assert "XGB load model error=" in broken.value.message

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ContainerError, match="Unable to load model: list index out of range"):
        xgboost_serving.load_model(empty)


def test_a_pickled_model_is_checked_but_also_accepts_one_feature_short(served: ServedModel, tmp_path: Path, rows: np.ndarray) -> None:
    (tmp_path / "xgboost-model").write_bytes(pickle.dumps(served.boosters[0]))
    pickled = xgboost_serving.load_model(tmp_path)
    assert xgboost_serving.respond(pickled, as_csv(rows[:, 1:]).encode())[0] == 200
    status, answer = xgboost_serving.respond(pickled, as_csv(rows[:, 2:]).encode())
    assert status == 400
    assert answer.decode() == (
        "Unable to evaluate payload provided: "
        "Feature size of csv inference data 28 is not consistent with feature size of trained model 30."
    )


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
        http_status_code=424,
        modeled_fields={"OriginalStatusCode": 400, "OriginalMessage": "feature_names mismatch"},
    )
    code, _ = run(["--env", "dev"], rows_csv, predict.boto3_invoke(predict.Target(ENDPOINT, REGION), client))
    assert code == 5
    assert capsys.readouterr().err == (
        "error: the model failed on this input (container status 400): "
        'Received client error (400) from primary with message "feature_names mismatch"\n'
    )


def test_a_wrong_features_flag_lets_a_label_column_through_to_the_container(
    served: ServedModel, runtime: tuple[object, Stubber], rows: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    """--features 31 with a label column left in: the container refuses, the client says so on one line."""
    with_label = as_csv(np.column_stack([np.zeros(len(rows)), rows]))
    with pytest.raises(ContainerError) as refused:
        xgboost_serving.invoke(served, with_label.encode())
    assert "Stack trace:" in refused.value.message, "XGBoost's native backtrace comes with its message"
    client, stubber = runtime
    stubber.add_client_error("invoke_endpoint", **refused.value.model_error())
    argv = ["--endpoint", ENDPOINT, "--region", REGION, "--features", "31"]
    code, _ = run(argv, with_label, predict.boto3_invoke(predict.Target(ENDPOINT, REGION), client))
    assert code == 5
    err = capsys.readouterr().err
    assert err.startswith("error: the model failed on this input (container status 400): Received client error (400) from primary")
    assert "Number of columns does not match number of features in booster." in err
    assert err.count("\n") == 1, "one line, without the backtrace"
    assert "[bt]" not in err


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


DEV_WIDTH = "the model takes 30 features (inference.model.features in config/dev.yaml), no label"


def features_row(count: int, value: str = "1.5") -> str:
    return ",".join([value] * count)


@pytest.mark.parametrize(
    ("stdin", "argv", "message"),
    [
        (f"{features_row(30)}\n{features_row(29)}\n", [], f"error: stdin line 2: 29 values; {DEV_WIDTH}"),
        (f"{features_row(31)}\n", [], f"error: stdin line 1: 31 values (a label column?); {DEV_WIDTH}"),
        ("1,2,3\n", [], f"error: stdin line 1: 3 values; {DEV_WIDTH}"),
        (f"{features_row(30)}\n{features_row(29)},x\n", [], "error: stdin line 2, column 30: 'x' is not a number"),
        (
            "mean radius,mean texture\n",
            ["--features", "2", "--endpoint", ENDPOINT, "--region", REGION],
            "error: stdin line 1, column 1: 'mean radius' is not a number",
        ),
        ("\n\n", [], "error: stdin: no rows to send"),
        (
            "1,2\n",
            ["--endpoint", ENDPOINT, "--region", REGION],
            "error: --endpoint needs --features N: the number of features the served model was trained on",
        ),
        ("1,2\n", ["--endpoint", ENDPOINT, "--features", "2"], "error: --endpoint needs --region"),
        (
            "1,2\n",
            ["--features", "0", "--endpoint", ENDPOINT, "--region", REGION],
            "error: --features 0: must be at least 1 (the number of features the model was trained on)",
        ),
        (
            f"{features_row(29)}\n",
            ["--features", "29"],
            "error: --features 29 disagrees with inference.model.features in config/dev.yaml (30): drop --features or fix the config",
        ),
        (
            "1.5,2.5\n1.5\n",
            ["--features", "2", "--endpoint", ENDPOINT, "--region", REGION],
            "error: stdin line 2: 1 value; the model takes 2 features (--features), no label",
        ),
        (f"{features_row(30)}\n", ["--batch-size", "0"], "error: --batch-size 0: must be at least 1"),
    ],
)
def test_malformed_csv(stdin: str, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    where = [] if "--endpoint" in argv else ["--env", "dev"]
    code, _ = run([*where, *argv], stdin, never_called)
    assert code == 2
    assert capsys.readouterr().err == message + "\n"


def test_a_row_the_container_would_score_wrongly_is_refused_before_sending(
    served: ServedModel, rows: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reason for the width check: one feature short is HTTP 200 with other probabilities."""
    short = as_csv(rows[:, 1:])
    assert xgboost_serving.respond(served, short.encode())[0] == 200
    code, out = run(["--env", "dev"], short, never_called)
    assert (code, out) == (2, "")
    assert capsys.readouterr().err == f"error: stdin line 1: 29 values; {DEV_WIDTH}\n"


def test_empty_cells_and_rows_of_missing_values_are_sent(served: ServedModel, rows: np.ndarray, capsys: pytest.CaptureFixture[str]) -> None:
    """Empty cells are missing values, as in training; a line of commas is a row with every value missing."""
    lines = as_csv(rows).splitlines()
    lines[0] = ",".join(["", *lines[0].split(",")[1:]])  # the first feature of the first row missing
    stdin = "\n".join([lines[0], "", "," * (FEATURES - 1), *lines[1:]]) + "\n"
    sent: list[bytes] = []

    def invoke(payload: bytes) -> bytes:
        sent.append(payload)
        return xgboost_serving.invoke(served, payload)

    code, out = run(["--env", "dev"], stdin, invoke)
    assert code == 0, capsys.readouterr().err
    assert len(out.splitlines()) == len(rows) + 1, "the blank line is skipped, the row of commas scored"
    assert sent[0].decode().splitlines()[1] == "," * (FEATURES - 1)


def test_missing_file_and_unknown_environment(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--env", "dev", "/nonexistent.csv"], "", never_called)[0] == 2
    assert capsys.readouterr().err == "error: cannot read /nonexistent.csv: No such file or directory\n"
    assert run(["--env", "staging"], "1,2\n", never_called)[0] == 2
    assert capsys.readouterr().err.startswith("error: unknown environment 'staging'; allowed: dev, prod")


# --- the SageMaker SDK path, against moto ---------------------------------------------------------


@mock_aws
def test_sdk_good_call(served: ServedModel, rows_csv: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
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
    expected = xgboost_serving.invoke(served, rows_csv.encode()).decode()
    sagemakerruntime_backends[DEFAULT_ACCOUNT_ID][REGION].results_queue.append((expected, "text/csv", "primary-m5-large", ""))

    target = predict.Target(ENDPOINT, REGION)
    code, out = run(["--env", "dev", "--via", "sdk"], rows_csv, predict.sdk_invoke(target))
    assert code == 0, capsys.readouterr().err
    assert [round(float(v), 6) for v in out.splitlines()] == [round(v, 6) for v in scores(expected.encode())]
    # Failures come back as the same botocore errors as through boto3 (mapped by aws_errors,
    # tested above); moto's runtime answers for any endpoint name, so it cannot play "not found".


@mock_aws
def test_assumes_a_role_before_calling(served: ServedModel, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """What the delivery pipeline's smoke test runs: another account's role, then InvokeEndpoint."""
    from moto.sagemakerruntime.models import sagemakerruntime_backends

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    rows = (PROJECT_DIR / "clients" / "smoke_rows.csv").read_text()
    expected = xgboost_serving.invoke(served, rows.encode()).decode()
    sagemakerruntime_backends[DEFAULT_ACCOUNT_ID][REGION].results_queue.append((expected, "text/csv", "primary-m5-large", ""))
    role = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/mlops-dev-endpoint-smoke-test"
    code, out = run(["--endpoint", ENDPOINT, "--region", REGION, "--features", str(FEATURES), "--assume-role", role], rows)
    assert code == 0, capsys.readouterr().err
    assert [round(float(v)) for v in out.splitlines()] == [0, 1, 1], "the smoke rows: one malignant, two benign"


def test_a_gzip_file_is_read_as_the_csv_it_holds(
    served: ServedModel, rows_csv: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    compressed = tmp_path / "rows.csv.gz"
    compressed.write_bytes(gzip.compress(rows_csv.encode()))
    plain = tmp_path / "rows.csv"
    plain.write_text(rows_csv)

    def invoke(payload: bytes) -> bytes:
        return xgboost_serving.invoke(served, payload)

    code, from_gzip = run(["--env", "dev", str(compressed)], "", invoke)
    assert code == 0, capsys.readouterr().err
    assert from_gzip == run(["--env", "dev", str(plain)], "", invoke)[1]
    assert len(from_gzip.splitlines()) == len(rows_csv.splitlines())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (gzip.compress(b"0.1,0.2\n" * 1000, mtime=0)[:12], "a damaged gzip file (Compressed file ended before the end-of-stream marker"),
        (b"\x1f\x8bnot really gzip", "a damaged gzip file"),
        (b"0.1,\xff\xfe\n", "not UTF-8 text (byte 4 of the text)"),
    ],
    ids=["truncated-gzip", "gzip-magic-only", "not-utf8"],  # gzip.compress embeds the time: ids must not
)
def test_unreadable_files_are_one_line(tmp_path: Path, content: bytes, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(content)
    assert run(["--env", "dev", str(path)], "", never_called)[0] == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot read {path}: {message}"), err
    assert len(err.splitlines()) == 1
