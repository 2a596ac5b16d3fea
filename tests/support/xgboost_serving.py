"""What the SageMaker XGBoost container's default inference does with a trained model, locally.

No inference script is deployed: the container loads the single model file of the artifact
(``xgboost-model``) and answers ``text/csv`` requests (features only, no label) with one
probability per row.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import xgboost as xgb


def load_model(model_dir: Path) -> xgb.Booster:
    booster = xgb.Booster()
    booster.load_model(bytearray((model_dir / "xgboost-model").read_bytes()))
    return booster


def invoke(booster: xgb.Booster, body: bytes) -> bytes:
    rows = np.loadtxt(io.StringIO(body.decode()), delimiter=",", ndmin=2)
    if rows.shape[1] != booster.num_features():
        raise ValueError(f"feature_names mismatch: got {rows.shape[1]} features, the model expects {booster.num_features()}")
    probabilities = booster.predict(xgb.DMatrix(rows))
    return "\n".join(repr(float(p)) for p in probabilities).encode()
