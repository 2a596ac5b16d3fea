"""What lands in S3: the trained model run over a CSV the way the batch transform runs it.

The container is played by ``tests/support/xgboost_serving.py`` (what its default inference does,
with the container's code cited there), so these tests also show what it does NOT catch: an
input filter that drops a feature instead of a label leaves rows one value short, and those are
scored without an error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from config import load_environment
from config.schema import BatchConfig
from tests.support import xgboost_serving
from tests.support.batch_transform import select_columns, transform_file
from tests.support.xgboost_serving import ContainerError, ServedModel
from training_scripts import train as train_script

FEATURES = 30


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


@pytest.fixture(scope="module")
def served(trained: tuple[Path, str]) -> ServedModel:
    return xgboost_serving.load_model(trained[0])


@pytest.fixture(scope="module")
def features_only(trained: tuple[Path, str]) -> str:
    """The same records without their label: what a producer that has no labels uploads."""
    return "".join(line.split(",", 1)[1] + "\n" for line in trained[1].splitlines())


def in_a_transform(model: ServedModel) -> Callable[[bytes], bytes]:
    """The container in a transform job (SAGEMAKER_BATCH set): one prediction per line."""
    return lambda payload: xgboost_serving.invoke(model, payload, batch=True)


def dev_batch(**changes: object) -> BatchConfig:
    batch = load_environment("dev").batch
    assert batch is not None
    return batch.model_copy(update=changes)


def probabilities(output: str) -> np.ndarray:
    return np.array([float(line.rsplit(",", 1)[-1]) for line in output.splitlines()])


def test_the_input_filter_follows_whether_the_input_carries_the_label() -> None:
    assert dev_batch().input_has_label, "dev's inputs are in the training layout"
    assert dev_batch().input_filter == "$[1:]"
    assert dev_batch(input_has_label=False).input_filter == "$"


def test_joined_output_is_each_input_record_followed_by_its_probability(trained: tuple[Path, str], served: ServedModel) -> None:
    _, content = trained
    batch = dev_batch()
    output, requests = transform_file(
        content,
        in_a_transform(served),
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
        assert len(line.split(",")) == 1 + FEATURES + 1, "label, 30 features, probability"
        assert 0.0 <= float(line.rsplit(",", 1)[1]) <= 1.0
    labels = np.array([float(r.split(",")[0]) for r in inputs])
    assert ((probabilities(output) >= 0.5) == (labels == 1)).mean() > 0.9


def test_without_join_the_output_is_one_probability_per_line_and_requests_respect_the_payload(
    trained: tuple[Path, str], served: ServedModel
) -> None:
    _, content = trained
    sizes: list[int] = []

    def invoke(payload: bytes) -> bytes:
        sizes.append(len(payload))
        return in_a_transform(served)(payload)

    big = content * 100  # ~11,000 records, ~2.2 MB
    output, requests = transform_file(big, invoke, input_filter=dev_batch().input_filter, join_with_input=False, max_payload_mb=1)
    assert len(output.splitlines()) == len(big.splitlines())
    assert all(0 <= float(v) <= 1 for v in output.splitlines())
    assert requests == len(sizes) > 1
    assert max(sizes) <= 1024 * 1024


def test_features_only_input_is_scored_like_the_labelled_one_with_input_has_label_false(
    trained: tuple[Path, str], served: ServedModel, features_only: str
) -> None:
    _, labelled = trained
    with_label, _ = transform_file(labelled, in_a_transform(served), input_filter="$[1:]", join_with_input=False, max_payload_mb=6)
    batch = dev_batch(input_has_label=False)
    without, _ = transform_file(
        features_only, in_a_transform(served), input_filter=batch.input_filter, join_with_input=True, max_payload_mb=6
    )
    assert probabilities(without) == pytest.approx(probabilities(with_label))
    assert [line.rsplit(",", 1)[0] for line in without.splitlines()] == features_only.splitlines(), "joined to the features"


def test_sending_the_label_column_is_refused_by_the_model(trained: tuple[Path, str], served: ServedModel) -> None:
    """Labelled input with input_has_label: false: 31 values for a 30-feature model, HTTP 400 from XGBoost."""
    _, content = trained
    with pytest.raises(ContainerError) as refused:
        transform_file(
            content,
            in_a_transform(served),
            input_filter=dev_batch(input_has_label=False).input_filter,
            join_with_input=False,
            max_payload_mb=6,
        )
    assert refused.value.status == 400
    assert "(30 vs. 31) : Number of columns does not match number of features in booster." in refused.value.message


def test_features_only_input_with_the_label_dropping_filter_silently_loses_the_first_feature(
    trained: tuple[Path, str], served: ServedModel, features_only: str
) -> None:
    """input_has_label: true over features-only rows: $[1:] drops feature 1, the container scores 29 values.

    No error anywhere — every record gets a probability, computed from shifted features (feature 2
    read as feature 1, …, the 30th missing). This is why the pipeline checks the input's width
    before it starts a transform.
    """
    _, labelled = trained
    right, _ = transform_file(labelled, in_a_transform(served), input_filter="$[1:]", join_with_input=False, max_payload_mb=6)
    sent: list[bytes] = []

    def invoke(payload: bytes) -> bytes:
        sent.append(payload)
        return in_a_transform(served)(payload)

    batch = dev_batch(input_has_label=True)
    wrong, _ = transform_file(features_only, invoke, input_filter=batch.input_filter, join_with_input=False, max_payload_mb=6)
    assert {len(line.split(",")) for line in b"".join(sent).decode().splitlines()} == {FEATURES - 1}
    assert len(wrong.splitlines()) == len(features_only.splitlines()), "every record scored"
    labels = np.array([float(line.split(",")[0]) for line in labelled.splitlines()])
    accuracy = {name: ((probabilities(out) >= 0.5) == (labels == 1)).mean() for name, out in (("right", right), ("wrong", wrong))}
    assert accuracy["right"] > 0.9
    assert np.abs(probabilities(wrong) - probabilities(right)).max() > 0.5, "other probabilities"
    assert accuracy["wrong"] < accuracy["right"] - 0.3, f"and much worse ones: {accuracy}"


@pytest.mark.parametrize(("path", "expected"), [("$", "a,b,c,d"), ("$[1:]", "b,c,d"), ("$[1:3]", "b,c"), ("$[0,2]", "a,c")])
def test_input_filters(path: str, expected: str) -> None:
    assert select_columns("a,b,c,d", path) == expected
