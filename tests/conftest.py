"""Synthesize each environment once per test session; tests read the templates."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from app import build_app
from config import EnvironmentConfig, available_environments, load_environment

ENVIRONMENTS = available_environments()


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
    assembly = build_app(configs, outdir=str(outdir)).synth()
    result: dict[str, SynthesizedEnvironment] = {}
    for config in configs:
        stage = assembly.get_nested_assembly(f"assembly-{config.name}")
        stacks = {
            artifact.stack_name.removeprefix(f"{config.name}-"): SynthesizedStack(
                environment=config.name,
                name=artifact.stack_name.removeprefix(f"{config.name}-"),
                template=json.loads((Path(stage.directory) / artifact.template_file).read_text()),
                directory=Path(stage.directory),
                template_file=artifact.template_file,
            )
            for artifact in stage.stacks
        }
        result[config.name] = SynthesizedEnvironment(config=config, stacks=stacks)
    return result


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SynthesizedEnvironment]:
    """Every environment of config/, synthesized once (cdk-nag runs inside synth)."""
    return synthesize([load_environment(name) for name in ENVIRONMENTS], tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def dev(synthesized: dict[str, SynthesizedEnvironment]) -> SynthesizedEnvironment:
    return synthesized["dev"]


@pytest.fixture(scope="session")
def prod(synthesized: dict[str, SynthesizedEnvironment]) -> SynthesizedEnvironment:
    return synthesized["prod"]


def all_stacks(synthesized: dict[str, SynthesizedEnvironment]) -> Iterator[SynthesizedStack]:
    for environment in synthesized.values():
        yield from environment.stacks.values()
