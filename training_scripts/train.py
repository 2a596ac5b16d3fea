#!/usr/bin/env python3
"""Train a binary XGBoost classifier in SageMaker script mode — or locally, the same way.

In SageMaker's XGBoost framework container, channels arrive under ``SM_CHANNEL_<NAME>``, the
model goes to ``SM_MODEL_DIR`` and extra outputs to ``SM_OUTPUT_DATA_DIR``. Locally:

    python training_scripts/train.py --train data/train --validation data/validation \
        --model-dir out/model --output-data-dir out/data

Data contract: CSV files without a header, label in the first column (0 or 1), then numeric
features (categoricals already encoded). Every file of a channel directory is read, except
hidden files and markers such as ``_SUCCESS``.

A data problem ends the run with one message on stderr, in ``/opt/ml/output/failure`` (the
failure reason SageMaker shows) and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from metric_log import metric_line

MODEL_FILE_NAME = "xgboost-model"
"""The name the container's default inference handler loads."""
CHECKPOINT_FILE_NAME = "xgboost-checkpoint.ubj"
EXIT_DATA_ERROR = 2


class DataError(Exception):
    """The input data breaks the contract; the message says how."""


@dataclass(frozen=True)
class Dataset:
    channel: str
    labels: Any  # numpy array
    features: Any  # numpy array

    @property
    def rows(self) -> int:
        return len(self.labels)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(description="Train an XGBoost binary classifier (SageMaker script mode).")

    def channel_default(name: str) -> str | None:
        local = Path("/opt/ml/input/data") / name
        return env.get(f"SM_CHANNEL_{name.upper()}") or (str(local) if local.is_dir() else None)

    parser.add_argument("--train", default=channel_default("train"), help="train channel directory")
    parser.add_argument("--validation", default=channel_default("validation"), help="validation channel directory")
    parser.add_argument("--test", default=channel_default("test"), help="optional test channel directory")
    parser.add_argument("--model-dir", default=env.get("SM_MODEL_DIR", "/opt/ml/model"))
    parser.add_argument("--output-data-dir", default=env.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data"))
    parser.add_argument("--failure-file", default=str(Path(env.get("SM_OUTPUT_DIR", "/opt/ml/output")) / "failure"))
    parser.add_argument(
        "--checkpoint-dir",
        # SageMaker creates it (and syncs it with S3) when the job has a CheckpointConfig.
        default="/opt/ml/checkpoints" if Path("/opt/ml/checkpoints").is_dir() else None,
        help="save progress here and resume from it (managed spot training)",
    )
    parser.add_argument("--checkpoint-every", type=int, default=10, help="rounds between checkpoints")

    # Hyperparameters, named as in XGBoost; SageMaker passes them as --name value.
    parser.add_argument("--objective", default="binary:logistic", choices=["binary:logistic"])
    parser.add_argument("--eval_metric", default="auc", choices=["auc", "logloss", "error"])
    parser.add_argument("--eta", type=float, default=0.2)
    parser.add_argument("--max_depth", type=int, default=5)
    parser.add_argument("--num_round", type=int, default=200)
    parser.add_argument("--early_stopping_rounds", type=int, default=20)
    parser.add_argument("--subsample", type=float, default=0.8)
    parser.add_argument("--colsample_bytree", type=float, default=1.0)
    parser.add_argument("--min_child_weight", type=float, default=1.0)
    parser.add_argument("--gamma", type=float, default=0.0)
    parser.add_argument("--scale_pos_weight", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def channel_files(channel: str, directory: str | None) -> list[Path]:
    if not directory:
        raise DataError(f"channel '{channel}' is missing: give --{channel} DIR or SM_CHANNEL_{channel.upper()}")
    path = Path(directory)
    if not path.is_dir():
        raise DataError(f"channel '{channel}': {path} is not a directory")
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
    if not files:
        raise DataError(f"channel '{channel}': no data files in {path}")
    return files


def read_channel(channel: str, directory: str | None) -> Dataset:
    import numpy as np
    import pandas as pd

    frames = []
    for file in channel_files(channel, directory):
        try:
            frame = pd.read_csv(file, header=None, dtype=str, keep_default_na=False)
        except pd.errors.EmptyDataError:
            raise DataError(f"channel '{channel}': {file.name} is empty") from None
        except pd.errors.ParserError as error:
            raise DataError(f"channel '{channel}': {file.name} is not a well-formed CSV: {str(error).strip()}") from None
        frames.append((file, frame))

    widths = {frame.shape[1] for _, frame in frames}
    if len(widths) > 1:
        detail = ", ".join(f"{file.name}: {frame.shape[1]}" for file, frame in frames)
        raise DataError(f"channel '{channel}': files have different column counts ({detail})")
    if min(widths) < 2:
        raise DataError(f"channel '{channel}': need a label column and at least one feature column, found {min(widths)} column")

    matrices = []
    for file, frame in frames:
        stripped = frame.apply(lambda column: column.str.strip())
        numeric = stripped.apply(pd.to_numeric, errors="coerce")
        # Empty feature cells are missing values (XGBoost handles them); anything else must parse.
        bad = numeric.isna() & (stripped != "")
        if bad.to_numpy().any():
            row, column = np.argwhere(bad.to_numpy())[0]
            raise DataError(
                f"channel '{channel}': {file.name} line {row + 1}, column {column + 1}: "
                f"non-numeric value {frame.iat[row, column]!r} (features must be numeric, categoricals already encoded)"
            )
        matrices.append(numeric.to_numpy(dtype=np.float64))
    data = np.vstack(matrices)
    return Dataset(channel=channel, labels=data[:, 0], features=data[:, 1:])


def check_binary_labels(dataset: Dataset) -> None:
    import numpy as np

    labels = dataset.labels
    invalid = ~np.isin(labels, (0.0, 1.0))
    if invalid.any():
        row = int(np.argmax(invalid))
        raise DataError(
            f"channel '{dataset.channel}': row {row + 1} has label {float(labels[row]):g}; "
            "binary:logistic needs labels 0 or 1 in the first column"
        )


def check_same_features(reference: Dataset, other: Dataset) -> None:
    if other.features.shape[1] != reference.features.shape[1]:
        raise DataError(
            f"channel '{other.channel}' has {other.features.shape[1]} features but "
            f"'{reference.channel}' has {reference.features.shape[1]}; every channel needs the same columns"
        )


def roc_auc(labels: Any, scores: Any) -> float:
    """Area under the ROC curve (Mann-Whitney U with tie correction)."""
    from scipy.stats import rankdata

    positives = labels == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def evaluate(labels: Any, probabilities: Any, threshold: float = 0.5) -> dict[str, float]:
    import numpy as np

    predicted = probabilities >= threshold
    actual = labels == 1
    tp = int((predicted & actual).sum())
    fp = int((predicted & ~actual).sum())
    fn = int((~predicted & actual).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    clipped = np.clip(probabilities, 1e-15, 1 - 1e-15)
    return {
        "accuracy": float((predicted == actual).mean()),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "auc": roc_auc(labels, probabilities),
        "logloss": float(-np.mean(actual * np.log(clipped) + (~actual) * np.log(1 - clipped))),
    }


def train(args: argparse.Namespace) -> dict[str, Any]:
    import xgboost as xgb

    train_set = read_channel("train", args.train)
    validation_set = read_channel("validation", args.validation)
    test_set = read_channel("test", args.test) if args.test else None
    datasets = [d for d in (train_set, validation_set, test_set) if d is not None]
    for dataset in datasets:
        check_binary_labels(dataset)
        check_same_features(train_set, dataset)

    params = {
        "objective": args.objective,
        "eval_metric": args.eval_metric,
        "eta": args.eta,
        "max_depth": args.max_depth,
        "subsample": args.subsample,
        "colsample_bytree": args.colsample_bytree,
        "min_child_weight": args.min_child_weight,
        "gamma": args.gamma,
        "scale_pos_weight": args.scale_pos_weight,
        "seed": args.seed,
        "tree_method": "hist",
    }
    matrices = {d.channel: xgb.DMatrix(d.features, label=d.labels) for d in datasets}
    resumed, callbacks = None, []
    if args.checkpoint_dir:
        checkpoint = Path(args.checkpoint_dir) / CHECKPOINT_FILE_NAME
        resumed = load_checkpoint(checkpoint)
        callbacks.append(checkpoint_callback(checkpoint, args.checkpoint_every))
    done_rounds = resumed.num_boosted_rounds() if resumed else 0
    if resumed:
        print(f"resuming from {done_rounds} rounds in {args.checkpoint_dir}", flush=True)
    booster = xgb.train(
        params,
        matrices["train"],
        num_boost_round=max(args.num_round - done_rounds, 1),
        evals=[(matrices["train"], "train"), (matrices["validation"], "validation")],
        early_stopping_rounds=args.early_stopping_rounds,
        verbose_eval=False,
        xgb_model=resumed,
        callbacks=callbacks,
    )
    iteration_range = (0, booster.best_iteration + 1)

    report: dict[str, Any] = {
        "xgboost_version": xgb.__version__,
        "best_iteration": booster.best_iteration,
        "rows": {d.channel: d.rows for d in datasets},
        "features": train_set.features.shape[1],
        "hyperparameters": params | {"num_round": args.num_round, "early_stopping_rounds": args.early_stopping_rounds},
        "metrics": {},
    }
    for dataset in datasets[1:]:
        probabilities = booster.predict(matrices[dataset.channel], iteration_range=iteration_range)
        scores = evaluate(dataset.labels, probabilities)
        report["metrics"][dataset.channel] = scores
        for name, value in scores.items():
            print(metric_line(dataset.channel, name, value), flush=True)

    model_dir = Path(args.model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    # Trees past the best iteration would only overfit: keep the model early stopping chose.
    (model_dir / MODEL_FILE_NAME).write_bytes(booster[: booster.best_iteration + 1].save_raw(raw_format="ubj"))
    output_dir = Path(args.output_data_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "evaluation.json").write_text(json.dumps(report, indent=2, sort_keys=True))
    return report


def load_checkpoint(path: Path) -> Any:
    import xgboost as xgb

    if not path.is_file():
        return None
    booster = xgb.Booster()
    booster.load_model(path)
    return booster


def checkpoint_callback(path: Path, every: int) -> Any:
    import xgboost as xgb

    class SaveCheckpoint(xgb.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            if (epoch + 1) % every == 0:
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_suffix(".partial")
                partial.write_bytes(model.save_raw(raw_format="ubj"))
                partial.replace(path)  # a spot interruption never leaves half a checkpoint
            return False

    return SaveCheckpoint()


def report_failure(message: str, failure_file: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    failure = Path(failure_file)
    if failure.parent.is_dir():
        failure.write_text(message)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        train(args)
    except DataError as error:
        report_failure(str(error), args.failure_file)
        return EXIT_DATA_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
