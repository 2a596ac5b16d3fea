"""A Training stack configured for several instances: what the pipeline asks SageMaker for.

dev's configuration with ``training.instance_count: 3`` and ``input_mode: FastFile``, synthesized
once: the train channel is split by object, the others are whole on every host, the pipeline
refuses a dataset with fewer train files than instances before it starts a job, and every
request is one botocore's model of the service accepts.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from config import load_environment
from tests.conftest import SynthesizedEnvironment, read_environments, shared_assembly
from tests.support import botocore_contracts as bc
from tests.support.asl import definition_of, evaluate, validate
from tests.support.local_cluster import free_port, loopback_hosts
from tests.support.training_toolkit import (
    ToolkitRun,
    asset_objects,
    breast_cancer_channels,
    build_job_tree,
    csv_bytes,
    run_toolkit,
    split_s3_uri,
    training_job_request,
)
from training_scripts.train import MODEL_FILE_NAME

INSTANCES = 3
DATASET = "training/sharded/"


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedEnvironment:
    from app import build_app

    dev = load_environment("dev")
    config = dev.model_copy(update={"training": dev.training.model_copy(update={"instance_count": INSTANCES, "input_mode": "FastFile"})})
    outdir = shared_assembly(tmp_path_factory, "sharded-training.out", lambda out: build_app([config], outdir=str(out)).synth())
    return read_environments([config], outdir)["dev"]


@pytest.fixture(scope="module")
def definition(sharded: SynthesizedEnvironment) -> dict[str, Any]:
    return definition_of(sharded["Training"].resource("AWS::StepFunctions::StateMachine"))


def listing(*keys: tuple[str, int], truncated: bool = False) -> dict[str, Any]:
    return {"Contents": [{"Key": DATASET + "train/" + key, "Size": size} for key, size in keys], "IsTruncated": truncated}


def test_the_definition_is_valid_asl(definition: dict[str, Any]) -> None:
    assert validate(definition) == []


def test_train_is_split_between_the_instances_and_the_rest_is_whole_on_each(sharded: SynthesizedEnvironment) -> None:
    request = training_job_request(sharded, dataset=DATASET)
    assert request["ResourceConfig"]["InstanceCount"] == INSTANCES
    assert request["AlgorithmSpecification"]["TrainingInputMode"] == "FastFile"
    distribution = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3DataDistributionType"] for c in request["InputDataConfig"]}
    whole = "FullyReplicated"
    assert distribution == {"train": "ShardedByS3Key", "validation": whole, "test": whole, "code": whole}
    modes = {c["ChannelName"]: c.get("InputMode") for c in request["InputDataConfig"]}
    assert modes == {"train": None, "validation": None, "test": None, "code": "File"}, "data streams, the code bundle is a file"
    assert request["EnableInterContainerTrafficEncryption"] is True
    assert request["EnableNetworkIsolation"] is True


def test_the_distributed_request_is_one_sagemaker_accepts(sharded: SynthesizedEnvironment) -> None:
    templates = {name: stack.template for name, stack in sharded.stacks.items()}
    environment = bc.Environment(sharded.config.name, sharded.config.account, sharded.config.region, templates)
    request = environment.substitute("Training", training_job_request(sharded, dataset=DATASET))
    assert bc.validate_request(bc.integration_of("arn:aws:states:::sagemaker:createTrainingJob.sync"), request) == []


def test_the_shard_check_lists_train_within_one_small_page(definition: dict[str, Any]) -> None:
    state = definition["States"]["ListTrainFiles"]
    [prefix] = evaluate([(state["Arguments"]["Prefix"], {"dataset": DATASET})])
    request = {**state["Arguments"], "Prefix": prefix}
    assert bc.validate_request(bc.integration_of(state["Resource"]), request) == []
    assert request["MaxKeys"] == 100
    assert definition["States"]["CheckChannels"]["Choices"][0]["Next"] == "ListTrainFiles"


@pytest.mark.parametrize(
    ("result", "passes"),
    [
        (listing(("a.csv", 10), ("b.csv", 10), ("c.csv", 10)), True),
        (listing(("a.csv", 10), ("b.csv", 10)), False),
        # Markers, hidden and empty objects train nothing: a host that gets only those fails.
        (listing(("a.csv", 10), ("b.csv", 10), ("_SUCCESS", 0), (".keep", 3), ("empty.csv", 0)), False),
        (listing(("a.csv", 10), truncated=True), True),
    ],
)
def test_fewer_train_files_than_instances_stop_the_run_before_a_job_starts(
    definition: dict[str, Any], result: dict[str, Any], passes: bool
) -> None:
    states = definition["States"]
    [files] = evaluate([(states["ListTrainFiles"]["Assign"]["trainFiles"], {"dataset": DATASET, "states": {"result": result}})])
    condition = states["CheckTrainShards"]["Choices"][0]["Condition"]
    cause = states["TooFewTrainFiles"]["Assign"]["failure"]["Cause"]
    verdict, message = evaluate([(condition, {"trainFiles": files}), (cause, {"trainFiles": files, "dataset": DATASET})])
    assert verdict is passes
    if not passes:
        assert message == (
            "s3://mlops-dev-data-111111111111-eu-west-1/training/sharded/train/ holds 2 data files; training.instance_count = 3 "
            "needs at least 3: every instance trains on whole files of its own (ShardedByS3Key), so split the training data into "
            "at least as many files as instances"
        )


def test_one_instance_keeps_the_replicated_layout(dev: SynthesizedEnvironment) -> None:
    states = definition_of(dev["Training"].resource("AWS::StepFunctions::StateMachine"))["States"]
    assert "ListTrainFiles" not in states
    request = training_job_request(dev)
    assert {c["DataSource"]["S3DataSource"]["S3DataDistributionType"] for c in request["InputDataConfig"]} == {"FullyReplicated"}
    assert request["AlgorithmSpecification"]["TrainingInputMode"] == "File"


# --- the job in the container's toolkit, one toolkit per host ----------------------------------


@pytest.fixture(scope="module")
def toolkit_cluster(sharded: SynthesizedEnvironment, tmp_path_factory: pytest.TempPathFactory) -> list[ToolkitRun]:
    """The synthesized 3-instance job, each host's tree as SageMaker writes it, run by the image's
    toolkit at once. Hosts are named by loopback addresses so they resolve here; they share this
    machine's loopback (no network namespace each), PIP_NO_INDEX keeps pip offline.

    The tracker gets a free port (``tracker-port``), not its default 9099: each job has fresh
    instances, but this machine may still hold 9099 from a run a minute ago (TIME_WAIT), and a
    tracker that cannot bind leaves the other hosts retrying for an hour."""
    request = training_job_request(sharded, dataset=DATASET)
    request = request | {"HyperParameters": request["HyperParameters"] | {"tracker-port": str(free_port())}}
    channels = breast_cancer_channels()
    (bucket,) = {
        split_s3_uri(c["DataSource"]["S3DataSource"]["S3Uri"])[0] for c in request["InputDataConfig"] if c["ChannelName"] != "code"
    }
    data = {f"{DATASET}train/part-{i:04d}.csv": csv_bytes(rows) for i, rows in enumerate(np.array_split(channels["train"], INSTANCES))}
    data |= {f"{DATASET}{c}/part-0000.csv": csv_bytes(channels[c]) for c in ("validation", "test")}
    objects = asset_objects(sharded) | {bucket: data}
    hosts = loopback_hosts(INSTANCES)
    trees = [
        build_job_tree(request, objects, tmp_path_factory.mktemp(f"host{i}") / "ml", hosts=hosts, current_host=h)
        for i, h in enumerate(hosts)
    ]
    with ThreadPoolExecutor(INSTANCES) as pool:
        return list(pool.map(lambda tree: run_toolkit(request, tree, isolated=False, cores=1), trees))


def test_three_toolkits_train_one_model_and_only_the_first_host_reports(toolkit_cluster: list[ToolkitRun]) -> None:
    for run in toolkit_cluster:
        assert run.returncode == 0, str(run)
        assert "joining 3 hosts" in run.stdout, str(run)
    first, *others = toolkit_cluster
    assert (first.model_dir / MODEL_FILE_NAME).is_file()
    assert re.search(r"^metric validation:auc=0\.9\d+$", first.stdout, re.MULTILINE), str(first)
    for run in others:
        assert not (run.model_dir / MODEL_FILE_NAME).exists()
        assert "metric validation:" not in run.stdout
    shards = [sorted(p.name for p in (run.base / "input" / "data" / "train").iterdir()) for run in toolkit_cluster]
    assert shards == [["part-0000.csv"], ["part-0001.csv"], ["part-0002.csv"]]
