"""train.py on several hosts: three processes on this machine play a SageMaker training cluster.

Each process is one host with its own ``/opt/ml``-like tree (``tests/support/local_cluster.py``):
its shard of ``train`` (what ``ShardedByS3Key`` gives it, whole files), the whole ``validation``
channel (``FullyReplicated``), its own model, output and checkpoint directories.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification

from tests.support.local_cluster import SCRIPT, host_environment, loopback_hosts, run_cluster
from training_scripts import train as train_script
from training_scripts.metric_log import FAILURE_PREFIX

HOSTS = loopback_hosts(3)
ARGS = ["--eta", "0.2", "--max_depth", "4", "--num_round", "40", "--early_stopping_rounds", "10"]
AUC_TOLERANCE = 0.005


@dataclass(frozen=True)
class Host:
    name: str
    root: Path
    result: subprocess.CompletedProcess[str]

    @property
    def model(self) -> Path:
        return self.root / "model" / train_script.MODEL_FILE_NAME

    @property
    def evaluation(self) -> Path:
        return self.root / "output" / "data" / "evaluation.json"

    @property
    def metric_lines(self) -> list[str]:
        return [line for line in self.result.stdout.splitlines() if line.startswith("metric ")]


def write_rows(path: Path, rows: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, rows, delimiter=",", fmt="%.8g")


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    features, labels = make_classification(n_samples=9000, n_features=12, n_informative=6, flip_y=0.05, random_state=3)
    rows = np.column_stack([labels, features])
    return {"train": rows[:6000], "validation": rows[6000:]}


def host_tree(root: Path, shards: list[np.ndarray], validation: np.ndarray) -> Path:
    """``/opt/ml`` of one host: its train files, the whole validation channel."""
    for index, shard in enumerate(shards):
        write_rows(root / "input" / "data" / "train" / f"part-{index:04d}.csv", shard)
    write_rows(root / "input" / "data" / "validation" / "part-0000.csv", validation)
    (root / "input" / "data" / "train" / "_SUCCESS").write_text("")
    return root


def run_hosts(base: Path, shards: list[np.ndarray], validation: np.ndarray) -> list[Host]:
    roots = [host_tree(base / f"algo-{index + 1}", [shard], validation) for index, shard in enumerate(shards)]
    results = run_cluster(roots, [*ARGS, "--checkpoint-dir", "{root}/checkpoints"])
    return [Host(name, root, result) for name, root, result in zip(HOSTS, roots, results, strict=True)]


def validation_auc(evaluation: Path) -> float:
    return float(json.loads(evaluation.read_text())["metrics"]["validation"]["auc"])


@pytest.fixture(scope="module")
def single(data: dict[str, np.ndarray], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One process over the union of the shards (the same three files in one channel)."""
    root = host_tree(tmp_path_factory.mktemp("single"), np.array_split(data["train"], len(HOSTS)), data["validation"])
    result = subprocess.run([sys.executable, str(SCRIPT), *ARGS], env=host_environment(root), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return root / "output" / "data" / "evaluation.json"


@pytest.fixture(scope="module")
def cluster(data: dict[str, np.ndarray], tmp_path_factory: pytest.TempPathFactory) -> list[Host]:
    hosts = run_hosts(tmp_path_factory.mktemp("cluster"), np.array_split(data["train"], len(HOSTS)), data["validation"])
    for host in hosts:
        assert host.result.returncode == 0, f"{host.name}: {host.result.stderr[-3000:]}"
    return hosts


def test_three_hosts_train_one_model_as_good_as_one_process_on_the_union(cluster: list[Host], single: Path) -> None:
    first = cluster[0]
    distributed, alone = validation_auc(first.evaluation), validation_auc(single)
    assert alone > 0.9, "the data is learnable"
    assert abs(distributed - alone) <= AUC_TOLERANCE, f"validation AUC: 3 hosts {distributed:.6f}, one process {alone:.6f}"
    report = json.loads(first.evaluation.read_text())
    assert report["hosts"] == len(HOSTS)
    assert report["rows"]["train"] == 6000, "the union of the shards, not the first host's"


def test_the_hosts_train_together_not_each_alone(cluster: list[Host], data: dict[str, np.ndarray], tmp_path: Path) -> None:
    """A model trained on the first shard alone differs from the cluster's: the shards were joined."""
    root = host_tree(tmp_path, [np.array_split(data["train"], len(HOSTS))[0]], data["validation"])
    result = subprocess.run([sys.executable, str(SCRIPT), *ARGS], env=host_environment(root), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (root / "model" / train_script.MODEL_FILE_NAME).read_bytes() != cluster[0].model.read_bytes()
    joined = [line for line in cluster[0].result.stdout.splitlines() if "joining" in line]
    assert joined == [f"host {HOSTS[0]}: joining 3 hosts, tracker {HOSTS[0]}:{joined[0].rsplit(':', 1)[1]}"]


def test_only_the_first_host_writes_the_model_the_evaluation_and_the_metric_lines(cluster: list[Host]) -> None:
    first, *others = cluster
    assert first.model.is_file()
    assert first.evaluation.is_file()
    assert any(line.startswith("metric validation:auc=") for line in first.metric_lines)
    for host in others:
        assert not host.model.exists(), host.name
        assert not host.evaluation.exists(), host.name
        assert host.metric_lines == [], f"{host.name} printed metric lines the job would count twice"


def test_every_host_checkpoints_under_its_own_name(cluster: list[Host]) -> None:
    for host in cluster:
        assert [p.name for p in (host.root / "checkpoints").iterdir()] == [f"xgboost-checkpoint-{host.name}.ubj"]


def test_a_host_with_bad_data_stops_every_host_with_its_reason_in_its_log(data: dict[str, np.ndarray], tmp_path: Path) -> None:
    """The second host's shard breaks the contract: one line from it, a plain stop from the others."""
    shards = np.array_split(data["train"], len(HOSTS))
    broken = [shards[0], shards[1].copy(), shards[2]]
    broken[1][5, 0] = 7
    hosts = run_hosts(tmp_path, broken, data["validation"])
    assert [h.result.returncode for h in hosts] == [2, 2, 2]
    failure_lines = {h.name: [line for line in h.result.stderr.splitlines() if line.startswith(FAILURE_PREFIX)] for h in hosts}
    assert failure_lines == {
        HOSTS[0]: [],
        HOSTS[1]: [f"{FAILURE_PREFIX}channel 'train': row 6 has label 7; binary:logistic needs labels 0 or 1 in the first column"],
        HOSTS[2]: [],
    }
    for host in (hosts[0], hosts[2]):
        assert "other host(s) of the training cluster stopped on their data" in host.result.stderr
        assert "Traceback" not in host.result.stderr


def test_a_host_missing_from_its_own_resource_config_is_refused_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-9", "hosts": ["algo-1", "algo-2"]}))
    with pytest.raises(train_script.DataError, match=r"current host 'algo-9' is not one of the hosts \['algo-1', 'algo-2'\]"):
        train_script.read_cluster({"SM_INPUT_CONFIG_DIR": str(config)})
    assert train_script.read_cluster({"SM_HOSTS": '["algo-2", "algo-1"]', "SM_CURRENT_HOST": "algo-1"}).is_first
    assert train_script.read_cluster({"SM_INPUT_CONFIG_DIR": str(tmp_path / "none")}) == train_script.LOCAL


def test_a_resumed_cluster_ends_with_the_uninterrupted_model(data: dict[str, np.ndarray], tmp_path: Path) -> None:
    """Spot resume on three hosts: the second and third host lost their checkpoints; they resume
    from the first host's, which it broadcasts, at the same round."""
    shards = np.array_split(data["train"], len(HOSTS))
    fixed = ["--early_stopping_rounds", "0", "--checkpoint-every", "5"]

    def cluster_run(base: Path, rounds: int) -> list[subprocess.CompletedProcess[str]]:
        roots = [host_tree(base / f"algo-{i + 1}", [shard], data["validation"]) for i, shard in enumerate(shards)]
        runs = run_cluster(roots, [*ARGS, *fixed, "--num_round", str(rounds), "--checkpoint-dir", "{root}/checkpoints"])
        assert [r.returncode for r in runs] == [0, 0, 0], runs[0].stderr[-2000:]
        return runs

    cluster_run(tmp_path / "straight", 15)
    cluster_run(tmp_path / "resumed", 5)  # as if interrupted after the round-5 checkpoint
    for index in (2, 3):
        for checkpoint in (tmp_path / "resumed" / f"algo-{index}" / "checkpoints").iterdir():
            checkpoint.unlink()
    runs = cluster_run(tmp_path / "resumed", 15)
    assert all("resuming from 5 rounds" in run.stdout for run in runs), [run.stdout for run in runs]
    model = Path("model") / train_script.MODEL_FILE_NAME
    straight, resumed = (tmp_path / run / "algo-1" / model for run in ("straight", "resumed"))
    assert straight.read_bytes() == resumed.read_bytes()
