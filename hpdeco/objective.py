"""What a search optimises: one objective or several, each a name and a direction; the
direction is guessed from the name the way Keras names metrics."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

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
    "params",
    "parameters",
    "size",
    "bytes",
    "flops",
    "memory",
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


class Objective(NamedTuple):
    """One objective: a metric (or value) name and which way is better."""

    name: str
    direction: str


def parse_objectives(objective: Any, direction: Any = None) -> tuple[Objective, ...]:
    """The objectives of ``objective=`` (a name, or a list of names and ``(name,
    direction)`` pairs) with ``direction=`` (one direction, or one per objective; each
    inferred from its name when left out).

    >>> parse_objectives(["val_accuracy", ("params", "min")])
    (Objective(name='val_accuracy', direction='max'), Objective(name='params', direction='min'))
    """
    if isinstance(objective, str):
        if isinstance(direction, (list, tuple)):
            raise ObjectiveError(
                f"direction={direction!r}: one objective takes one direction, 'max' or 'min'"
            )
        return (Objective(objective, infer_direction(objective, direction)),)
    if not isinstance(objective, Sequence) or isinstance(objective, (bytes, bytearray)):
        raise ObjectiveError(
            f"objective={objective!r} must be a metric name such as 'val_accuracy', or a "
            "list of names and (name, 'min'|'max') pairs"
        )
    items = list(objective)
    if not items:
        raise ObjectiveError("objective=[] names no objective; pass at least one metric name")
    if direction is None or isinstance(direction, str):
        if isinstance(direction, str) and len(items) > 1:
            raise ObjectiveError(
                f"direction={direction!r} is one direction for {len(items)} objectives; pass "
                "a list with one per objective, or give each as (name, 'min'|'max')"
            )
        directions: list[Any] = [direction] * len(items)
    elif isinstance(direction, (list, tuple)) and len(direction) == len(items):
        directions = list(direction)
    else:
        raise ObjectiveError(
            f"direction={direction!r}: pass one direction per objective ({len(items)}), "
            "or leave it out to infer each from its name"
        )
    parsed: list[Objective] = []
    for item, given in zip(items, directions, strict=True):
        if isinstance(item, (list, tuple)):
            if len(item) != 2 or given is not None:
                raise ObjectiveError(
                    f"objective={objective!r}: {item!r} must be a (name, 'min'|'max') pair"
                    + (", and then not also given in direction=" if given is not None else "")
                )
            item, given = item
        parsed.append(Objective(item, infer_direction(item, given)))
    names = [o.name for o in parsed]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ObjectiveError(
            f"objective={objective!r} names {', '.join(map(repr, twice))} twice; "
            "list each objective once"
        )
    return tuple(parsed)
