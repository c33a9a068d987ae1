"""The patient pruner: ask another pruner only once a trial has stopped improving."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hpdeco.pruners._common import best, current_step, finite_curve
from hpdeco.validate import check_int, check_number

if TYPE_CHECKING:
    from hpdeco.pruners import Pruner
    from hpdeco.trial import Trial


class PatientPruner:
    """Consult ``pruner`` only after ``patience`` steps without improvement.

    At the trial's latest step ``s``, the recent window is the steps ``s - patience < t <=
    s`` and the earlier part the steps ``t <= s - patience``. The trial is still improving
    when the best recent value beats the best earlier value by more than ``min_delta``
    (in the study's direction); then it is not pruned. Otherwise (and with ``patience=0``
    always) the wrapped pruner decides. Without earlier values (the first ``patience``
    steps) it is not pruned. Non-finite values are ignored here (a NaN objective already
    fails the trial through ``trial.report``).
    """

    def __init__(self, pruner: Any, patience: int, min_delta: float = 0.0) -> None:
        from hpdeco.pruners import resolve_pruner

        name = type(self).__name__
        self.pruner: Pruner = resolve_pruner(pruner)
        self.patience = check_int(name, "patience", patience, minimum=0)
        self.min_delta = check_number(name, "min_delta", min_delta, minimum=0)

    def should_prune(self, trial: Trial) -> bool:
        step = current_step(trial)
        if step is None:
            return False
        if self.patience > 0:
            study = trial.study
            curve = finite_curve(trial.intermediate_values)
            cut = step - self.patience
            earlier = best(study, (v for t, v in curve.items() if t <= cut))
            recent = best(study, (v for t, v in curve.items() if cut < t <= step))
            if earlier is None:
                return False
            if recent is not None:
                sign = 1.0 if study.direction == "max" else -1.0
                if sign * (recent - earlier) > self.min_delta:
                    return False
        return self.pruner.should_prune(trial)

    def __repr__(self) -> str:
        return (
            f"PatientPruner({self.pruner!r}, patience={self.patience}, "
            f"min_delta={self.min_delta:g})"
        )
