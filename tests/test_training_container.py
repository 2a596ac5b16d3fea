"""The synthesized training job, run by the SageMaker XGBoost 3.2-0 container's own training toolkit.

Each scenario builds the ``/opt/ml`` tree SageMaker would build for the request the state machine
sends, and starts the image's ``train`` entry point (sagemaker-containers 2.8.6.post2 in
``.venv-toolkit``) without a network, as ``EnableNetworkIsolation`` runs it. See
tests/support/training_toolkit.py for how each step follows the service.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import xgboost as xgb

from ml_constructs.training_container import TOOLKIT_ENVIRONMENT
from tests.conftest import SynthesizedEnvironment
from tests.support.training_toolkit import (
    TOOLKIT_PYTHON,
    Objects,
    ToolkitRun,
    asset_objects,
    breast_cancer_channels,
    build_job_tree,
    csv_bytes,
    dataset_objects,
    job_interpreter,
    network_isolation,
    run_toolkit,
    split_s3_uri,
    training_job_request,
)
from training_scripts.metric_log import FAILURE_PREFIX
from training_scripts.train import MODEL_FILE_NAME

DATASET = "training/breast-cancer/"
BAD_VALUE = "n/a"
NEXT_PIP_REQUIREMENT = Path(__file__).parent / "support" / "toolkit-next-pip.txt"


@pytest.fixture(scope="module")
def job(dev: SynthesizedEnvironment) -> dict[str, Any]:
    """The CreateTrainingJob request of a run started with ``{"dataset": "training/breast-cancer/"}``."""
    return training_job_request(dev, dataset=DATASET)


def data_bucket(job: dict[str, Any]) -> str:
    (bucket,) = {split_s3_uri(c["DataSource"]["S3DataSource"]["S3Uri"])[0] for c in job["InputDataConfig"] if c["ChannelName"] != "code"}
    return bucket


@pytest.fixture(scope="module")
def objects(dev: SynthesizedEnvironment, job: dict[str, Any]) -> Objects:
    """S3 as the job finds it: the published code asset, and the dataset folder in the data bucket."""
    channels = {name: csv_bytes(rows) for name, rows in breast_cancer_channels().items()}
    return asset_objects(dev) | dataset_objects(data_bucket(job), DATASET, channels)


def run_job(
    job: dict[str, Any],
    objects: Objects,
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    **options: Any,
) -> ToolkitRun:
    work = tmp_path_factory.mktemp(name)
    return run_toolkit(job, build_job_tree(job, objects, work / "ml"), **options)


@pytest.fixture(scope="module")
def trained(job: dict[str, Any], objects: Objects, tmp_path_factory: pytest.TempPathFactory) -> ToolkitRun:
    """The request as synthesized (its hyperparameters, its Environment), with the image's pip."""
    return run_job(job, objects, tmp_path_factory, "trained")


# --- the job as synthesized ----------------------------------------------------------------------


def test_the_code_channel_delivers_the_file_sagemaker_submit_directory_names(job: dict[str, Any], objects: Objects) -> None:
    """SageMaker names a one-object channel's file after the key; the hyperparameter must use that name."""
    (code,) = [c for c in job["InputDataConfig"] if c["ChannelName"] == "code"]
    _, key = split_s3_uri(code["DataSource"]["S3DataSource"]["S3Uri"])
    assert job["HyperParameters"]["sagemaker_submit_directory"] == f"/opt/ml/input/data/code/{PurePosixPath(key).name}"


def test_the_synthesized_job_trains_in_the_container(trained: ToolkitRun) -> None:
    assert trained.returncode == 0, str(trained)
    assert trained.failure is None, str(trained)
    assert (trained.model_dir / MODEL_FILE_NAME).is_file(), str(trained)
    # The file the endpoint's default handler loads (raw bytes, the name has no extension).
    booster = xgb.Booster()
    booster.load_model(bytearray((trained.model_dir / MODEL_FILE_NAME).read_bytes()))
    assert booster.num_features() == 30  # the breast cancer data's


def test_every_metric_definition_matches_a_line_the_job_prints(
    trained: ToolkitRun, job: dict[str, Any], dev: SynthesizedEnvironment
) -> None:
    """SageMaker reads metrics from the log with the request's regexes; the quality gate reads one of them."""
    assert trained.returncode == 0, str(trained)
    found = {}
    for definition in job["AlgorithmSpecification"]["MetricDefinitions"]:
        match = re.search(definition["Regex"], trained.stdout)
        assert match, f"{definition['Name']}: no line matches {definition['Regex']!r}\n{trained}"
        found[definition["Name"]] = float(match.group(1))
    gate = dev.config.training.quality_gate
    value = found[gate.metric]
    assert value >= gate.threshold if gate.higher_is_better else value <= gate.threshold, f"{gate.metric} = {value} fails the gate"


# --- pip inside the container --------------------------------------------------------------------


def pip_version(tmp_path: Path, *, next_pip: bool) -> str:
    python = job_interpreter(tmp_path, next_pip=next_pip)
    result = subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.split()[1]


def test_the_toolkit_runs_on_the_images_python_and_pip(tmp_path: Path) -> None:
    """What the other tests rely on: Python 3.12, pip 25.2, and setuptools (the toolkit cannot start without it)."""
    probe = "import sys, sagemaker_containers._env, distutils, pkg_resources, wheel; print(sys.version_info[:2], distutils.__file__)"
    result = subprocess.run([str(TOOLKIT_PYTHON), "-W", "ignore", "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.startswith("(3, 12) "), result.stdout
    # Python 3.12 has no distutils; the toolkit's `from distutils import util` gets setuptools' copy.
    assert "/setuptools/_distutils/" in result.stdout, result.stdout
    assert pip_version(tmp_path / "image", next_pip=False) == "25.2"
    (next_pin,) = re.findall(r"^pip==(\S+)$", NEXT_PIP_REQUIREMENT.read_text(), re.MULTILINE)
    assert pip_version(tmp_path / "next", next_pip=True) == next_pin


@pytest.mark.parametrize(
    "environment",
    [{}, {"PIP_NO_BUILD_ISOLATION": "1"}, {"PIP_NO_BUILD_ISOLATION": "true"}],
    ids=["no-environment", "no-build-isolation=1", "no-build-isolation=true"],
)
def test_a_newer_pip_cannot_install_the_code_offline_with_build_isolation(
    job: dict[str, Any], objects: Objects, tmp_path_factory: pytest.TempPathFactory, environment: dict[str, str]
) -> None:
    """pip >= 25.3 builds the generated setup.py in an isolated environment that needs setuptools from
    an index. ``1`` and ``true`` do not turn that off: pip reads them as ``build_isolation = True``."""
    run = run_job(job, objects, tmp_path_factory, "isolated-build", next_pip=True, environment=environment)
    assert run.returncode == 1, str(run)
    assert run.failure is not None
    assert run.failure.startswith('InstallModuleError:\nCommand "'), run.failure
    assert run.failure.endswith(' -m pip install ."'), run.failure
    assert "No matching distribution found for setuptools>=40.8.0" in run.stdout + run.stderr, str(run)
    assert not (run.model_dir / MODEL_FILE_NAME).exists()


def test_the_request_environment_lets_a_newer_pip_install_the_code_without_a_network(
    job: dict[str, Any], objects: Objects, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """With the request's Environment a rebuilt image whose pip builds in isolation still trains.

    Where a network namespace is available the run gets no PIP_NO_INDEX from the harness either,
    which shows that TOOLKIT_ENVIRONMENT is all pip needs. Until the request carries it, the run
    merges it in, so the test says both whether the value works and whether it is wired.
    """
    request_environment = job.get("Environment", {})
    missing = {k: v for k, v in TOOLKIT_ENVIRONMENT.items() if request_environment.get(k) != v}
    run = run_job(
        job,
        objects,
        tmp_path_factory,
        "request-environment",
        next_pip=True,
        environment={**request_environment, **missing},
        pip_no_index=not network_isolation(),
    )
    assert run.returncode == 0, str(run)
    assert (run.model_dir / MODEL_FILE_NAME).exists(), str(run)
    assert not missing, (
        f"the job trains with {missing} merged in, but the CreateTrainingJob request's Environment lacks it "
        "(ml_constructs.training_container.TOOLKIT_ENVIRONMENT)"
    )


# --- a data error ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_data(job: dict[str, Any], objects: Objects, tmp_path_factory: pytest.TempPathFactory) -> ToolkitRun:
    """The same job on a train channel whose third row has a non-numeric feature."""
    channels = {name: csv_bytes(rows) for name, rows in breast_cancer_channels().items()}
    lines = channels["train"].decode().splitlines()
    cells = lines[2].split(",")
    cells[4] = BAD_VALUE
    lines[2] = ",".join(cells)
    channels["train"] = ("\n".join(lines) + "\n").encode()
    bad_objects = {**objects, **dataset_objects(data_bucket(job), DATASET, channels)}
    return run_job(job, bad_objects, tmp_path_factory, "bad-data")


def test_a_data_error_leaves_the_toolkits_reason_in_the_failure_file(bad_data: ToolkitRun) -> None:
    """Whatever train.py wrote to output/failure and whatever status it exited with (2), the toolkit
    then overwrites the file and exits 1: the job's FailureReason names the command, not the problem."""
    assert bad_data.returncode == 1, str(bad_data)
    assert bad_data.failure is not None
    assert re.fullmatch(r'ExecuteUserScriptError:\nCommand "\S+/python -m train --\S+ .*"', bad_data.failure), bad_data.failure
    assert BAD_VALUE not in bad_data.failure


def test_a_data_error_puts_the_scripts_message_on_one_line_of_the_log(bad_data: ToolkitRun) -> None:
    """The container's stderr is what SageMaker sends to CloudWatch Logs, one event per line."""
    lines = [line for line in bad_data.stderr.splitlines() if FAILURE_PREFIX.strip() in line]
    assert len(lines) == 1, str(bad_data)
    (line,) = lines
    assert line.startswith(FAILURE_PREFIX), line
    for part in ("channel 'train'", "part-0000.csv", "line 3, column 5", f"non-numeric value {BAD_VALUE!r}"):
        assert part in line, line
