"""Environment-wide settings: tags and the optional permissions boundary on every role."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import load_environment
from tests.conftest import SynthesizedEnvironment, all_stacks, synthesize

BOUNDARY = "arn:aws:iam::111111111111:policy/team-boundary"


@pytest.fixture(scope="module")
def with_boundary(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedEnvironment:
    config = load_environment("dev").model_copy(update={"permissions_boundary_arn": BOUNDARY})
    return synthesize([config], tmp_path_factory.mktemp("boundary"))["dev"]


def test_permissions_boundary_applies_to_every_role(with_boundary: SynthesizedEnvironment) -> None:
    roles = [role for stack in with_boundary.stacks.values() for role in stack.resources("AWS::IAM::Role").values()]
    assert roles
    assert all(role["Properties"]["PermissionsBoundary"] == BOUNDARY for role in roles)


def test_no_boundary_unless_configured(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    for stack in all_stacks(synthesized):
        for role in stack.resources("AWS::IAM::Role").values():
            assert "PermissionsBoundary" not in role["Properties"]


def test_config_tags_reach_taggable_resources(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    for environment in synthesized.values():
        expected = [{"Key": k, "Value": v} for k, v in sorted(environment.config.tags.items())]
        for stack in environment.stacks.values():
            for resource_type in ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::IAM::Role"):
                for resource in stack.resources(resource_type).values():
                    tags = resource["Properties"]["Tags"]
                    assert all(tag in tags for tag in expected), (stack.name, resource_type)


def test_stack_output_is_written_where_the_cli_expects_it(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    for environment in synthesized.values():
        directory = next(iter(environment.stacks.values())).directory
        assert Path(directory).name == f"assembly-{environment.config.name}"
