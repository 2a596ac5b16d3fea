"""What lands in S3: the trained model run over a CSV the way the batch transform runs it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from config import load_environment
from tests.support import xgboost_serving
from tests.support.batch_transform import select_columns, transform_file
from training_scripts import train as train_script


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A model trained by train.py, and a batch input file in the training layout (label first)."""
    features, labels = load_breast_cancer(return_X_y=True)
    rows = np.column_stack([labels, features])
    root = tmp_path_factory.mktemp("batch")
    for channel, part in (("train", rows[:350]), ("validation", rows[350:460])):
        (root / channel).mkdir()
        np.savetxt(root / channel / "data.csv", part, delimiter=",", fmt="%.10g")
    argv = ["--train", str(root / "train"), "--validation", str(root / "validation"), "--model-dir", str(root / "model")]
    assert train_script.main([*argv, "--output-data-dir", str(root / "out"), "--num_round", "60"]) == 0
    buffer = "\n".join(",".join(f"{v:.10g}" for v in row) for row in rows[460:]) + "\n"
    return root / "model", buffer


def test_joined_output_is_each_input_record_followed_by_its_probability(trained: tuple[Path, str]) -> None:
    model_dir, content = trained
    batch = load_environment("dev").batch
    assert batch is not None
    booster = xgboost_serving.load_model(model_dir)
    output, requests = transform_file(
        content,
        lambda payload: xgboost_serving.invoke(booster, payload),
        input_filter=batch.input_filter,
        join_with_input=batch.join_with_input,
        max_payload_mb=batch.max_payload_mb,
    )
    inputs = content.splitlines()
    lines = output.splitlines()
    assert requests == 1, "109 records fit one 6 MB request"
    assert len(lines) == len(inputs) == 109
    for record, line in zip(inputs, lines, strict=True):
        assert line.startswith(record + ",")
        assert len(line.split(",")) == 1 + 30 + 1, "label, 30 features, probability"
        assert 0.0 <= float(line.rsplit(",", 1)[1]) <= 1.0
    labels = np.array([float(r.split(",")[0]) for r in inputs])
    probabilities = np.array([float(line.rsplit(",", 1)[1]) for line in lines])
    assert ((probabilities >= 0.5) == (labels == 1)).mean() > 0.9


def test_without_join_the_output_is_one_probability_per_line_and_requests_respect_the_payload(trained: tuple[Path, str]) -> None:
    model_dir, content = trained
    booster = xgboost_serving.load_model(model_dir)
    sizes: list[int] = []

    def invoke(payload: bytes) -> bytes:
        sizes.append(len(payload))
        return xgboost_serving.invoke(booster, payload)

    big = content * 100  # ~11,000 records, ~2.2 MB
    output, requests = transform_file(big, invoke, input_filter="$[1:]", join_with_input=False, max_payload_mb=1)
    assert len(output.splitlines()) == len(big.splitlines())
    assert all(0 <= float(v) <= 1 for v in output.splitlines())
    assert requests == len(sizes) > 1
    assert max(sizes) <= 1024 * 1024


def test_sending_the_label_column_is_caught_by_the_model(trained: tuple[Path, str]) -> None:
    """Why input_filter defaults to $[1:]: the model expects 30 features, not 31 values."""
    model_dir, content = trained
    booster = xgboost_serving.load_model(model_dir)
    with pytest.raises(ValueError, match="got 31 features, the model expects 30"):
        transform_file(content, lambda p: xgboost_serving.invoke(booster, p), input_filter="$", join_with_input=False, max_payload_mb=6)


@pytest.mark.parametrize(("path", "expected"), [("$", "a,b,c,d"), ("$[1:]", "b,c,d"), ("$[1:3]", "b,c"), ("$[0,2]", "a,c")])
def test_input_filters(path: str, expected: str) -> None:
    assert select_columns("a,b,c,d", path) == expected
