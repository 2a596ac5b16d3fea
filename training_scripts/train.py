#!/usr/bin/env python3
"""Train a binary XGBoost classifier in SageMaker script mode — or locally, the same way.

In SageMaker's XGBoost framework container, channels arrive under ``SM_CHANNEL_<NAME>``, the
model goes to ``SM_MODEL_DIR`` and extra outputs to ``SM_OUTPUT_DATA_DIR``. Locally:

    python training_scripts/train.py --train data/train --validation data/validation \
        --model-dir out/model --output-data-dir out/data

Data contract: CSV files without a header, label in the first column (0 or 1), then numeric
features (categoricals already encoded). Every file of a channel directory is read, except
hidden files and markers such as ``_SUCCESS``.

Failures. Bad data or a bad argument (hyperparameter) ends the run with exit status 2 and one
stderr line, ``train.py error: <message>`` (``metric_log.failure_line``). The message is also
written to ``/opt/ml/output/failure``, but in SageMaker's XGBoost 3.2-0 image that does not reach
the job: the container's training toolkit rewrites the failure file after the script exits (and
exits 1), so the job's ``FailureReason`` is ``ExecuteUserScriptError:`` and the command line,
``Command ".../python -m train --eta ..."`` — it says the script failed, not why. The why is the
stderr line, which SageMaker sends, one log event per line, to the job's log stream
in CloudWatch Logs (log group ``/aws/sagemaker/TrainingJobs``); the pipeline finds it there with a
filter pattern on ``metric_log.FAILURE_PREFIX``. Locally, and in a container that keeps the
file, the failure file holds the bare message.

Spot resume. With ``--checkpoint-dir`` (SageMaker's ``/opt/ml/checkpoints``), a resumed job ends
with the model an uninterrupted job would have trained, bit for bit on the same instance type:

* early stopping keeps its state (best iteration and score) in the booster's attributes, which
  the checkpoint carries, and a checkpoint is taken only after early stopping recorded its round;
* ``seed_per_iteration`` reseeds row sampling from the round number, and training restarts from
  the serialized booster every ``--checkpoint-every`` rounds whether or not the job was
  interrupted, because XGBoost's column sampler draws its seed once per booster object and so
  would otherwise differ between a resumed and an uninterrupted run. (So the model depends on
  ``--checkpoint-every``, not on whether checkpoints are kept.)
* a checkpoint that already reached ``num_round`` or early stopping trains no further round.

Several instances. With more than one host in SageMaker's resource config (``SM_HOSTS`` and
``SM_CURRENT_HOST``, or ``/opt/ml/input/config/resourceconfig.json``), every host trains on its
shard of the ``train`` channel (``ShardedByS3Key``: whole files, each file on one host) and the
hosts build one model together through XGBoost's own collective: the first host (sorted by name,
as the SageMaker XGBoost container chooses it) runs ``xgboost.tracker.RabitTracker`` and every
host, that one included, joins the communicator (``xgboost.collective.CommunicatorContext``).
XGBoost then all-reduces the histograms, so the trees are those of one run over the union of the
shards. ``validation`` and ``test`` are whole on every host (``FullyReplicated``): early stopping
scores the same validation set everywhere, and only the first host writes the model,
``evaluation.json`` and the metric lines, computed over the whole validation set. A host whose
data breaks the contract stops every host: the hosts agree on their data before training.
Checkpoints are named after their host (every host's checkpoint directory syncs to the same S3
prefix); a resumed job trains on from the first host's checkpoint, which it broadcasts.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import re
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from metric_log import failure_line, metric_line

MODEL_FILE_NAME = "xgboost-model"
"""The name the container's default inference handler loads."""
CHECKPOINT_FILE_NAME = "xgboost-checkpoint.ubj"
EXIT_DATA_ERROR = 2
MAXIMIZE = {"auc": True, "logloss": False, "error": False}
"""Whether early stopping looks for a higher (True) or lower value of each ``eval_metric``."""
TRACKER_PORT = 9099
"""The port of the tracker on the first host: the one the SageMaker XGBoost container's own
distributed training uses (instances of a training job are single-tenant)."""
BOOTSTRAP_TIMEOUT_SECONDS = 1800
"""How long the tracker and the hosts wait for every host to join: hosts start when their data is
on their volume, and File mode downloads shards of different sizes."""
SHUTDOWN_TIMEOUT_SECONDS = 300
"""How long the first host waits for the others to leave the collective once it is done."""
HOST_RESOLUTION_SECONDS = 900
"""Host names of a cluster may not resolve at once when the containers start; SageMaker's guide
says to wait for them (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html)."""


class DataError(Exception):
    """The input data (or an argument) breaks the contract; the message says how."""


class PeerFailedError(Exception):
    """Another host of the training cluster stopped on its data; that host's log says why."""


@dataclass(frozen=True)
class Cluster:
    """The hosts of a training job, as SageMaker names them (``algo-1``, ``algo-2``, ...)."""

    hosts: tuple[str, ...]
    current_host: str

    def __post_init__(self) -> None:
        if not self.hosts or len(set(self.hosts)) != len(self.hosts):
            raise DataError(f"resource config: hosts {list(self.hosts)} must be distinct names, at least one")
        if self.current_host not in self.hosts:
            raise DataError(f"resource config: current host {self.current_host!r} is not one of the hosts {list(self.hosts)}")

    @property
    def first_host(self) -> str:
        """Runs the tracker and writes the outputs: the first by name, as in the container."""
        return sorted(self.hosts)[0]

    @property
    def is_first(self) -> bool:
        return self.current_host == self.first_host

    @property
    def distributed(self) -> bool:
        return len(self.hosts) > 1


LOCAL = Cluster(hosts=("local",), current_host="local")


def read_cluster(env: Mapping[str, str]) -> Cluster:
    """The job's hosts: ``SM_HOSTS``/``SM_CURRENT_HOST`` (the toolkit sets them), else
    SageMaker's ``resourceconfig.json`` (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html),
    else one local host."""
    if env.get("SM_HOSTS") and env.get("SM_CURRENT_HOST"):
        source, text, current = "SM_HOSTS", env["SM_HOSTS"], env["SM_CURRENT_HOST"]
        hosts = _json_or_error(source, text)
    else:
        path = Path(env.get("SM_INPUT_CONFIG_DIR", "/opt/ml/input/config")) / "resourceconfig.json"
        if not path.is_file():
            return LOCAL
        source = str(path)
        config = _json_or_error(source, path.read_text())
        hosts, current = (config.get("hosts"), config.get("current_host")) if isinstance(config, dict) else (None, None)
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts) or not isinstance(current, str):
        raise DataError(f"{source}: expected a list of host names and the current host, found {hosts!r} and {current!r}")
    return Cluster(hosts=tuple(hosts), current_host=current)


def _json_or_error(source: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(f"{source}: not JSON ({error})") from None


def resolve(host: str, timeout: float = HOST_RESOLUTION_SECONDS) -> str:
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        try:
            return socket.gethostbyname(host)
        except OSError:
            if time.monotonic() > deadline:
                raise DataError(f"host {host!r} of the training cluster does not resolve after {timeout:g} s") from None
            time.sleep(delay)
            delay = min(delay * 2, 10)


class Communicator:
    """What train.py asks of the cluster; on one host every call is a no-op."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.first_rank = 0

    def agree(self, error: DataError | None, train: Dataset | None) -> None:
        """Stop every host when one failed on its data; check what only the union shows."""
        if error is not None and not self.cluster.distributed:
            raise error
        import numpy as np

        labels = train.labels if train is not None and error is None else np.array([])
        counts = self.sum([1.0 if error else 0.0, float((labels == 1).sum()), float((labels == 0).sum()), float(len(labels))])
        if error is not None:
            raise error
        failed, positives, negatives, _ = counts
        if failed:
            raise PeerFailedError(f"{int(failed)} other host(s) of the training cluster stopped on their data; their log says why")
        if not (positives and negatives) and train is not None:
            only = 1 if positives else 0
            where = "the shards of channel 'train'" if self.cluster.distributed else "channel 'train'"
            raise DataError(
                f"{where} hold only label {only}: ROC AUC is undefined on one class "
                "and the model cannot be trained or judged; give every channel rows of both classes (0 and 1)"
            )

    def sum(self, values: list[float]) -> list[float]:
        return values

    def broadcast_from_first(self, value: Any) -> Any:
        return value


class CollectiveCommunicator(Communicator):
    def __init__(self, cluster: Cluster) -> None:
        super().__init__(cluster)
        from xgboost import collective

        self.collective = collective
        rank = collective.get_rank()
        self.first_rank = int(self.sum([float(rank) if cluster.is_first else 0.0])[0])

    def sum(self, values: list[float]) -> list[float]:
        import numpy as np

        return [float(v) for v in self.collective.allreduce(np.array(values, dtype=np.float64), self.collective.Op.SUM)]

    def broadcast_from_first(self, value: Any) -> Any:
        # Wrapped: XGBoost's broadcast refuses None, and a host without a checkpoint has none.
        return self.collective.broadcast([value], self.first_rank)[0]


@contextlib.contextmanager
def tracker(cluster: Cluster, port: int) -> Iterator[None]:
    """On the first host of a cluster, XGBoost's tracker for the duration (elsewhere a no-op).

    Started before the host reads its data: a host that asks for the tracker before it listens
    retries after 2 s, then 4 s, and so on (XGBoost's backoff), which costs every job seconds.
    """
    if not (cluster.distributed and cluster.is_first):
        yield
        return
    from xgboost.tracker import RabitTracker

    started = RabitTracker(
        n_workers=len(cluster.hosts), host_ip=resolve(cluster.first_host), port=port, sortby="task", timeout=BOOTSTRAP_TIMEOUT_SECONDS
    )
    started.start()
    try:
        yield
    finally:
        # The tracker lives in this process: it must see every host leave, also when the hosts
        # stop on bad data, or the others wait for it to answer their goodbye.
        try:
            started.wait_for(SHUTDOWN_TIMEOUT_SECONDS)
        except ValueError:
            print(f"host {cluster.current_host}: not every host left within {SHUTDOWN_TIMEOUT_SECONDS} s", flush=True)


@contextlib.contextmanager
def communicator(cluster: Cluster, port: int) -> Iterator[Communicator]:
    """Join the cluster's XGBoost collective for the duration (a no-op on one host)."""
    if not cluster.distributed:
        yield Communicator(cluster)
        return
    from xgboost import collective

    print(f"host {cluster.current_host}: joining {len(cluster.hosts)} hosts, tracker {cluster.first_host}:{port}", flush=True)
    with collective.CommunicatorContext(
        dmlc_tracker_uri=resolve(cluster.first_host),
        dmlc_tracker_port=port,
        # Ranks follow the host names, so every run of the same cluster ranks its hosts alike.
        dmlc_task_id=cluster.current_host,
        dmlc_retry=60,
        dmlc_timeout=BOOTSTRAP_TIMEOUT_SECONDS,
    ):
        yield CollectiveCommunicator(cluster)


@dataclass(frozen=True)
class Dataset:
    channel: str
    labels: Any  # numpy array
    features: Any  # numpy array

    @property
    def rows(self) -> int:
        return len(self.labels)


class _ArgumentParser(argparse.ArgumentParser):
    """Reports a bad argument like bad data: in SageMaker, arguments are the job's hyperparameters."""

    def error(self, message: str) -> NoReturn:
        # One line, no usage block: the failure reason of a job has room for one sentence.
        raise DataError(self._with_suggestions(message))

    def _with_suggestions(self, message: str) -> str:
        unknown = re.fullmatch(r"unrecognized arguments: (.*)", message)
        if not unknown:
            return message
        known = [option for action in self._actions for option in action.option_strings if option.startswith("--") and option != "--help"]
        options = [word.split("=", 1)[0] for word in unknown.group(1).split() if word.startswith("--")]
        named = []
        for option in options:
            # SageMaker passes hyperparameters under XGBoost's names: --max_depth, not --max-depth.
            spelled = "--" + option.removeprefix("--").replace("-", "_")
            guess = difflib.get_close_matches(spelled, known, n=1, cutoff=0.7)
            named.append(f"{option} (did you mean {guess[0]}?)" if guess else option)
        if not named:
            return message
        return f"unknown argument {', '.join(named)}; allowed: {', '.join(known)}"


def _number(kind: type[int] | type[float], low: float, high: float | None = None, *, low_open: bool = False) -> Callable[[str], Any]:
    """An argparse type for a number in a range, so a bad value fails here and not as an XGBoost traceback."""
    bound = f"{'>' if low_open else '>='} {low:g}" + (f" and <= {high:g}" if high is not None else "")

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if value < low or (low_open and value == low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{text} is out of range: must be {bound}")
        return value

    return parse


def default_failure_file() -> str:
    return str(Path(os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output")) / "failure")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ
    parser = _ArgumentParser(allow_abbrev=False, description="Train an XGBoost binary classifier (SageMaker script mode).")

    def channel_default(name: str) -> str | None:
        local = Path("/opt/ml/input/data") / name
        return env.get(f"SM_CHANNEL_{name.upper()}") or (str(local) if local.is_dir() else None)

    parser.add_argument("--train", default=channel_default("train"), help="train channel directory")
    parser.add_argument("--validation", default=channel_default("validation"), help="validation channel directory")
    parser.add_argument("--test", default=channel_default("test"), help="optional test channel directory")
    parser.add_argument("--model-dir", default=env.get("SM_MODEL_DIR", "/opt/ml/model"))
    parser.add_argument("--output-data-dir", default=env.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data"))
    parser.add_argument("--failure-file", default=default_failure_file())
    parser.add_argument(
        "--checkpoint-dir",
        # SageMaker creates it (and syncs it with S3) when the job has a CheckpointConfig.
        default="/opt/ml/checkpoints" if Path("/opt/ml/checkpoints").is_dir() else None,
        help="save progress here and resume from it (managed spot training)",
    )
    parser.add_argument("--checkpoint-every", type=_number(int, 1), default=10, help="rounds between checkpoints (and booster restarts)")
    parser.add_argument("--tracker-port", type=_number(int, 1, 65535), default=TRACKER_PORT, help="the collective's port on the first host")

    # Hyperparameters, named as in XGBoost; SageMaker passes them as --name value.
    fraction = _number(float, 0, 1, low_open=True)
    parser.add_argument("--objective", default="binary:logistic", choices=["binary:logistic"])
    parser.add_argument("--eval_metric", default="auc", choices=sorted(MAXIMIZE))
    parser.add_argument("--eta", type=_number(float, 0, low_open=True), default=0.2)
    parser.add_argument("--max_depth", type=_number(int, 1), default=5)
    parser.add_argument("--num_round", type=_number(int, 1), default=200)
    parser.add_argument("--early_stopping_rounds", type=_number(int, 0), default=20, help="0 turns early stopping off")
    parser.add_argument("--subsample", type=fraction, default=0.8)
    parser.add_argument("--colsample_bytree", type=fraction, default=1.0)
    parser.add_argument("--min_child_weight", type=_number(float, 0), default=1.0)
    parser.add_argument("--gamma", type=_number(float, 0), default=0.0)
    parser.add_argument("--scale_pos_weight", type=_number(float, 0, low_open=True), default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def channel_files(channel: str, directory: str | None, hint: str = "") -> list[Path]:
    if not directory:
        raise DataError(f"channel '{channel}' is missing: give --{channel} DIR or SM_CHANNEL_{channel.upper()}")
    path = Path(directory)
    if not path.is_dir():
        raise DataError(f"channel '{channel}': {path} is not a directory")
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
    if not files:
        raise DataError(f"channel '{channel}': no data files in {path}{hint}")
    return files


def _first_short_line(raw: bytes, width: int) -> tuple[int, int] | None:
    """The first line with fewer cells than ``width``, as (line number, cells).

    pandas pads a short row with empty cells, which read as missing values: a row that lost a
    cell would train silently with its features shifted. Counted on the bytes, vectorized, so a
    large channel costs one pass; blank lines are skipped, as pandas skips them.
    """
    import numpy as np

    if not raw:
        return None
    data = np.frombuffer(raw, dtype=np.uint8)
    newlines = np.flatnonzero(data == ord("\n"))
    ends = newlines if raw.endswith(b"\n") else np.append(newlines, len(data))
    starts = np.concatenate(([0], ends[:-1] + 1))
    commas = np.concatenate(([0], np.cumsum(data == ord(","))))
    cells = commas[ends] - commas[starts] + 1
    blank = (ends - starts) - (data[np.maximum(ends - 1, 0)] == ord("\r")) <= 0
    short = np.flatnonzero((cells < width) & ~blank)
    if not len(short):
        return None
    return int(short[0]) + 1, int(cells[short[0]])


def read_channel(channel: str, directory: str | None, hint: str = "") -> Dataset:
    import numpy as np
    import pandas as pd

    frames = []
    for file in channel_files(channel, directory, hint):
        try:
            frame = pd.read_csv(file, header=None, dtype=str, keep_default_na=False)
        except pd.errors.EmptyDataError:
            raise DataError(f"channel '{channel}': {file.name} is empty") from None
        except pd.errors.ParserError as error:
            raise DataError(f"channel '{channel}': {file.name} is not a well-formed CSV: {str(error).strip()}") from None
        except UnicodeDecodeError as error:
            # A Parquet, RecordIO or other binary file in a CSV channel.
            raise DataError(f"channel '{channel}': {file.name} is not CSV text (byte {error.start} is not UTF-8)") from None
        short_line = _first_short_line(file.read_bytes(), frame.shape[1])
        if short_line:
            line, cells = short_line
            raise DataError(
                f"channel '{channel}': {file.name} line {line} has {cells} cells, other lines {frame.shape[1]} "
                "(every row needs the label and every feature; leave a missing value empty)"
            )
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
        values = numeric.to_numpy(dtype=np.float64)
        # "inf" and values beyond float range parse, but XGBoost refuses them (with a traceback).
        infinite = np.isinf(values)
        if infinite.any():
            row, column = np.argwhere(infinite)[0]
            raise DataError(
                f"channel '{channel}': {file.name} line {row + 1}, column {column + 1}: "
                f"value {frame.iat[row, column]!r} is not a finite number (leave the cell empty for a missing value)"
            )
        matrices.append(values)
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


def check_both_classes(dataset: Dataset) -> None:
    import numpy as np

    # ROC AUC of a single class is undefined (XGBoost reports NaN): a validation set like that
    # stops early stopping at round 0, a test set reports auc=nan, and a train set learns nothing.
    classes = np.unique(dataset.labels)
    if len(classes) < 2:
        raise DataError(
            f"channel '{dataset.channel}' has only label {float(classes[0]):g}: ROC AUC is undefined on one class "
            "and the model cannot be trained or judged; give every channel rows of both classes (0 and 1)"
        )


def roc_auc(labels: Any, scores: Any) -> float:
    """Area under the ROC curve (Mann-Whitney U with tie correction)."""
    import numpy as np

    positives = labels == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    # Average ranks, ties sharing the mean of their positions (scipy.stats.rankdata's default,
    # without importing SciPy's 0.9 s of statistics on every host).
    _, group, sizes = np.unique(scores, return_inverse=True, return_counts=True)
    last = np.cumsum(sizes)
    ranks = ((last - sizes + 1 + last) / 2)[group.reshape(-1)]
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


def xgboost_params(args: argparse.Namespace) -> dict[str, Any]:
    return {
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
        # Row sampling seeded from the round number, not from how many rounds this process ran.
        "seed_per_iteration": True,
        "tree_method": "hist",
    }


class EarlyStopping:
    """XGBoost's early stopping rule, with its state kept in the booster instead of the callback.

    ``xgboost.callback.EarlyStopping`` starts its history afresh on a resumed booster, so the first
    resumed round becomes the "best" and the run goes on for another ``rounds`` rounds. Here the
    best iteration and score are the booster's ``best_iteration`` / ``best_score`` attributes
    (the names XGBoost itself uses), which ``save_raw`` writes into the checkpoint; the rounds
    since the best follow from them and the number of trees.
    """

    def __init__(self, metric: str, rounds: int) -> None:
        self.maximize = MAXIMIZE[metric]
        self.rounds = rounds

    def record(self, booster: Any, iteration: int, score: float) -> None:
        best = booster.attr("best_score")
        # Strictly better, as in XGBoost (min_delta 0): a tie keeps the earlier, smaller model.
        if best is None or (score > float(best) if self.maximize else score < float(best)):
            booster.set_attr(best_iteration=str(iteration), best_score=repr(score))

    def should_stop(self, booster: Any) -> bool:
        best = booster.attr("best_iteration")
        return self.rounds > 0 and best is not None and booster.num_boosted_rounds() - 1 - int(best) >= self.rounds


def validation_score(booster: Any, matrix: Any, iteration: int) -> float:
    # "[12]\tvalidation-auc:0.98765432": the text xgboost.train's early stopping reads its score from.
    return float(booster.eval_set([(matrix, "validation")], iteration).rsplit(":", 1)[1])


def checkpoint_file_name(cluster: Cluster) -> str:
    """One file per host: every host's checkpoint directory syncs with the same S3 prefix
    (https://docs.aws.amazon.com/sagemaker/latest/dg/model-checkpoints.html)."""
    return f"xgboost-checkpoint-{cluster.current_host}.ubj" if cluster.distributed else CHECKPOINT_FILE_NAME


def boost(
    params: dict[str, Any], train_matrix: Any, validation_matrix: Any, args: argparse.Namespace, comm: Communicator | None = None
) -> Any:
    """Train until ``num_round`` or early stopping, resuming from and saving to the checkpoint."""
    import xgboost as xgb

    comm = comm or Communicator(LOCAL)
    cache = [train_matrix, validation_matrix]
    checkpoint = Path(args.checkpoint_dir) / checkpoint_file_name(comm.cluster) if args.checkpoint_dir else None
    stopping = EarlyStopping(args.eval_metric, args.early_stopping_rounds)

    def restore(raw: bytes | None) -> Any:
        return xgb.Booster(params, cache, model_file=bytearray(raw) if raw is not None else None)

    saved = checkpoint.read_bytes() if checkpoint is not None and checkpoint.is_file() else None
    # Every host resumes from the first host's round: the hosts' boosters must stay one model.
    booster = restore(comm.broadcast_from_first(saved))
    if booster.num_boosted_rounds():
        if booster.num_features() != train_matrix.num_col():
            raise DataError(
                f"checkpoint {checkpoint} holds a model of {booster.num_features()} features but channel 'train' "
                f"has {train_matrix.num_col()}; use an empty checkpoint directory for new data"
            )
        print(
            f"resuming from {booster.num_boosted_rounds()} rounds in {checkpoint} (best iteration {booster.attr('best_iteration')})",
            flush=True,
        )

    def finished(booster: Any) -> bool:
        return booster.num_boosted_rounds() >= args.num_round or stopping.should_stop(booster)

    while not finished(booster):
        iteration = booster.num_boosted_rounds()
        # The true round number, not a count from this process's start: with seed_per_iteration
        # it seeds the row sampling, so a resumed round draws the rows an uninterrupted one does.
        booster.update(train_matrix, iteration)
        # Early stopping's state changes before the checkpoint below is taken, never after.
        stopping.record(booster, iteration, validation_score(booster, validation_matrix, iteration))
        if (iteration + 1) % args.checkpoint_every == 0 or finished(booster):
            raw = booster.save_raw(raw_format="ubj")
            if checkpoint is not None:
                save_checkpoint(raw, checkpoint)
            # Carry on from the saved bytes, as a resumed job must, so both draw columns alike.
            booster = restore(raw)
    return booster


def save_checkpoint(raw: bytes, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_bytes(raw)
    partial.replace(path)  # a spot interruption never leaves half a checkpoint


def read_datasets(args: argparse.Namespace, cluster: Cluster) -> list[Dataset]:
    """The channels, checked; with several hosts, ``train`` is this host's shard."""
    hint = (
        f" (this host's shard: ShardedByS3Key gives each of the {len(cluster.hosts)} hosts whole files, "
        "so the train channel needs at least as many files as instances)"
        if cluster.distributed
        else ""
    )
    train_set = read_channel("train", args.train, hint)
    validation_set = read_channel("validation", args.validation)
    test_set = read_channel("test", args.test) if args.test else None
    datasets = [d for d in (train_set, validation_set, test_set) if d is not None]
    for dataset in datasets:
        check_binary_labels(dataset)
        check_same_features(train_set, dataset)
        # A shard may hold one class; the hosts check the union of the shards together.
        if not (cluster.distributed and dataset is train_set):
            check_both_classes(dataset)
    return datasets


def train(args: argparse.Namespace, cluster: Cluster | None = None) -> dict[str, Any]:
    cluster = cluster or read_cluster(os.environ)
    with tracker(cluster, args.tracker_port):
        try:
            datasets, error = read_datasets(args, cluster), None
        except DataError as failed:
            datasets, error = [], failed
        with communicator(cluster, args.tracker_port) as comm:
            comm.agree(error, datasets[0] if datasets else None)
            return train_together(args, datasets, comm)


def train_together(args: argparse.Namespace, datasets: list[Dataset], comm: Communicator) -> dict[str, Any]:
    import xgboost as xgb

    train_set = datasets[0]
    params = xgboost_params(args)
    matrices = {d.channel: xgb.DMatrix(d.features, label=d.labels) for d in datasets}
    booster = boost(params, matrices["train"], matrices["validation"], args, comm)
    rounds = booster.num_boosted_rounds()
    best = booster.attr("best_iteration")
    best_iteration = int(best) if best is not None else rounds - 1
    # Trees past the best iteration would only overfit: keep the model early stopping chose.
    model_rounds = best_iteration + 1 if args.early_stopping_rounds else rounds
    print(f"trained {rounds} rounds, best iteration {best_iteration}, model keeps {model_rounds}", flush=True)
    train_rows = int(comm.sum([float(train_set.rows)])[0])  # every host's shard
    if not comm.cluster.is_first:
        # One model, one set of metrics: the job's metric definitions read every host's log.
        print(f"host {comm.cluster.current_host}: {comm.cluster.first_host} writes the model and the metrics", flush=True)
        return {}

    features = train_set.features.shape[1]
    report: dict[str, Any] = {
        "xgboost_version": xgb.__version__,
        "rounds": rounds,
        "best_iteration": best_iteration,
        "model_rounds": model_rounds,
        "rows": {d.channel: d.rows for d in datasets} | {"train": train_rows},
        "hosts": len(comm.cluster.hosts),
        "features": features,
        "hyperparameters": params | {"num_round": args.num_round, "early_stopping_rounds": args.early_stopping_rounds},
        "metrics": {},
    }
    print(metric_line("train", "features", features), flush=True)
    for dataset in datasets[1:]:
        probabilities = booster.predict(matrices[dataset.channel], iteration_range=(0, model_rounds))
        scores = evaluate(dataset.labels, probabilities)
        report["metrics"][dataset.channel] = scores
        for name, value in scores.items():
            print(metric_line(dataset.channel, name, value), flush=True)

    model_dir = Path(args.model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / MODEL_FILE_NAME).write_bytes(booster[:model_rounds].save_raw(raw_format="ubj"))
    output_dir = Path(args.output_data_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "evaluation.json").write_text(json.dumps(report, indent=2, sort_keys=True))
    return report


def report_failure(message: str, failure_file: str) -> None:
    print(failure_line(message), file=sys.stderr, flush=True)
    failure = Path(failure_file)
    if failure.parent.is_dir():
        failure.write_text(message)


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
    except DataError as error:
        # --failure-file may be the very argument that failed to parse: use the default.
        report_failure(str(error), default_failure_file())
        return EXIT_DATA_ERROR
    try:
        train(args)
    except DataError as error:
        report_failure(str(error), args.failure_file)
        return EXIT_DATA_ERROR
    except PeerFailedError as error:
        # Not the failure line: the pipeline looks for the failing host's own message.
        print(f"train.py: {error}", file=sys.stderr, flush=True)
        return EXIT_DATA_ERROR
    return 0


def import_xgboost_without_sklearn() -> None:
    """Import xgboost with scikit-learn hidden, when nothing has imported scikit-learn yet.

    xgboost imports scikit-learn (and SciPy with it) only for its scikit-learn estimator classes,
    which this script does not use: 1.3 of the 1.7 s that ``import xgboost`` takes, on every host
    of every job. A process that already has scikit-learn (a test) keeps it.
    """
    if "sklearn" in sys.modules or "xgboost" in sys.modules:
        return
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # "import sklearn" raises ImportError
    try:
        import xgboost  # noqa: F401
    finally:
        del sys.modules["sklearn"]


if __name__ == "__main__":
    import_xgboost_without_sklearn()
    sys.exit(main())
