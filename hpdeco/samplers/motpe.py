"""Multi-objective TPE (after Ozaki, Tanigaki, Watanabe and Onishi, "Multiobjective
tree-structured Parzen estimator for computationally expensive optimization problems",
GECCO 2020): hpdeco's TPE with the good trials chosen, and weighted, by several objectives.

Everything else is :class:`~hpdeco.samplers.tpe.TPESampler`'s (the densities, conditional
parameters drawn from the trials that have them, Sobol' start-up, the constant liar for
other workers' running trials). The split changes:

- the good trials are ``ceil(gamma * n)`` (at most ``max_good``) of the ``n`` COMPLETE
  trials ranked by NSGA-II's constrained comparison (:mod:`hpdeco.samplers._ranking`):
  feasible before infeasible, then whole non-dominated fronts while they fit;
- of the front that does not fit, the members that greedy hypervolume subset selection
  takes (each adds the most volume to those taken before it), with the objectives scaled
  to [0, 1] over the ranked trials. With three objectives nearly every trial of a small
  study is on the front, and crowding distance (NSGA-II's cut) keeps its ends: the
  trials that are extreme on one objective and poor on the others;
- each good trial weighs its hypervolume contribution in ``l`` (the volume the good
  trials lose without it, as a share of the largest), so the kernels of trials that add
  little to the front count little.

Measured on ``bench/multiobjective.py``'s tuning seeds 1000-1019, median hypervolume
after 50 trials, before / hypervolume cut only / contribution weights only / both:
DTLZ2 13.58 / 14.16 / 13.74 / 14.30, ZDT1 9.78 / 9.80 / 10.06 / 10.20, ZDT2 9.17 / 8.84 /
9.31 / 9.51 (Optuna's TPE: 13.77, 9.77, 8.68). PRUNED trials (partial values), failed
and running ones are never good. With one objective the split is TPE's own.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from hpdeco.pareto import greedy_hypervolume_subset, hypervolume_contributions
from hpdeco.samplers._ranking import rank_finished
from hpdeco.samplers.tpe import TPESampler, _Model

if TYPE_CHECKING:
    from hpdeco.records import TrialRecord
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

    # The hypervolumes' reference: the worst of the points measured plus this, in
    # objectives scaled to [0, 1] (0.01 did worse on DTLZ2, 0.3 and 1.0 as well as 0.1).
    _margin = 0.1
    # The least weight of a good trial, as a share of the largest (a dominated or
    # duplicate good trial adds no volume alone, but stays in ``l``).
    _floor = 1e-3

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
        trials, in the same order) by the multi-objective one, and weigh its good trials."""
        finished = trial.study.finished[: len(self._history.group)]
        ranking = rank_finished(finished, trial.study.directions, self.max_good)
        rows = ranking.rows
        if not rows:
            return  # nothing complete yet: TPE's own split (pruned trials by their values)
        count = min(max(1, math.ceil(self.gamma * len(rows))), self.max_good, len(rows))
        points = _scaled(finished, rows, trial.study.directions)
        chosen = _good(ranking.fronts, points, count, self._margin)
        good_rows = [rows[i] for i in chosen]
        model.good = np.zeros(len(model.good), dtype=bool)
        model.good[good_rows] = True
        model.weights = self._weights(len(model.good), rows, chosen, ranking.fronts, points)
        # ``order`` (best first) also feeds TPE's per-parameter split of conditional ones.
        taken = set(good_rows)
        ranked = set(rows)
        model.order = np.array(
            good_rows
            + [r for r in rows if r not in taken]
            + [int(i) for i in model.order if int(i) not in ranked]
        )
        model.sets.clear()

    def _weights(
        self, size: int, rows: list[int], chosen: list[int], fronts: list[int], points: np.ndarray
    ) -> np.ndarray:
        """Each row's weight in ``l``: a feasible good trial's hypervolume contribution
        among the feasible good trials (the volume they lose without it; reference their
        worst plus ``_margin``), as a share of the largest, at least ``_floor``. Infeasible
        good trials (there only when every feasible trial is good) weigh as the lightest
        feasible one: the objectives of a trial that breaks the constraints should not pull
        ``l`` more than a feasible one does. Other rows: 1 (unused)."""
        weights = np.ones(size)
        feasible = [i for i in chosen if fronts[i] >= 0]
        if not feasible:
            return weights  # only infeasible ones: ranked by violation, equal weights
        mine = points[feasible]
        reference = mine.max(axis=0) + self._margin
        share = np.array(hypervolume_contributions(mine.tolist(), reference.tolist()))
        top = float(share.max())
        share = np.maximum(share / top, self._floor) if top > 0 else np.ones(len(feasible))
        weights[[rows[i] for i in feasible]] = share
        infeasible = [rows[i] for i in chosen if fronts[i] < 0]
        weights[infeasible] = share.min()
        return weights


def _good(fronts: list[int], points: np.ndarray, count: int, margin: float) -> list[int]:
    """Positions (in ranked order) of the ``count`` good trials: the whole fronts that fit,
    then, of the front that does not, the members greedy hypervolume subset selection
    takes (on that front alone, reference its worst plus ``margin``). Among infeasible
    trials, the ranked order (smaller violation first)."""
    cut = fronts[count - 1]
    members = [i for i, f in enumerate(fronts) if f == cut]
    before = [i for i in members if i < count]
    if cut < 0 or len(members) == len(before):
        return list(range(count))
    front = points[members]
    reference = front.max(axis=0) + margin
    picks = greedy_hypervolume_subset(front.tolist(), reference.tolist(), len(before))
    whole = [i for i in range(count) if fronts[i] != cut]
    return whole + [members[p] for p in picks]


def _scaled(records: list[TrialRecord], rows: list[int], directions: list[str]) -> np.ndarray:
    """The ranked trials' values, lower-is-better, each objective scaled to [0, 1] over
    them (so that no objective's units dominate the hypervolumes)."""
    signs = np.array([-1.0 if d == "max" else 1.0 for d in directions])
    values = np.array([records[r].values for r in rows], dtype=float) * signs
    low = values.min(axis=0)
    span = values.max(axis=0) - low
    return (values - low) / np.where(span > 0, span, 1.0)
