"""Every template of every environment, as a reviewed JSON snapshot.

A template change shows up as a snapshot diff in the pull request; update intentionally with
``.venv/bin/python -m pytest tests/test_snapshots.py --snapshot-update`` and read the diff.
"""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import ENVIRONMENTS, SynthesizedEnvironment

STACKS = ["Data", "Training", "BatchTransform", "Monitoring", "Inference"]


@pytest.fixture
def json_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_template_matches_snapshot(
    synthesized: dict[str, SynthesizedEnvironment], environment: str, stack: str, json_snapshot: SnapshotAssertion
) -> None:
    assert synthesized[environment][stack].template == json_snapshot


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_stack_is_snapshotted(synthesized: dict[str, SynthesizedEnvironment], environment: str) -> None:
    assert sorted(synthesized[environment].stacks) == sorted(STACKS)
