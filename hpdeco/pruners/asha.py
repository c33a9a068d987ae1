"""Asynchronous successive halving (ASHA; Li et al., "A System for Massively Parallel
Hyperparameter Tuning", 2018), in its stopping form.

Successive halving gives every configuration a small budget, keeps the best
``1/reduction_factor`` of them, multiplies the budget by ``reduction_factor``, and so on.
The asynchronous version never waits for a full rung: a trial arriving at a rung is
judged at once against every value recorded at that rung so far, by any trial, finished or
still running. Here the budget is the step (epoch): a trial that is not in the top
``1/reduction_factor`` at a rung is pruned there, and one that is goes on to the next rung.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from hpdeco.pruners._common import crossed, current_step, finite_curve, in_top, keep_count
from hpdeco.records import TrialState
from hpdeco.validate import check_int

if TYPE_CHECKING:
    from hpdeco.study import Study
    from hpdeco.trial import Trial


def rung_values(
    study: Study, step: int, exclude: int, accept: Callable[[int], bool] | None = None
) -> list[float]:
    """Finite objective values stored at ``step`` by the study's trials (running ones
    included, FAIL ones left out), except trial number ``exclude``; only the trial numbers
    ``accept`` agrees to, when given."""
    study.refresh()
    failed = {r.number for r in study.finished if r.state is TrialState.FAIL}
    stored = study.store.values_at(study.id, study.objective, step)
    return [
        float(v)
        for number, v in stored.items()
        if number != exclude
        and number not in failed
        and (accept is None or accept(number))
        and math.isfinite(v)
    ]


class AshaPruner:
    """Prune a trial at a rung unless it is in the top ``1/reduction_factor`` there.

    Rungs are at steps ``min_resource * reduction_factor ** (min_early_stopping_rate + k)``
    for k = 0, 1, 2, ... (1, 3, 9, 27, ... by default). When a trial's latest step reaches a
    rung (for a trial reporting sparsely, the first reported step at or past it), its value
    at that step is ranked with the values every other trial stored at the same step,
    running trials included and FAIL trials left out. It goes on when it is at least as good
    as the ``max(1, n // reduction_factor)``-th best of those ``n`` values (itself counted),
    so the first trial at a rung always goes on, and ties go on. Between rungs it is never
    pruned. A non-finite value at a rung prunes.
    """

    def __init__(
        self,
        *,
        min_resource: int = 1,
        reduction_factor: int = 3,
        min_early_stopping_rate: int = 0,
    ) -> None:
        name = type(self).__name__
        self.min_resource = check_int(name, "min_resource", min_resource, minimum=1)
        self.reduction_factor = check_int(name, "reduction_factor", reduction_factor, minimum=2)
        self.min_early_stopping_rate = check_int(
            name, "min_early_stopping_rate", min_early_stopping_rate, minimum=0
        )

    def rungs(self, up_to: int) -> list[int]:
        """The rung steps ``<= up_to``."""
        out = []
        rung = self.min_resource * self.reduction_factor**self.min_early_stopping_rate
        while rung <= up_to:
            out.append(rung)
            rung *= self.reduction_factor
        return out

    def should_prune(self, trial: Trial) -> bool:
        step = current_step(trial)
        if step is None or crossed(trial.intermediate_values, step, self.rungs(step)) is None:
            return False
        mine = finite_curve(trial.intermediate_values).get(step)
        if mine is None:
            return True
        study = trial.study
        values = [*rung_values(study, step, exclude=trial.number), mine]
        return not in_top(study, mine, values, keep_count(len(values), self.reduction_factor))

    def __repr__(self) -> str:
        return (
            f"AshaPruner(min_resource={self.min_resource}, "
            f"reduction_factor={self.reduction_factor}, "
            f"min_early_stopping_rate={self.min_early_stopping_rate})"
        )
