"""The training code archive is byte-for-byte reproducible and holds what script mode needs."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from ml_constructs.source_bundle import deterministic_tarball
from stacks.training_stack import TRAINING_SCRIPTS_DIR


def test_same_sources_same_bytes_whatever_the_timestamps(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("print('hi')\n")
    (tmp_path / "helper.py").write_text("X = 1\n")
    first = deterministic_tarball(tmp_path, ["*.py"])
    os.utime(tmp_path / "train.py", (1_000_000, 1_000_000))
    (tmp_path / "helper.py").chmod(0o600)
    assert deterministic_tarball(tmp_path, ["*.py"]) == first
    (tmp_path / "helper.py").write_text("X = 2\n")
    assert deterministic_tarball(tmp_path, ["*.py"]) != first


def test_bundle_holds_the_entry_point_and_its_helpers() -> None:
    content = deterministic_tarball(TRAINING_SCRIPTS_DIR, ["*.py"])
    with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as archive:
        members = archive.getmembers()
    assert sorted(m.name for m in members) == ["__init__.py", "metric_log.py", "train.py"]
    assert {(m.mtime, m.uid, m.gid, m.mode) for m in members} == {(0, 0, 0, 0o644)}


def test_nothing_to_bundle_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no files match \['\*.py'\]"):
        deterministic_tarball(tmp_path, ["*.py"])
