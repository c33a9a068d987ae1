"""Multi-objective TPE (after Ozaki, Tanigaki, Watanabe and Onishi, "Multiobjective
tree-structured Parzen estimator for computationally expensive optimization problems",
GECCO 2020): hpdeco's TPE with the good trials chosen by several objectives.

Everything else is :class:`~hpdeco.samplers.tpe.TPESampler`'s (the densities, the joint
proposal of the unconditional parameters, conditional ones drawn from the trials that have
them, Sobol' start-up, the constant liar for other workers' running trials). Only the split
changes: the good trials are the first ``ceil(gamma * n)`` (at most ``max_good``) of the
``n`` COMPLETE trials ranked by NSGA-II's constrained crowded comparison
(:mod:`hpdeco.samplers._ranking`): feasible before infeasible, then by non-dominated front,
and within the front that is cut by crowding distance, so that the good trials spread along
the front instead of piling on one end. PRUNED trials (partial values), failed and running
ones are never good. With one objective the split is TPE's own.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from hpdeco.samplers._ranking import rank_finished
from hpdeco.samplers.tpe import TPESampler, _Model

if TYPE_CHECKING:
    from hpdeco.trial import Trial


class MOTPESampler(TPESampler):
    """TPE whose good trials are the best-ranked by several objectives (``sampler="motpe"``).

    Options as :class:`TPESampler`; ``gamma`` defaults to 0.25 here (more good trials: the
    front has many members, and they should all be modelled).

    >>> hpdeco.search(objective=["val_accuracy", ("params", "min")], sampler=MOTPESampler(seed=7))
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        gamma: float = 0.25,
        multivariate: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(seed=seed, gamma=gamma, multivariate=multivariate, **options)

    def __repr__(self) -> str:
        return f"MOTPESampler(seed={self.seed})"

    def _model(self, trial: Trial) -> tuple[_Model | None, Any]:
        cached = self._model_for
        fresh = cached is None or cached[0] != trial.number
        model, rng = super()._model(trial)
        study = trial.study
        if fresh and model is not None and len(study.objectives) > 1:
            self._split(model, trial)
        return model, rng

    def _split(self, model: _Model, trial: Trial) -> None:
        """Replace the single-objective split of ``model`` (built from the same finished
        trials, in the same order) by the multi-objective one."""
        finished = trial.study.finished
        rows = rank_finished(
            finished[: len(self._history.group)], trial.study.directions, self.max_good
        ).rows
        if not rows:
            return  # nothing complete yet: TPE's own split (pruned trials by their values)
        count = min(max(1, math.ceil(self.gamma * len(rows))), self.max_good, len(rows))
        good = np.zeros(len(model.good), dtype=bool)
        good[rows[:count]] = True
        model.good = good
        ranked = set(rows)
        # ``order`` (best first) also feeds TPE's per-parameter split of conditional ones.
        model.order = np.array(rows + [int(i) for i in model.order if int(i) not in ranked])
        model.sets.clear()
