"""Synthesize each environment and the delivery app once per test run; tests read the templates.

`make test` runs the suite on every core (pytest-xdist): the first worker to need an app
synthesizes it into a folder all workers share, the others wait for it and read the files.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from app import build_app, build_delivery_app
from config import EnvironmentConfig, available_environments, load_delivery, load_environment

if TYPE_CHECKING:
    from tests.support.iam_reference import Template

ENVIRONMENTS = available_environments()

# The slowest modules, slowest first (CPU seconds of each on one worker, measured with every
# module of the suite running). `make test` gives each worker whole modules (`--dist loadfile`:
# a module's fixtures run once, in one worker) in collection order: starting these first keeps a
# long module from running alone at the end. A module missing here only runs later; nothing is
# skipped.
SLOWEST_MODULES = (
    "test_local_deploy.py",  # 28 s: two environments deployed, updated and destroyed on moto
    "test_checkov.py",  # 14 s: both apps synthesized (the modules after it read them), then checkov
    "test_training_container.py",  # 11 s: the image's toolkit trains; pip installs offline
    "test_distributed_training.py",  # 11 s: three hosts train together, five times
    "test_distributed_training_stack.py",  # 8 s: three toolkits train from the synthesized job
    "test_train_script.py",  # 4 s: train.py on real data, killed and resumed
    "test_batch_paging.py",  # 4 s: a 10,000-file set paged through moto
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: position for position, name in enumerate(SLOWEST_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


def _one_botocore_loader_per_process() -> None:
    """Every botocore session reads the service models it uses from JSON again (SageMaker's is
    megabytes), and moto starts each mock with a new default session: in tests that create
    clients under moto, decoding the same models was most of the time. The SageMaker SDK's image
    lookup makes a loader of its own on every call to read botocore's endpoints (40 ms a region).
    One loader serves every session and every default `create_loader()` of the test process;
    what it returns is the same data."""
    import botocore.loaders
    import botocore.session

    create_loader = botocore.loaders.create_loader
    loader = create_loader()

    def shared_or_new_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
        return loader if search_path_string is None else create_loader(search_path_string)

    def register_shared_loader(session: botocore.session.Session) -> None:
        session._components.lazy_register_component("data_loader", lambda: loader)

    botocore.loaders.create_loader = shared_or_new_loader  # type: ignore[assignment]
    botocore.session.Session._register_data_loader = register_shared_loader  # type: ignore[method-assign]


_one_botocore_loader_per_process()


@dataclass(frozen=True)
class SynthesizedStack:
    environment: str
    name: str
    template: dict[str, Any]
    directory: Path
    template_file: str

    @property
    def template_path(self) -> Path:
        return self.directory / self.template_file

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == resource_type}

    def resource(self, resource_type: str) -> dict[str, Any]:
        found = list(self.resources(resource_type).values())
        assert len(found) == 1, f"expected one {resource_type} in {self.environment}/{self.name}, found {len(found)}"
        return found[0]


@dataclass(frozen=True)
class SynthesizedEnvironment:
    config: EnvironmentConfig
    stacks: dict[str, SynthesizedStack]

    def __getitem__(self, stack: str) -> SynthesizedStack:
        return self.stacks[stack]


def synthesize(configs: list[EnvironmentConfig], outdir: Path) -> dict[str, SynthesizedEnvironment]:
    build_app(configs, outdir=str(outdir)).synth()
    return read_environments(configs, outdir)


def read_environments(configs: list[EnvironmentConfig], outdir: Path) -> dict[str, SynthesizedEnvironment]:
    """The stacks of each environment's nested assembly, from its manifest (no jsii needed)."""
    result: dict[str, SynthesizedEnvironment] = {}
    for config in configs:
        directory = outdir / f"assembly-{config.name}"
        manifest = json.loads((directory / "manifest.json").read_text())
        stacks: dict[str, SynthesizedStack] = {}
        for artifact in manifest["artifacts"].values():
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            name = artifact["properties"]["stackName"].removeprefix(f"{config.name}-")
            template_file = artifact["properties"]["templateFile"]
            template = json.loads((directory / template_file).read_text())
            stacks[name] = SynthesizedStack(config.name, name, template, directory, template_file)
        result[config.name] = SynthesizedEnvironment(config=config, stacks=stacks)
    return result


def shared_assembly(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """``build(outdir)`` once per test run, whichever worker asks first; every worker gets the folder."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, above each worker's own
    target = base / name
    with (base / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if build fails
        if not target.exists():
            staging = base / f"{name}.partial"
            shutil.rmtree(staging, ignore_errors=True)
            build(staging)
            staging.rename(target)  # complete or absent: a failed build is retried, never half-read
    return target


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SynthesizedEnvironment]:
    """Every environment of config/, synthesized once (cdk-nag runs inside synth)."""
    configs = [load_environment(name) for name in ENVIRONMENTS]
    outdir = shared_assembly(tmp_path_factory, "environments.out", lambda out: build_app(configs, outdir=str(out)).synth())
    return read_environments(configs, outdir)


@pytest.fixture(scope="session")
def delivery_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The delivery app (the pipeline and its copy of each stage it promotes through), synthesized once."""

    def build(outdir: Path) -> None:
        config = load_delivery()
        build_delivery_app(config, [load_environment(name) for name in config.stages], outdir=str(outdir)).synth()

    return shared_assembly(tmp_path_factory, "delivery.out", build)


@pytest.fixture(scope="session")
def every_template(synthesized: dict[str, SynthesizedEnvironment], delivery_assembly: Path) -> list[Template]:
    """Every template a deploy creates: each environment's stacks, then the delivery app's."""
    from tests.support.iam_reference import Template, assembly_templates, environment_of, link  # it imports this module

    environments = link(
        [
            Template(
                "environments",
                f"{name}-{stack.name}",
                f"{name}/{stack.name}",
                stack.template,
                environment_of(stack.directory, stack.template_file),
            )
            for name, environment in synthesized.items()
            for stack in environment.stacks.values()
        ]
    )
    return environments + link(list(assembly_templates(delivery_assembly, "delivery", "Delivery")))


@pytest.fixture(scope="session")
def dev(synthesized: dict[str, SynthesizedEnvironment]) -> SynthesizedEnvironment:
    return synthesized["dev"]


@pytest.fixture(scope="session")
def prod(synthesized: dict[str, SynthesizedEnvironment]) -> SynthesizedEnvironment:
    return synthesized["prod"]


def all_stacks(synthesized: dict[str, SynthesizedEnvironment]) -> Iterator[SynthesizedStack]:
    for environment in synthesized.values():
        yield from environment.stacks.values()
