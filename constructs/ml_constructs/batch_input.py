"""How a batch input row maps onto the model's features (no aws_cdk import: config uses it too)."""

from __future__ import annotations


def input_filter_for(input_has_label: bool) -> str:
    """The transform's InputFilter: the label column (first, as in training) is not sent to the model."""
    return "$[1:]" if input_has_label else "$"


def input_columns_for(model_features: int, input_has_label: bool) -> int:
    """Values per input row: the model's features, plus the label when the input carries it."""
    return model_features + (1 if input_has_label else 0)
