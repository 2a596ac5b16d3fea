"""The SageMaker XGBoost container's default inference (no inference script), reproduced locally.

The Model and the transform run the framework container without ``SAGEMAKER_PROGRAM``, so the
container serves in *algorithm mode*. This module does what that code does — reimplemented from
reading it, not copied — so that tests see the endpoint's real answers, including the ones that
surprise: empty cells are scored as missing values, and a row NARROWER than the model is scored
(HTTP 200, wrong probabilities) while a wider one fails.

Source read: github.com/aws/sagemaker-xgboost-container (the container's code is not on PyPI), at
the revisions below — the newest of each file that could be read, written for XGBoost >= 2 (the
3.x images); none of them is tagged 3.2-0, so re-read them when the image changes:

- ``src/sagemaker_xgboost_container/serving.py`` @ 4690e49f00711946d939f564d0bf72af1671afa0,
  ``main()``: without a user module it serves ``algorithm_mode.serve.ScoringService.csdk_start()``,
  the Flask app behind gunicorn (``docker/3.0-5/final/Dockerfile.cpu`` @ c988a0e5: the serving
  module is ``sagemaker_xgboost_container.serving:main``).
- ``src/sagemaker_xgboost_container/algorithm_mode/serve.py`` @ 0cccfed1fba85e64ca273e4dbe6d5d8f13fc66a1,
  ``invocations()`` and ``_get_max_content_length()``: an empty body is 204; parse, then load, then
  predict; a parse failure is 415 with the error's text, a model that cannot load is 500
  ``Unable to load model: …``, a prediction failure 400 ``Unable to evaluate payload provided: …``;
  success is ``text/csv``: the predictions joined by ``,`` on one line, or one per line with a
  final newline when ``SAGEMAKER_BATCH`` is set. Requests over ``MAX_CONTENT_LENGTH`` (6 MiB by
  default) are refused by Flask with 413.
- ``src/sagemaker_xgboost_container/algorithm_mode/serve_utils.py`` @ a10575db443fea6ca5a1dbe54ba97857a2330562:
  ``parse_content_data()`` (``text/csv``: the body is stripped, decoded as UTF-8, then
  ``encoder.csv_to_dmatrix``), ``_get_full_model_paths()`` and ``get_loaded_booster()`` (every
  regular file of the model directory except dotfiles is a model — ``is_ensemble_enabled()``
  defaults to true — each loaded with ``pickle`` first, then ``xgb.Booster().load_model``; several
  models are averaged), ``predict()`` (a *pickled* booster accepts a width equal to its feature
  count or one less, a natively saved one is not checked at all; ``booster.predict(...,
  validate_features=False)``).
- ``src/sagemaker_xgboost_container/encoder.py`` @ a10575db443fea6ca5a1dbe54ba97857a2330562,
  ``csv_to_dmatrix()`` / ``_clean_csv_string()``: the delimiter is sniffed by ``csv.Sniffer`` from
  the first 512 characters of the first line (an alphanumeric guess means ``,``); lines are split
  on ``\\n``, cells on the delimiter, an empty cell becomes ``nan``; the cells go through numpy's
  ``astype(float)`` (so ragged rows and non-numbers fail) into a ``DMatrix`` whose missing value
  is NaN.
- ``src/sagemaker_xgboost_container/data_utils.py`` @ 2502d03c90e5e35a9746d8da32c918f0ed03a2fd,
  ``get_content_type()``: ``text/csv`` (any case, ``label_size=1`` allowed) is CSV; no content type
  means LIBSVM.
- XGBoost itself (3.2 here, the version the 3.2-0 image is named after; ``src/learner.cc``): at
  prediction a matrix with fewer columns than the model is accepted — the absent trailing
  features count as missing — and one with more fails ``Check failed:
  learner_model_param_.num_feature >= p_fmat->Info().num_col_ (30 vs. 31) : Number of columns
  does not match number of features in booster.`` followed by a native stack trace, which the
  container passes on in its 400 answer.

Only ``text/csv`` is reproduced (LIBSVM and RecordIO-protobuf, which the container also reads, are
not used here and raise NotImplementedError), and the selectable-output mode
(``SAGEMAKER_INFERENCE_OUTPUT``) is not.
"""

from __future__ import annotations

import csv
import pickle
import warnings
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

MAX_CONTENT_LENGTH = 6 * 1024 * 1024
"""serve.py: ``MAX_CONTENT_LENGTH`` unset means 6 MiB (capped at 20 MiB when set)."""
SNIFFED_CHARACTERS = 512
PICKLE_FORMAT, NATIVE_FORMAT = "pkl_format", "xgb_format"


class ContainerError(Exception):
    """A non-200 answer of the container: its HTTP status and the body it sends."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {HTTPStatus(status).phrase}: {message}")
        self.status = status
        self.message = message

    def model_error(self, variant: str = "primary") -> dict[str, Any]:
        """How sagemaker-runtime InvokeEndpoint reports this answer: a ``ModelError`` (for a Stubber)."""
        kind = "client" if self.status < 500 else "server"
        return {
            "service_error_code": "ModelError",
            "service_message": f'Received {kind} error ({self.status}) from {variant} with message "{self.message}". '
            "See https://console.aws.amazon.com/cloudwatch for more information.",
            "http_status_code": 424,  # ModelError's status in botocore's sagemaker-runtime model
            "modeled_fields": {"OriginalStatusCode": self.status, "OriginalMessage": self.message},
        }


@dataclass(frozen=True)
class ServedModel:
    """What the container holds after loading ``/opt/ml/model``: one booster per model file."""

    boosters: tuple[xgb.Booster, ...]
    formats: tuple[str, ...]

    @property
    def num_features(self) -> int:
        return self.boosters[0].num_features()


def load_model(model_dir: Path) -> ServedModel:
    """Load like ``get_loaded_booster``; a failure is the 500 ``invocations()`` answers with.

    (The container loads before its first prediction but after parsing the request, so a request
    it cannot parse gets its 415 even then.)
    """
    files = sorted(path for path in model_dir.iterdir() if path.is_file() and not path.name.startswith("."))
    if not files:
        # The container indexes the first model of an empty list.
        raise ContainerError(HTTPStatus.INTERNAL_SERVER_ERROR, "Unable to load model: list index out of range")
    boosters, formats = [], []
    for path in files:
        booster, model_format = _load_one(path)
        boosters.append(booster)
        formats.append(model_format)
    return ServedModel(tuple(boosters), tuple(formats))


def _load_one(path: Path) -> tuple[Any, str]:
    try:
        with path.open("rb") as handle:
            booster, model_format = pickle.load(handle), PICKLE_FORMAT
    except Exception as pickle_error:
        try:
            booster, model_format = xgb.Booster(), NATIVE_FORMAT
            with warnings.catch_warnings():
                # An extensionless file makes XGBoost warn that it guesses UBJSON; it guesses right.
                warnings.simplefilter("ignore", UserWarning)
                booster.load_model(str(path))
        except Exception as native_error:
            raise ContainerError(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                f"Unable to load model: Model {path} cannot be loaded:"
                f"\nPickle load error={pickle_error}\nXGB load model error={native_error}",
            ) from None
    try:
        booster.set_param("nthread", 1)
    except Exception as error:  # a pickle of something other than a Booster
        raise ContainerError(HTTPStatus.INTERNAL_SERVER_ERROR, f"Unable to load model: {error}") from None
    return booster, model_format


def parse_csv(body: bytes) -> np.ndarray:
    """The rows as the container reads them (``csv_to_dmatrix``); raises what numpy or csv raise."""
    text = body.strip().decode("utf-8")
    lines = text.split("\n")
    guessed = csv.Sniffer().sniff(lines[0][:SNIFFED_CHARACTERS]).delimiter
    delimiter = "," if guessed.isalnum() else guessed
    cells = [[value or "nan" for value in line.split(delimiter)] for line in lines]
    return np.array(cells).astype(float)


ACCEPTED_CONTENT_TYPES = (
    "csv, libsvm, parquet, recordio-protobuf, text/csv, text/libsvm, text/x-libsvm, application/x-parquet, application/x-recordio-protobuf"
)


def _check_csv(content_type: str | None) -> None:
    """``get_content_type`` then ``parse_content_data``: pass for CSV, raise the container's 415 otherwise."""
    lowered = (content_type or "").lower()
    media_type, _, parameters = lowered.partition(";")
    if lowered == "csv" or media_type.strip() == "text/csv":
        for parameter in filter(None, (p.strip() for p in parameters.split(";"))):
            name, _, value = parameter.partition("=")
            if name.strip() == "label_size" and value.strip() != "1":
                raise ContainerError(
                    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                    f"{lowered} is not an accepted csv ContentType. Optional parameter label_size must be equal to 1",
                )
        return
    if content_type is None or lowered in (
        "libsvm",
        "text/libsvm",
        "text/x-libsvm",
        "recordio-protobuf",
        "application/x-recordio-protobuf",
    ):
        raise NotImplementedError(f"content type {content_type}: the container reads it, this reproduction only reads text/csv")
    if lowered in ("parquet", "application/x-parquet"):
        raise ContainerError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-type {content_type} is not supported.")
    raise ContainerError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"{content_type} is not an accepted ContentType: {ACCEPTED_CONTENT_TYPES}.")


def _predict(model: ServedModel, matrix: xgb.DMatrix) -> np.ndarray:
    width = matrix.num_col()
    if model.formats[0] == PICKLE_FORMAT and width not in (model.num_features, model.num_features - 1):
        raise ValueError(
            f"Feature size of csv inference data {width} is not consistent with feature size of trained model {model.num_features}."
        )

    def one(booster: xgb.Booster) -> np.ndarray:
        limit = int(getattr(booster, "best_ntree_limit", 0) or 0)
        if limit > 0:
            return booster.predict(matrix, iteration_range=(0, limit), validate_features=False)
        return booster.predict(matrix, validate_features=False)

    predictions = [one(booster) for booster in model.boosters]
    return predictions[0] if len(predictions) == 1 else np.mean(predictions, axis=0)


def respond(model: ServedModel, body: bytes, content_type: str | None = "text/csv", *, batch: bool = False) -> tuple[int, bytes]:
    """(HTTP status, response body) for one POST /invocations.

    ``batch``: the container runs in a batch transform (``SAGEMAKER_BATCH`` set): one prediction
    per line instead of one comma-separated line.
    """
    try:
        return _answer(model, body, content_type, batch)
    except ContainerError as error:
        return error.status, error.message.encode()


def invoke(model: ServedModel, body: bytes, content_type: str | None = "text/csv", *, batch: bool = False) -> bytes:
    """The body of a 200 answer (empty for the 204 of an empty request); any other answer raises ContainerError."""
    return _answer(model, body, content_type, batch)[1]


def _answer(model: ServedModel, body: bytes, content_type: str | None, batch: bool) -> tuple[int, bytes]:
    if len(body) > MAX_CONTENT_LENGTH:
        raise ContainerError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request Entity Too Large")
    if not body:
        return HTTPStatus.NO_CONTENT, b""
    _check_csv(content_type)
    try:
        matrix = xgb.DMatrix(parse_csv(body))
    except Exception as error:
        raise ContainerError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            f"Loading csv data failed with Exception, please ensure data is in csv format:\n {type(error)}\n {error}",
        ) from None
    try:
        predictions = _predict(model, matrix).tolist()
    except Exception as error:
        raise ContainerError(HTTPStatus.BAD_REQUEST, f"Unable to evaluate payload provided: {error}") from None
    if batch:
        return HTTPStatus.OK, ("\n".join(map(str, predictions)) + "\n").encode()
    return HTTPStatus.OK, ",".join(map(str, predictions)).encode()
