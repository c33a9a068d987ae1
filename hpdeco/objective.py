"""Which way an objective should go, guessed from its name the way Keras names metrics."""

from __future__ import annotations

import re

from hpdeco.errors import ObjectiveError

DIRECTIONS = ("max", "min")

_MINIMISE = {
    "loss",
    "error",
    "mse",
    "mae",
    "mape",
    "msle",
    "rmse",
    "crossentropy",
    "hinge",
    "divergence",
    "kld",
    "poisson",
    "logcosh",
    "huber",
    "regret",
    "cost",
    "time",
    "latency",
}
_MAXIMISE = {
    "accuracy",
    "acc",
    "auc",
    "precision",
    "recall",
    "f1",
    "fbeta",
    "iou",
    "r2",
    "score",
    "reward",
    "return",
    "correlation",
    "sensitivity",
    "specificity",
    "map",
    "ndcg",
}


def infer_direction(objective: str, direction: str | None = None) -> str:
    """``direction`` when given, else ``"min"`` or ``"max"`` from the metric's name.

    >>> infer_direction("val_sparse_categorical_accuracy")
    'max'
    >>> infer_direction("val_loss")
    'min'
    """
    if not isinstance(objective, str) or not objective:
        raise ObjectiveError(
            f"objective={objective!r} must be a metric name such as 'val_accuracy'"
        )
    if direction is not None:
        if direction not in DIRECTIONS:
            raise ObjectiveError(
                f"direction={direction!r} must be 'max' or 'min' (or left out to infer it)"
            )
        return direction
    words = [w for w in re.split(r"[^a-z0-9]+", objective.lower()) if w]
    # The last recognised word wins: "mean_squared_error" ends in error, "auc_loss" in loss.
    for word in reversed(words):
        if word in _MINIMISE:
            return "min"
        if word in _MAXIMISE:
            return "max"
    raise ObjectiveError(
        f"objective={objective!r}: cannot tell whether to maximise or minimise it; "
        "pass direction='max' or direction='min'"
    )
