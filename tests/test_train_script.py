"""training_scripts/train.py, run for real on a real data set (scikit-learn's breast cancer data)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from sklearn import metrics as sk
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from training_scripts import train as train_script
from training_scripts.metric_log import METRICS, metric_definitions

SCRIPT = Path(train_script.__file__)


def write_channel(root: Path, channel: str, rows: np.ndarray) -> Path:
    directory = root / channel
    directory.mkdir(parents=True)
    np.savetxt(directory / "part-0000.csv", rows, delimiter=",", fmt="%.10g")
    return directory


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The breast cancer data in the data contract: no header, label first, 60/20/20 split."""
    features, labels = load_breast_cancer(return_X_y=True)
    rows = np.column_stack([labels, features])
    train, rest = train_test_split(rows, test_size=0.4, random_state=0, stratify=rows[:, 0])
    validation, test = train_test_split(rest, test_size=0.5, random_state=0, stratify=rest[:, 0])
    root = tmp_path_factory.mktemp("breast-cancer")
    for channel, part in (("train", train), ("validation", validation), ("test", test)):
        write_channel(root, channel, part)
    (root / "train" / "_SUCCESS").write_text("")  # markers are not data
    return root


@pytest.fixture(scope="module")
def trained(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One real run, the way SageMaker starts it: channels and output dirs in SM_* variables."""
    out = tmp_path_factory.mktemp("run")
    env = os.environ | {
        "SM_CHANNEL_TRAIN": str(dataset / "train"),
        "SM_CHANNEL_VALIDATION": str(dataset / "validation"),
        "SM_CHANNEL_TEST": str(dataset / "test"),
        "SM_MODEL_DIR": str(out / "model"),
        "SM_OUTPUT_DATA_DIR": str(out / "data"),
        "SM_OUTPUT_DIR": str(out),
    }
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--eta", "0.2", "--max_depth", "4", "--num_round", "200"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result, out


def test_trains_well_on_real_data(trained: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, out = trained
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "data" / "evaluation.json").read_text())
    assert report["xgboost_version"] == xgb.__version__
    assert report["rows"] == {"train": 341, "validation": 114, "test": 114}
    assert report["features"] == 30
    for channel in ("validation", "test"):
        scores = report["metrics"][channel]
        assert set(scores) == set(METRICS)
        assert scores["auc"] >= 0.95
        assert scores["accuracy"] >= 0.90
        assert scores["f1"] >= 0.90
        assert scores["logloss"] <= 0.3
    assert not (out / "failure").exists()


def test_metric_lines_are_what_the_training_job_parses(trained: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, out = trained
    report = json.loads((out / "data" / "evaluation.json").read_text())
    parsed = {}
    for definition in metric_definitions():
        match = re.search(definition["Regex"], result.stdout)
        assert match, definition
        parsed[definition["Name"]] = float(match.group(1))
    for name, value in parsed.items():
        channel, metric = name.split(":")
        assert value == pytest.approx(report["metrics"][channel][metric], abs=1e-6)


def test_model_reloads_and_predicts_like_the_report(dataset: Path, trained: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, out = trained
    booster = xgb.Booster()
    # Raw bytes, as the container's default handler reads the extension-less file.
    booster.load_model(bytearray((out / "model" / train_script.MODEL_FILE_NAME).read_bytes()))
    rows = np.loadtxt(dataset / "test" / "part-0000.csv", delimiter=",")
    probabilities = booster.predict(xgb.DMatrix(rows[:, 1:]))
    assert probabilities.shape == (114,)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    report = json.loads((out / "data" / "evaluation.json").read_text())
    assert sk.roc_auc_score(rows[:, 0], probabilities) == pytest.approx(report["metrics"]["test"]["auc"], abs=1e-6)


def test_metrics_agree_with_scikit_learn() -> None:
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, 500).astype(float)
    probabilities = np.clip(labels * 0.3 + rng.random(500) * 0.7, 0, 1).round(2)  # ties on purpose
    ours = train_script.evaluate(labels, probabilities)
    predicted = probabilities >= 0.5
    assert ours["accuracy"] == pytest.approx(sk.accuracy_score(labels, predicted))
    assert ours["precision"] == pytest.approx(sk.precision_score(labels, predicted))
    assert ours["recall"] == pytest.approx(sk.recall_score(labels, predicted))
    assert ours["f1"] == pytest.approx(sk.f1_score(labels, predicted))
    assert ours["auc"] == pytest.approx(sk.roc_auc_score(labels, probabilities))
    assert ours["logloss"] == pytest.approx(sk.log_loss(labels, probabilities))


def test_runs_locally_with_arguments_and_resumes_from_a_checkpoint(dataset: Path, tmp_path: Path) -> None:
    base = [
        "--train", str(dataset / "train"), "--validation", str(dataset / "validation"),
        "--model-dir", str(tmp_path / "model"), "--output-data-dir", str(tmp_path / "data"),
        "--checkpoint-dir", str(tmp_path / "checkpoints"), "--checkpoint-every", "5",
        "--num_round", "10", "--early_stopping_rounds", "50",
    ]  # fmt: skip
    assert train_script.main(base) == 0
    assert (tmp_path / "checkpoints" / train_script.CHECKPOINT_FILE_NAME).is_file()
    assert train_script.main([*base[:-4], "--num_round", "20", "--early_stopping_rounds", "50"]) == 0
    booster = xgb.Booster()
    booster.load_model(tmp_path / "checkpoints" / train_script.CHECKPOINT_FILE_NAME)  # .ubj: no format guess
    assert booster.num_boosted_rounds() == 20
    report = json.loads((tmp_path / "data" / "evaluation.json").read_text())
    assert set(report["metrics"]) == {"validation"}


# --- bad data: one clear message, the failure file, exit status 2 -------------------------


def run_failing(tmp_path: Path, capsys: pytest.CaptureFixture[str], train: Path | None, validation: Path | None) -> str:
    (tmp_path / "output").mkdir(exist_ok=True)
    argv = ["--model-dir", str(tmp_path / "model"), "--output-data-dir", str(tmp_path / "data")]
    argv += ["--failure-file", str(tmp_path / "output" / "failure")]
    if train:
        argv += ["--train", str(train)]
    if validation:
        argv += ["--validation", str(validation)]
    assert train_script.main(argv) == 2
    message = capsys.readouterr().err.strip()
    assert message.startswith("error: ")
    assert (tmp_path / "output" / "failure").read_text() == message.removeprefix("error: ")
    assert "Traceback" not in message
    return message


def good_rows(count: int = 20, features: int = 3) -> np.ndarray:
    rng = np.random.default_rng(1)
    return np.column_stack([np.arange(count) % 2, rng.random((count, features))])


def test_missing_channel(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SM_CHANNEL_VALIDATION", raising=False)
    train = write_channel(tmp_path, "train", good_rows())
    message = run_failing(tmp_path, capsys, train, None)
    assert message == "error: channel 'validation' is missing: give --validation DIR or SM_CHANNEL_VALIDATION"


def test_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = write_channel(tmp_path, "train", good_rows())
    (tmp_path / "validation").mkdir()
    (tmp_path / "validation" / "part-0000.csv").write_text("")
    assert run_failing(tmp_path, capsys, train, tmp_path / "validation") == "error: channel 'validation': part-0000.csv is empty"


def test_channel_without_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = write_channel(tmp_path, "train", good_rows())
    (tmp_path / "validation").mkdir()
    assert "channel 'validation': no data files in" in run_failing(tmp_path, capsys, train, tmp_path / "validation")


def test_non_numeric_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = write_channel(tmp_path, "train", good_rows())
    (tmp_path / "validation").mkdir()
    (tmp_path / "validation" / "part.csv").write_text("1,0.5,0.2,0.1\n0,0.3,red,0.9\n")
    message = run_failing(tmp_path, capsys, train, tmp_path / "validation")
    assert message == (
        "error: channel 'validation': part.csv line 2, column 3: non-numeric value 'red' "
        "(features must be numeric, categoricals already encoded)"
    )


def test_label_outside_zero_and_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = good_rows()
    rows[4, 0] = 3
    train = write_channel(tmp_path, "train", rows)
    validation = write_channel(tmp_path, "validation", good_rows())
    message = run_failing(tmp_path, capsys, train, validation)
    assert message == "error: channel 'train': row 5 has label 3; binary:logistic needs labels 0 or 1 in the first column"


def test_feature_count_mismatch_between_channels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = write_channel(tmp_path, "train", good_rows(features=3))
    validation = write_channel(tmp_path, "validation", good_rows(features=4))
    message = run_failing(tmp_path, capsys, train, validation)
    assert message == "error: channel 'validation' has 4 features but 'train' has 3; every channel needs the same columns"


def test_ragged_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = write_channel(tmp_path, "train", good_rows())
    (tmp_path / "validation").mkdir()
    (tmp_path / "validation" / "part.csv").write_text("1,0.5,0.2\n0,0.3,0.4,0.9,0.1\n")
    assert "part.csv is not a well-formed CSV" in run_failing(tmp_path, capsys, train, tmp_path / "validation")
