"""training_scripts/train.py, run for real on a real data set (scikit-learn's breast cancer data)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from sklearn import metrics as sk
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.model_selection import train_test_split

from training_scripts import train as train_script
from training_scripts.metric_log import FAILURE_PREFIX, FEATURES_METRIC, METRICS, failure_line, metric_definitions

SCRIPT = Path(train_script.__file__)
# Runs of train.py compare with each other, not with a machine's core count; on a busy test machine
# OpenMP's spinning threads make a multi-threaded run many times slower.
ONE_THREAD = {"OMP_NUM_THREADS": "1"}


def write_channel(root: Path, channel: str, rows: np.ndarray) -> Path:
    directory = root / channel
    directory.mkdir(parents=True)
    np.savetxt(directory / "part-0000.csv", rows, delimiter=",", fmt="%.10g")
    return directory


def write_split(root: Path, features: np.ndarray, labels: np.ndarray) -> Path:
    """Rows in the data contract (no header, label first), split 60/20/20 into the three channels."""
    rows = np.column_stack([labels, features])
    train, rest = train_test_split(rows, test_size=0.4, random_state=0, stratify=rows[:, 0])
    validation, test = train_test_split(rest, test_size=0.5, random_state=0, stratify=rest[:, 0])
    for channel, part in (("train", train), ("validation", validation), ("test", test)):
        write_channel(root, channel, part)
    return root


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The breast cancer data in the data contract."""
    root = write_split(tmp_path_factory.mktemp("breast-cancer"), *load_breast_cancer(return_X_y=True))
    (root / "train" / "_SUCCESS").write_text("")  # markers are not data
    return root


@pytest.fixture(scope="module")
def trained(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One real run, the way SageMaker starts it: channels and output dirs in SM_* variables."""
    out = tmp_path_factory.mktemp("run")
    env = (
        os.environ
        | ONE_THREAD
        | {
            "SM_CHANNEL_TRAIN": str(dataset / "train"),
            "SM_CHANNEL_VALIDATION": str(dataset / "validation"),
            "SM_CHANNEL_TEST": str(dataset / "test"),
            "SM_MODEL_DIR": str(out / "model"),
            "SM_OUTPUT_DATA_DIR": str(out / "data"),
            "SM_OUTPUT_DIR": str(out),
        }
    )
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
    assert report["rounds"] < 200  # early stopping did stop
    assert report["model_rounds"] == report["best_iteration"] + 1
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
    assert parsed.pop(FEATURES_METRIC) == report["features"] == 30
    for name, value in parsed.items():
        channel, metric = name.split(":")
        assert value == pytest.approx(report["metrics"][channel][metric], abs=1e-6)


def test_metric_definitions_are_the_evaluated_metrics_and_the_feature_count() -> None:
    names = [definition["Name"] for definition in metric_definitions()]
    expected = [f"{channel}:{metric}" for channel in ("validation", "test") for metric in METRICS]
    assert names == [*expected, "train:features"]
    # The quality gate names a validation metric; the feature count travels with the model version.
    assert "validation:auc" in names


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


def test_runs_locally_with_arguments_and_resumes_from_a_checkpoint(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = [
        "--train", str(dataset / "train"), "--validation", str(dataset / "validation"),
        "--model-dir", str(tmp_path / "model"), "--output-data-dir", str(tmp_path / "data"),
        "--checkpoint-dir", str(tmp_path / "checkpoints"), "--checkpoint-every", "5", "--early_stopping_rounds", "50",
    ]  # fmt: skip

    def rounds_in_checkpoint() -> int:
        booster = xgb.Booster()
        booster.load_model(tmp_path / "checkpoints" / train_script.CHECKPOINT_FILE_NAME)  # .ubj: no format guess
        return booster.num_boosted_rounds()

    assert train_script.main([*base, "--num_round", "10"]) == 0
    assert rounds_in_checkpoint() == 10
    assert train_script.main([*base, "--num_round", "20"]) == 0  # a larger num_round continues
    assert "resuming from 10 rounds" in capsys.readouterr().out
    assert rounds_in_checkpoint() == 20
    assert train_script.main([*base, "--num_round", "20"]) == 0  # num_round reached: not one round more
    assert rounds_in_checkpoint() == 20
    report = json.loads((tmp_path / "data" / "evaluation.json").read_text())
    assert report["rounds"] == 20
    assert set(report["metrics"]) == {"validation"}


def test_early_stopping_can_be_turned_off(dataset: Path, tmp_path: Path) -> None:
    argv = ["--train", str(dataset / "train"), "--validation", str(dataset / "validation"), "--model-dir", str(tmp_path / "model")]
    assert train_script.main([*argv, "--output-data-dir", str(tmp_path), "--num_round", "7", "--early_stopping_rounds", "0"]) == 0
    report = json.loads((tmp_path / "evaluation.json").read_text())
    assert report["rounds"] == report["model_rounds"] == 7
    assert load_booster(tmp_path / "model" / train_script.MODEL_FILE_NAME).num_boosted_rounds() == 7


def test_early_stopping_stops_where_xgboosts_own_does(dataset: Path) -> None:
    """Same rule as xgboost.callback.EarlyStopping, including which metrics it maximizes."""
    for metric in ("auc", "logloss", "error"):
        channels = ["--train", str(dataset / "train"), "--validation", str(dataset / "validation")]
        # No sampling: then xgboost.train and boost() grow the same trees, and only stopping can differ.
        sampling = ["--subsample", "1", "--colsample_bytree", "1"]
        args = train_script.parse_args([*channels, *sampling, "--eval_metric", metric, "--eta", "0.3", "--early_stopping_rounds", "5"])
        params = train_script.xgboost_params(args) | {"nthread": 1}
        train = train_script.read_channel("train", args.train)
        validation = train_script.read_channel("validation", args.validation)
        train_matrix = xgb.DMatrix(train.features, label=train.labels)
        validation_matrix = xgb.DMatrix(validation.features, label=validation.labels)
        ours = train_script.boost(params, train_matrix, validation_matrix, args)
        theirs = xgb.train(
            params, train_matrix, args.num_round, evals=[(validation_matrix, "validation")], early_stopping_rounds=5, verbose_eval=False
        )
        assert ours.num_boosted_rounds() < args.num_round, metric
        assert (ours.num_boosted_rounds(), ours.best_iteration, ours.best_score) == (
            theirs.num_boosted_rounds(),
            theirs.best_iteration,
            theirs.best_score,
        ), metric


# --- spot training: an interrupted, resumed job ends with the uninterrupted job's model ------

RESUME_HYPERPARAMETERS = [
    "--eval_metric", "logloss", "--eta", "0.2", "--max_depth", "3", "--subsample", "0.7", "--colsample_bytree", "0.7",
    "--num_round", "200", "--early_stopping_rounds", "10", "--checkpoint-every", str(CHECKPOINT_EVERY := 10),
]  # fmt: skip
INTERRUPT_AT = 30

# Runs train.py and SIGKILLs it the moment its checkpoint of round INTERRUPT_AT is in place: a spot
# interruption, with no chance to clean up. Patched from outside; train.py has no test hook.
KILLED_AFTER_CHECKPOINT = f"""
import os, signal, sys
sys.path.insert(0, sys.argv.pop(1))
import train
save_checkpoint, saved = train.save_checkpoint, []
def save_then_die(raw, path):
    save_checkpoint(raw, path)
    saved.append(path)
    if len(saved) * {CHECKPOINT_EVERY} == {INTERRUPT_AT}:
        os.kill(os.getpid(), signal.SIGKILL)
train.save_checkpoint = save_then_die
sys.exit(train.main(sys.argv[1:]))
"""


def job_argv(data: Path, out: Path) -> list[str]:
    return [
        "--train", str(data / "train"), "--validation", str(data / "validation"), "--test", str(data / "test"),
        "--model-dir", str(out / "model"), "--output-data-dir", str(out / "data"), "--failure-file", str(out / "failure"),
        "--checkpoint-dir", str(out / "checkpoints"), *RESUME_HYPERPARAMETERS,
    ]  # fmt: skip


def load_booster(path: Path) -> xgb.Booster:
    booster = xgb.Booster()
    booster.load_model(bytearray(path.read_bytes()))
    return booster


@pytest.fixture(scope="module")
def spot_jobs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One job run straight through; one killed after its round-30 checkpoint, then run again."""
    # Noisy labels, so early stopping waits and triggers past round 30 (checked by the test).
    data = write_split(tmp_path_factory.mktemp("noisy"), *make_classification(800, 12, n_informative=6, flip_y=0.1, random_state=3))
    root = tmp_path_factory.mktemp("spot")
    uninterrupted, interrupted = root / "uninterrupted", root / "interrupted"
    env = os.environ | ONE_THREAD
    # The two first runs are independent: side by side, one thread each.
    straight = subprocess.Popen(
        [sys.executable, str(SCRIPT), *job_argv(data, uninterrupted)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_CHECKPOINT, str(SCRIPT.parent), *job_argv(data, interrupted)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    _, straight_errors = straight.communicate(timeout=120)
    assert straight.returncode == 0, straight_errors
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (interrupted / "model").exists()
    (root / "checkpoint-at-interruption.ubj").write_bytes((interrupted / "checkpoints" / train_script.CHECKPOINT_FILE_NAME).read_bytes())
    resumed = subprocess.run(
        [sys.executable, str(SCRIPT), *job_argv(data, interrupted)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from {INTERRUPT_AT} rounds" in resumed.stdout
    return {"data": data, "uninterrupted": uninterrupted, "interrupted": interrupted, "root": root}


def test_a_resumed_job_ends_with_the_uninterrupted_model(spot_jobs: dict[str, Path]) -> None:
    at_interruption = load_booster(spot_jobs["root"] / "checkpoint-at-interruption.ubj")
    assert at_interruption.num_boosted_rounds() == INTERRUPT_AT
    # Early stopping was counting rounds without improvement when the job died.
    assert at_interruption.best_iteration < INTERRUPT_AT - 1

    straight, resumed = (json.loads((spot_jobs[run] / "data" / "evaluation.json").read_text()) for run in ("uninterrupted", "interrupted"))
    # Early stopping triggered after the interruption, and the model keeps trees grown after it.
    assert INTERRUPT_AT < straight["best_iteration"] < straight["rounds"] < 200
    assert (resumed["rounds"], resumed["best_iteration"]) == (straight["rounds"], straight["best_iteration"])
    assert resumed["metrics"] == straight["metrics"]

    models = [load_booster(spot_jobs[run] / "model" / train_script.MODEL_FILE_NAME) for run in ("uninterrupted", "interrupted")]
    test_rows = np.loadtxt(spot_jobs["data"] / "test" / "part-0000.csv", delimiter=",")
    predictions = [model.predict(xgb.DMatrix(test_rows[:, 1:])) for model in models]
    assert np.abs(predictions[0] - predictions[1]).max() == 0.0  # measured: identical, not merely close
    assert (spot_jobs["uninterrupted"] / "model" / train_script.MODEL_FILE_NAME).read_bytes() == (
        spot_jobs["interrupted"] / "model" / train_script.MODEL_FILE_NAME
    ).read_bytes()


def test_a_job_restarted_after_early_stopping_trains_no_more_rounds(
    spot_jobs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Killed after the last checkpoint but before the model was written: the rerun only writes it."""
    done = spot_jobs["uninterrupted"]
    argv = job_argv(spot_jobs["data"], done)
    argv[argv.index("--model-dir") + 1] = str(tmp_path / "model")
    argv[argv.index("--output-data-dir") + 1] = str(tmp_path / "data")
    rounds = json.loads((done / "data" / "evaluation.json").read_text())["rounds"]
    assert train_script.main(argv) == 0
    assert f"resuming from {rounds} rounds" in capsys.readouterr().out
    assert json.loads((tmp_path / "data" / "evaluation.json").read_text())["rounds"] == rounds
    model = train_script.MODEL_FILE_NAME
    assert (tmp_path / "model" / model).read_bytes() == (done / "model" / model).read_bytes()


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
    return failure_message(capsys, tmp_path / "output" / "failure")


def failure_message(capsys: pytest.CaptureFixture[str], failure_file: Path) -> str:
    """The message, after checking it is on exactly one stderr line, after the prefix the pipeline looks for."""
    lines = capsys.readouterr().err.splitlines()
    found = [line for line in lines if line.startswith(FAILURE_PREFIX)]
    # Nothing else: no usage block, no traceback; the failure reason has room for one sentence.
    assert lines == found, lines
    assert len(found) == 1, lines
    assert not any("Traceback" in line for line in lines)
    message = found[0].removeprefix(FAILURE_PREFIX)
    assert failure_file.read_text() == message
    return message


def good_rows(count: int = 20, features: int = 3) -> np.ndarray:
    rng = np.random.default_rng(1)
    return np.column_stack([np.arange(count) % 2, rng.random((count, features))])


def test_missing_channel(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SM_CHANNEL_VALIDATION", raising=False)
    train = write_channel(tmp_path, "train", good_rows())
    message = run_failing(tmp_path, capsys, train, None)
    assert message == "channel 'validation' is missing: give --validation DIR or SM_CHANNEL_VALIDATION"


def test_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = write_channel(tmp_path, "train", good_rows())
    (tmp_path / "validation").mkdir()
    (tmp_path / "validation" / "part-0000.csv").write_text("")
    assert run_failing(tmp_path, capsys, train, tmp_path / "validation") == "channel 'validation': part-0000.csv is empty"


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
        "channel 'validation': part.csv line 2, column 3: non-numeric value 'red' (features must be numeric, categoricals already encoded)"
    )


def test_label_outside_zero_and_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = good_rows()
    rows[4, 0] = 3
    train = write_channel(tmp_path, "train", rows)
    validation = write_channel(tmp_path, "validation", good_rows())
    message = run_failing(tmp_path, capsys, train, validation)
    assert message == "channel 'train': row 5 has label 3; binary:logistic needs labels 0 or 1 in the first column"


def test_feature_count_mismatch_between_channels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = write_channel(tmp_path, "train", good_rows(features=3))
    validation = write_channel(tmp_path, "validation", good_rows(features=4))
    message = run_failing(tmp_path, capsys, train, validation)
    assert message == "channel 'validation' has 4 features but 'train' has 3; every channel needs the same columns"


def test_ragged_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = write_channel(tmp_path, "train", good_rows())
    (tmp_path / "validation").mkdir()
    (tmp_path / "validation" / "part.csv").write_text("1,0.5,0.2\n0,0.3,0.4,0.9,0.1\n")
    assert "part.csv is not a well-formed CSV" in run_failing(tmp_path, capsys, train, tmp_path / "validation")


def test_a_row_with_a_cell_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """pandas would pad the row with a missing value and train on shifted features."""
    train = write_channel(tmp_path, "train", good_rows())
    (tmp_path / "validation").mkdir()
    (tmp_path / "validation" / "part.csv").write_text("1,0.5,0.2,0.1\r\n\r\n0,0.3,0.9\r\n1,0.5,,0.1\r\n")
    message = run_failing(tmp_path, capsys, train, tmp_path / "validation")
    assert message == (
        "channel 'validation': part.csv line 3 has 3 cells, other lines 4 "
        "(every row needs the label and every feature; leave a missing value empty)"
    )


def test_an_empty_cell_is_a_missing_value_not_a_short_row(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "part.csv").write_text("1,0.5,,0.1\n0,0.3,0.9,\n")
    assert train_script.read_channel("train", str(tmp_path / "train")).features.shape == (2, 3)


def test_infinite_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = write_channel(tmp_path, "train", good_rows())
    (tmp_path / "validation").mkdir()
    (tmp_path / "validation" / "part.csv").write_text("1,0.5,0.2,0.1\n0,0.3,1e400,0.9\n")
    message = run_failing(tmp_path, capsys, train, tmp_path / "validation")
    assert message == (
        "channel 'validation': part.csv line 2, column 3: value '1e400' is not a finite number (leave the cell empty for a missing value)"
    )


def test_binary_file_in_a_csv_channel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = write_channel(tmp_path, "train", good_rows())
    (tmp_path / "validation").mkdir()
    (tmp_path / "validation" / "part.parquet").write_bytes(b"PAR1\x15\x04\x15\xff\xfe\x00\x00")
    message = run_failing(tmp_path, capsys, train, tmp_path / "validation")
    assert message.startswith("channel 'validation': part.parquet is not CSV text")


@pytest.mark.parametrize("channel", ["train", "validation", "test"])
def test_a_channel_of_one_class_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], channel: str) -> None:
    """ROC AUC is undefined on one class: a test channel would report auc=nan, a validation one stop at round 0."""
    channels = {name: good_rows() for name in ("train", "validation", "test")}
    channels[channel][:, 0] = 1
    paths = {name: write_channel(tmp_path, name, rows) for name, rows in channels.items()}
    (tmp_path / "output").mkdir()
    argv = [
        "--model-dir",
        str(tmp_path / "model"),
        "--output-data-dir",
        str(tmp_path / "data"),
        "--failure-file",
        str(tmp_path / "output" / "failure"),
    ]
    argv += [arg for name, path in paths.items() for arg in (f"--{name}", str(path))]
    assert train_script.main(argv) == 2
    assert failure_message(capsys, tmp_path / "output" / "failure") == (
        f"channel '{channel}' has only label 1: ROC AUC is undefined on one class and the model cannot be trained or judged; "
        "give every channel rows of both classes (0 and 1)"
    )


def test_checkpoint_of_other_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkpoints = ["--checkpoint-dir", str(tmp_path / "checkpoints"), "--num_round", "5"]
    data = ["--model-dir", str(tmp_path / "model"), "--output-data-dir", str(tmp_path / "data"), *checkpoints]
    first = [write_channel(tmp_path / "first", channel, good_rows(features=3)) for channel in ("train", "validation")]
    assert train_script.main(["--train", str(first[0]), "--validation", str(first[1]), *data]) == 0
    capsys.readouterr()
    train = write_channel(tmp_path, "train", good_rows(features=4))
    validation = write_channel(tmp_path, "validation", good_rows(features=4))
    (tmp_path / "output").mkdir()
    argv = ["--train", str(train), "--validation", str(validation), *data, "--failure-file", str(tmp_path / "output" / "failure")]
    assert train_script.main(argv) == 2
    message = failure_message(capsys, tmp_path / "output" / "failure")
    assert message.endswith("holds a model of 3 features but channel 'train' has 4; use an empty checkpoint directory for new data")


def test_bad_hyperparameter(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """SageMaker passes hyperparameters as arguments: a bad one is reported like bad data."""
    monkeypatch.setenv("SM_OUTPUT_DIR", str(tmp_path))
    assert train_script.main(["--num_round", "0"]) == 2
    assert failure_message(capsys, tmp_path / "failure") == "argument --num_round: 0 is out of range: must be >= 1"
    assert train_script.main(["--subsample", "1.5"]) == 2
    assert failure_message(capsys, tmp_path / "failure") == "argument --subsample: 1.5 is out of range: must be > 0 and <= 1"
    assert train_script.main(["--eval_metric", "rmse"]) == 2
    assert "argument --eval_metric: invalid choice: 'rmse'" in failure_message(capsys, tmp_path / "failure")


def test_a_misspelled_hyperparameter_names_the_right_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SM_OUTPUT_DIR", str(tmp_path))
    assert train_script.main(["--max-depth", "4", "--learning_rate", "0.1"]) == 2
    message = failure_message(capsys, tmp_path / "failure")
    assert message.startswith("unknown argument --max-depth (did you mean --max_depth?), --learning_rate; allowed: --train, ")
    assert "--eta" in message
    # No prefix matching: --num would otherwise be taken for --num_round.
    assert train_script.main(["--num", "4"]) == 2
    assert failure_message(capsys, tmp_path / "failure").startswith("unknown argument --num")


def test_failure_line_is_one_line() -> None:
    assert failure_line("bad row\n  at line 3\n") == "train.py error: bad row at line 3"
