"""Run a synthesized training job the way SageMaker runs it in the XGBoost 3.2-0 image, offline.

Three steps, each doing what the real service does:

1. :func:`training_job_request`: the ``CreateTrainingJob`` request the state machine sends, with
   every JSONata field evaluated (the real jsonata engine) for a representative run.
2. :func:`build_job_tree`: the ``/opt/ml`` tree SageMaker writes before it starts the container:
   ``input/config`` files, each input channel's objects named as SageMaker names them, the
   checkpoint directory.
3. :func:`run_toolkit`: the image's entry point (``train``, i.e. sagemaker-containers'
   ``_trainer.train()``) in ``.venv-toolkit`` (see tests/support/toolkit-requirements.txt),
   with the image's environment plus the request's ``Environment``, and no network.

The tree lives in a temporary folder, not at ``/opt/ml``: the toolkit reads ``SAGEMAKER_BASE_DIR``
for every path it derives, but ``sagemaker_submit_directory`` is an absolute path that it opens
as given, so :func:`build_job_tree` moves that one hyperparameter's ``/opt/ml`` prefix to the
temporary base. The file name after the prefix stays the request's.
"""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from tests.conftest import SynthesizedEnvironment
from tests.support.asl import PROJECT_DIR, Undefined, definition_of, evaluate

TOOLKIT_VENV = PROJECT_DIR / ".venv-toolkit"
TOOLKIT_PYTHON = TOOLKIT_VENV / "bin" / "python"
NEXT_PIP = TOOLKIT_VENV / "next-pip"
"""A newer pip than the image's, installed by the Makefile (tests/support/toolkit-next-pip.txt)."""
CONTAINER_MODULES = Path(__file__).with_name("container_modules")
SAGEMAKER_BASE = PurePosixPath("/opt/ml")
DATA_CHANNELS = ("train", "validation", "test")
CURRENT_HOST = "algo-1"

IMAGE_ENVIRONMENT = {
    # docker/3.2-0/base/Dockerfile.cpu (a-k-97/sagemaker-xgboost-container at 1d5295bb): unbuffered
    # output keeps the script's lines in order with the toolkit's, as in the job's log.
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "PYTHONIOENCODING": "utf-8",
    # docker/3.2-0/final/Dockerfile.cpu (at 4796ef2c): the framework entry point the toolkit imports.
    "SAGEMAKER_TRAINING_MODULE": "sagemaker_xgboost_container.training:main",
}


# --- 1. the request --------------------------------------------------------------------------


def training_job_request(
    environment: SynthesizedEnvironment,
    *,
    dataset: str = "training/breast-cancer/",
    execution_name: str = "0f8fad5b-d9cb-469f-a165-70867728950e",
    channels: Sequence[str] = DATA_CHANNELS,
) -> dict[str, Any]:
    """``States.Train.Arguments`` of the training state machine, as Step Functions sends it.

    The variables come from the pipeline's own states for a run started with
    ``{"dataset": <dataset>}`` whose dataset folder holds ``channels``: ``ResolveDataset`` assigns
    ``$dataset`` and ``$jobName``, ``ListChannels`` assigns ``$channels`` from a ``listObjectsV2``
    answer.
    """
    definition = definition_of(environment["Training"].resource("AWS::StepFunctions::StateMachine"))
    states = definition["States"]
    context = {
        "Execution": {
            "Id": f"arn:aws:states:{environment.config.region}:{environment.config.account}:execution:training:{execution_name}",
            "Name": execution_name,
        }
    }
    run_input = {"dataset": dataset}
    variables = _evaluate_tree(states["ResolveDataset"]["Assign"], {"states": {"input": run_input, "context": context}})
    listing = {"CommonPrefixes": [{"Prefix": f"{variables['dataset']}{c}/"} for c in channels]}
    variables |= _evaluate_tree(
        {"channels": states["ListChannels"]["Assign"]["channels"]},
        {**variables, "states": {"input": run_input, "context": context, "result": listing}},
    )
    return _evaluate_tree(states["Train"]["Arguments"], {**variables, "states": {"input": run_input, "context": context}})


def _evaluate_tree(tree: Any, bindings: dict[str, Any]) -> Any:
    """``tree`` with every ``{% ... %}`` string replaced by its value, in one engine call."""
    templates: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, str) and node.startswith("{%"):
            templates.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(tree)
    values = dict(zip(templates, evaluate([(t, bindings) for t in templates]), strict=True))
    undefined = [t for t, v in values.items() if v is Undefined]
    assert not undefined, f"JSONata fields without a value for a run that should give every field one: {undefined}"

    def substitute(node: Any) -> Any:
        if isinstance(node, str) and node in values:
            return values[node]
        if isinstance(node, dict):
            return {k: substitute(v) for k, v in node.items()}
        if isinstance(node, list):
            return [substitute(v) for v in node]
        return node

    return substitute(tree)


# --- what S3 holds -----------------------------------------------------------------------------

Objects = Mapping[str, Mapping[str, bytes | Path]]
"""bucket → key → the object's bytes (or a file holding them)."""


def split_s3_uri(uri: str) -> tuple[str, str]:
    assert uri.startswith("s3://"), uri
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def asset_objects(environment: SynthesizedEnvironment, stack: str = "Training") -> dict[str, dict[str, Path]]:
    """The stack's file assets where ``cdk deploy`` publishes them, read from the cloud assembly.

    ``<stack>.assets.json`` beside the template maps each asset to its staged file (a path
    relative to the manifest) and to its destination bucket and key.
    """
    synthesized = environment[stack]
    manifest_path = synthesized.template_path.with_name(synthesized.template_file.removesuffix(".template.json") + ".assets.json")
    manifest = json.loads(manifest_path.read_text())
    objects: dict[str, dict[str, Path]] = {}
    for asset in manifest.get("files", {}).values():
        source = (manifest_path.parent / asset["source"]["path"]).resolve()
        if asset["source"].get("packaging", "file") != "file" or source.suffix == ".json":
            continue  # directories are zipped at publish time; templates are not job inputs
        for destination in asset["destinations"].values():
            bucket = (
                destination["bucketName"]
                .replace("${AWS::AccountId}", environment.config.account)
                .replace("${AWS::Region}", environment.config.region)
            )
            objects.setdefault(bucket, {})[destination["objectKey"]] = source
    return objects


def dataset_objects(bucket: str, dataset: str, channels: Mapping[str, bytes]) -> dict[str, dict[str, bytes]]:
    """A dataset folder as the data contract lays it out: one CSV per channel, and the trigger's marker."""
    keys = {f"{dataset}{channel}/part-0000.csv": content for channel, content in channels.items()}
    return {bucket: keys | {f"{dataset}_SUCCESS": b""}}


def channel_objects(uri: str, objects: Objects) -> dict[str, bytes | Path]:
    """What an ``S3Prefix`` channel downloads, by the file name it gets in the channel directory.

    Every object whose key starts with the prefix, named by the key relative to the prefix; when
    the prefix is exactly one object's key, that object is named by the key's last path segment
    (the SageMaker SDK uploads ``.../sourcedir.tar.gz`` for network-isolated jobs and relies on
    it; its local mode names downloads ``basename(key)`` likewise).
    """
    bucket, prefix = split_s3_uri(uri)
    found = {key: content for key, content in objects.get(bucket, {}).items() if key.startswith(prefix)}
    # SageMaker fails such a job at once ("No S3 objects found under S3 URL ...").
    assert found, f"no S3 objects found under {uri}"
    return {(PurePosixPath(key).name if key == prefix else key[len(prefix) :].lstrip("/")): content for key, content in found.items()}


# --- the data ----------------------------------------------------------------------------------


@functools.cache
def breast_cancer_channels() -> dict[str, np.ndarray]:
    """scikit-learn's breast cancer data in the data contract (label first), split 60/20/20."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    features, labels = load_breast_cancer(return_X_y=True)
    rows = np.column_stack([labels, features])
    train, rest = train_test_split(rows, test_size=0.4, random_state=0, stratify=rows[:, 0])
    validation, test = train_test_split(rest, test_size=0.5, random_state=0, stratify=rest[:, 0])
    return {"train": train, "validation": validation, "test": test}


def csv_bytes(rows: np.ndarray) -> bytes:
    """No header, comma-separated: what lands in the data bucket."""
    buffer = io.StringIO()
    np.savetxt(buffer, rows, delimiter=",", fmt="%.10g")
    return buffer.getvalue().encode()


# --- 2. the tree SageMaker writes --------------------------------------------------------------


def under_base(path: str, base: Path) -> Path:
    """An ``/opt/ml/...`` path of the request, inside the temporary base."""
    relative = PurePosixPath(path).relative_to(SAGEMAKER_BASE)
    return base.joinpath(*relative.parts)


def build_job_tree(
    request: Mapping[str, Any], objects: Objects, base: Path, *, hosts: Sequence[str] | None = None, current_host: str = CURRENT_HOST
) -> Path:
    """Write what SageMaker puts under ``/opt/ml`` before the container starts; returns ``base``.

    ``hosts`` names the instances of a multi-instance job (default ``algo-1``, ``algo-2``, ...) and
    ``current_host`` the one this tree is for: a ``ShardedByS3Key`` channel holds that host's
    share of the objects, every n-th by key ("each instance gets approximately 1/n of the number
    of S3 objects", botocore's documentation of S3DataDistributionType)."""
    config = base / "input" / "config"
    config.mkdir(parents=True)
    for directory in ("model", "output/data"):
        (base / directory).mkdir(parents=True)

    hyperparameters = dict(request.get("HyperParameters", {}))
    not_strings = {k: v for k, v in hyperparameters.items() if not isinstance(v, str)}
    assert not not_strings, f"CreateTrainingJob takes string hyperparameter values only: {not_strings}"
    # The one absolute path the toolkit does not derive from SAGEMAKER_BASE_DIR: move its /opt/ml
    # prefix into the temporary base, keep the file name (what this test is about) as it is.
    submit_directory = hyperparameters.get("sagemaker_submit_directory", "")
    if submit_directory.startswith(f"{SAGEMAKER_BASE}/"):
        hyperparameters["sagemaker_submit_directory"] = str(under_base(submit_directory, base))
    _write_json(config / "hyperparameters.json", hyperparameters)

    resources = request["ResourceConfig"]
    hosts = list(hosts or [f"algo-{n}" for n in range(1, resources["InstanceCount"] + 1)])
    assert len(hosts) == resources["InstanceCount"], f"{len(hosts)} hosts for InstanceCount {resources['InstanceCount']}"
    input_mode = request["AlgorithmSpecification"]["TrainingInputMode"]
    data_config = {}
    for channel in request["InputDataConfig"]:
        source = channel["DataSource"]["S3DataSource"]
        assert source["S3DataType"] == "S3Prefix", "only S3Prefix channels are laid out here"
        data_config[channel["ChannelName"]] = {
            **({"ContentType": channel["ContentType"]} if "ContentType" in channel else {}),
            "TrainingInputMode": channel.get("InputMode", input_mode),
            "S3DistributionType": source.get("S3DataDistributionType", "FullyReplicated"),
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
        }
        directory = base / "input" / "data" / channel["ChannelName"]
        directory.mkdir(parents=True)
        found = channel_objects(source["S3Uri"], objects)
        if data_config[channel["ChannelName"]]["S3DistributionType"] == "ShardedByS3Key":
            share = sorted(found)[hosts.index(current_host) :: len(hosts)]
            found = {name: found[name] for name in share}
        for name, content in found.items():
            target = directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content.read_bytes() if isinstance(content, Path) else content)
    _write_json(config / "inputdataconfig.json", data_config)

    _write_json(
        config / "resourceconfig.json",
        {
            "current_host": current_host,
            "current_instance_type": resources["InstanceType"],
            "current_group_name": "homogeneousCluster",
            "hosts": hosts,
            "instance_groups": [{"instance_group_name": "homogeneousCluster", "instance_type": resources["InstanceType"], "hosts": hosts}],
            "network_interface_name": "eth0",
        },
    )
    if "CheckpointConfig" in request:
        under_base(request["CheckpointConfig"].get("LocalPath", f"{SAGEMAKER_BASE}/checkpoints"), base).mkdir(parents=True)
    return base


def _write_json(path: Path, content: Any) -> None:
    path.write_text(json.dumps(content))


# --- 3. the container --------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolkitRun:
    returncode: int
    stdout: str
    stderr: str
    base: Path
    seconds: float

    @property
    def model_dir(self) -> Path:
        return self.base / "model"

    @property
    def failure(self) -> str | None:
        """``output/failure``: SageMaker's ``FailureReason`` is its first 1024 characters."""
        path = self.base / "output" / "failure"
        return path.read_text() if path.exists() else None

    @property
    def succeeded(self) -> bool:
        return (self.base / "output" / "success").exists()

    def __str__(self) -> str:
        """For assertion messages: how it ended and the end of both streams (the start is the toolkit's banner)."""
        return f"exit {self.returncode} after {self.seconds:.1f}s\n--- stdout\n{self.stdout[-6000:]}\n--- stderr\n{self.stderr[-6000:]}"


@functools.cache
def network_isolation() -> list[str]:
    """A command prefix that runs without any network (a namespace holding only loopback), when allowed.

    ``EnableNetworkIsolation`` gives the container no route out; ``unshare --net`` does the same
    here (it needs root or user namespaces). Without it the runs still use no index (see
    :func:`run_toolkit`) but would not notice other network access.
    """
    try:
        subprocess.run(["unshare", "--net", "true"], check=True, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    return ["unshare", "--net", "--"]


def job_interpreter(workdir: Path, *, next_pip: bool = False) -> Path:
    """A Python for one job: ``.venv-toolkit``'s packages, and a site-packages of its own.

    The toolkit pip-installs the job's code into the running environment; a fresh environment per
    job keeps ``.venv-toolkit`` unchanged (and runs in parallel apart), as every job gets a fresh
    container. A ``.pth`` file adds, after the job's own site-packages, the stand-in for the
    image's ``sagemaker_xgboost_container`` and ``.venv-toolkit``'s site-packages (with its
    ``.pth`` files, e.g. setuptools' ``distutils`` shim); ``next_pip`` puts the newer pip first.
    Isolated pip builds drop every path that the environment's site adds, so they see none of it.
    """
    environment = workdir / "python"
    subprocess.run([str(TOOLKIT_PYTHON), "-m", "venv", "--without-pip", str(environment)], check=True, capture_output=True, timeout=60)
    (site_packages,) = (environment / "lib").glob("python3.*/site-packages")
    (toolkit_site,) = (TOOLKIT_VENV / "lib").glob("python3.*/site-packages")
    lines = [str(NEXT_PIP)] if next_pip else []
    lines += [str(CONTAINER_MODULES), f"import site; site.addsitedir({str(toolkit_site)!r})"]
    (site_packages / "toolkit.pth").write_text("\n".join(lines) + "\n")
    return environment / "bin" / "python"


def run_toolkit(
    request: Mapping[str, Any],
    base: Path,
    *,
    next_pip: bool = False,
    environment: Mapping[str, str] | None = None,
    pip_no_index: bool = True,
    timeout: int = 300,
    isolated: bool = True,
    cores: int | None = None,
) -> ToolkitRun:
    """Start the image's ``train`` entry point on the tree at ``base`` and wait for it.

    The process environment is the image's (:data:`IMAGE_ENVIRONMENT`), what SageMaker adds
    (``TRAINING_JOB_NAME``), then the request's ``Environment`` — or ``environment`` in its place —
    and nothing of this machine's: no proxy, no ``PIP_*`` variables, no pip configuration file
    (``PIP_CONFIG_FILE`` set to the null device), so no local mirror can stand in for the network.
    ``PIP_NO_INDEX=1`` (unless ``pip_no_index`` is false) makes pip give up on the unreachable
    index at once instead of retrying it; the request's ``Environment`` may still override it.
    ``isolated=False`` runs without a network namespace of its own: the hosts of a multi-instance
    job on this machine must reach each other over loopback. ``cores`` caps XGBoost's threads
    (``OMP_NUM_THREADS``), for hosts that share this machine's cores where each instance of a job
    has its own: three hosts each spinning a thread per core on two cores wait on each other at
    every round's all-reduce, five times slower.
    """
    assert TOOLKIT_PYTHON.exists(), f"{TOOLKIT_VENV} is missing: run `make test` (or `make {TOOLKIT_VENV}/.toolkit-installed`)"
    python = job_interpreter(base.parent, next_pip=next_pip)
    home = base.parent / "home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": f"{python.parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(base.parent),
        "PIP_CONFIG_FILE": os.devnull,
        **({"PIP_NO_INDEX": "1"} if pip_no_index else {}),
        "SAGEMAKER_BASE_DIR": str(base),
        **IMAGE_ENVIRONMENT,
        "TRAINING_JOB_NAME": request["TrainingJobName"],
        **(request.get("Environment", {}) if environment is None else environment),
        **({"OMP_NUM_THREADS": str(cores)} if cores else {}),
    }
    started = time.monotonic()
    result = subprocess.run(
        [*(network_isolation() if isolated else []), str(python), "-m", "sagemaker_containers.cli.train"],
        env=env,
        cwd=base,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return ToolkitRun(result.returncode, result.stdout, result.stderr, base, time.monotonic() - started)
