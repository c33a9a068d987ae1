"""NSGA-II for several objectives (Deb, Pratap, Agarwal and Meyarivan, IEEE TEC 2002), in
its steady-state form, one trial at a time and define-by-run.

Each trial is a child of two parents:

* the *population* is the ``population_size`` best finished trials by NSGA-II's
  constrained crowded comparison (see :mod:`hpdeco.samplers._ranking`: feasible before
  infeasible, infeasible by violation, feasible by non-dominated front and crowding
  distance). Every finished trial competes, whoever proposed it, so there are no
  generations to keep track of: another worker's trial joins the population as soon as it
  is finished and read;
* two parents are picked from it by binary tournament (the better-ranked of two at random);
* each parameter, when the trial reaches it, is crossed over with probability
  ``crossover_prob`` (numbers: simulated binary crossover on the parameter's unit interval,
  ``eta_crossover``; choices: either parent's value, half and half), else taken from the
  first parent, then mutated with probability ``mutation_prob`` (default one over the
  number of parameters; numbers: polynomial mutation, ``eta_mutation``; choices: a value
  at random). A parameter only one parent has comes from that parent; one that neither
  has (a conditional child neither took, or a new one) is drawn from its prior.

PRUNED and FAILED trials are never parents (a pruned trial's values are partial). The
first ``n_startup_trials`` trials, and every trial until two trials are complete, take
scrambled Sobol' points. Reproducible: trial ``n``'s values depend only on ``seed``, ``n``
and the trials finished before it; each parameter has its own random stream, so the order
in which the code reaches the parameters does not matter.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hpdeco.records import TrialRecord
from hpdeco.samplers._common import Encoding, Repeats, SobolPoints, new_seed, trial_rng
from hpdeco.samplers._ranking import rank_finished
from hpdeco.space import Param
from hpdeco.validate import check_int, check_number

if TYPE_CHECKING:
    from hpdeco.study import Study
    from hpdeco.trial import Trial


@dataclass(frozen=True)
class _Plan:
    """One trial's parents (None while starting up), chosen at its first draw."""

    number: int
    parents: tuple[TrialRecord, TrialRecord] | None


class NSGA2Sampler:
    """NSGA-II (``sampler="nsga2"``): a child of two good finished trials per trial.

    Options: ``population_size`` (24), the finished trials parents are drawn from;
    ``n_startup_trials`` (10) Sobol' trials first; ``crossover_prob`` (0.9);
    ``eta_crossover`` (15) and ``eta_mutation`` (20), how close to their parents children
    stay (larger: closer); ``mutation_prob`` (None: one over the number of parameters).

    >>> hpdeco.search(objective=["val_accuracy", ("params", "min")], sampler=NSGA2Sampler(seed=7))
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        population_size: int = 24,
        n_startup_trials: int = 10,
        crossover_prob: float = 0.9,
        eta_crossover: float = 15.0,
        eta_mutation: float = 20.0,
        mutation_prob: float | None = None,
    ) -> None:
        where = "NSGA2Sampler"
        check_int(where, "population_size", population_size, minimum=2)
        check_int(where, "n_startup_trials", n_startup_trials)
        check_number(where, "crossover_prob", crossover_prob, minimum=0, maximum=1)
        check_number(where, "eta_crossover", eta_crossover, minimum=0)
        check_number(where, "eta_mutation", eta_mutation, minimum=0)
        if mutation_prob is not None:
            check_number(where, "mutation_prob", mutation_prob, minimum=0, maximum=1)
        self.seed = new_seed(seed)
        self.population_size = population_size
        self.n_startup_trials = n_startup_trials
        self.crossover_prob = float(crossover_prob)
        self.eta_crossover = float(eta_crossover)
        self.eta_mutation = float(eta_mutation)
        self.mutation_prob = None if mutation_prob is None else float(mutation_prob)
        self._sobol = SobolPoints(self.seed)
        self._repeats = Repeats()
        self._plan_for: _Plan | None = None

    # -- the protocol -------------------------------------------------------------------------

    def suggest(self, param: Param, trial: Trial) -> Any:
        plan = self._plan(trial)
        rng = trial_rng(self.seed, trial.number, zlib.crc32(param.name.encode()))
        pick = _picker(rng)
        if plan.parents is None:
            u = self._sobol.point(trial).get(param.name)
            value = param.from_unit(float(rng.random()) if u is None else u)
            return self._repeats.steer(param, trial, value, pick)
        encoding = Encoding(param)
        first, second = (_code(encoding, p.params) for p in plan.parents)
        if math.isnan(first):
            first, second = second, first
        if math.isnan(first):  # neither parent has it: from the prior
            value = param.from_unit(float(rng.random()))
            return self._repeats.steer(param, trial, value, pick)
        code = first
        if not math.isnan(second) and rng.random() < self.crossover_prob:
            code = self._crossover(encoding, first, second, rng)
        if rng.random() < self._mutation_prob(trial):
            code = self._mutate(encoding, code, rng)
        return self._repeats.steer(param, trial, encoding.value(code), pick)

    def exhausted(self, study: Study) -> bool:
        return self._repeats.exhausted(study)

    def __repr__(self) -> str:
        return f"NSGA2Sampler(seed={self.seed}, population_size={self.population_size})"

    # -- parents ------------------------------------------------------------------------------

    def _plan(self, trial: Trial) -> _Plan:
        """The trial's parents, chosen at its first draw and kept for its other draws."""
        cached = self._plan_for
        if cached is not None and cached.number == trial.number:
            return cached
        study = trial.study
        finished = study.finished
        ranking = rank_finished(finished, study.directions, self.population_size)
        population = ranking.rows[: self.population_size]
        parents = None
        if len(finished) >= self.n_startup_trials and len(population) >= 2:
            rng = trial_rng(self.seed, trial.number)
            first = _tournament(len(population), rng)
            second = _tournament(len(population), rng)
            while second == first:  # two distinct parents (the population has two or more)
                second = _tournament(len(population), rng)
            parents = (finished[population[first]], finished[population[second]])
        self._plan_for = _Plan(trial.number, parents)
        return self._plan_for

    def _mutation_prob(self, trial: Trial) -> float:
        if self.mutation_prob is not None:
            return self.mutation_prob
        searched = sum(1 for p in trial.study.space.values() if p.kind != "fixed")
        return 1.0 / max(1, searched)

    # -- variation ----------------------------------------------------------------------------

    def _crossover(self, encoding: Encoding, a: float, b: float, rng: Any) -> float:
        """Simulated binary crossover (Deb and Agrawal 1995), bounded to [0, 1]; one of its
        two children at random. Choices: either parent's value."""
        if encoding.kind == "categorical" or a == b:
            return a if rng.random() < 0.5 else b
        low, high = min(a, b), max(a, b)
        eta = self.eta_crossover
        u = float(rng.random())
        children = []
        for bound_gap in (low, 1.0 - high):  # towards 0 from ``low``, towards 1 from ``high``
            beta = 1.0 + 2.0 * bound_gap / (high - low)
            alpha = 2.0 - beta ** -(eta + 1.0)
            if u <= 1.0 / alpha:
                beta_q = (u * alpha) ** (1.0 / (eta + 1.0))
            else:
                beta_q = (1.0 / (2.0 - u * alpha)) ** (1.0 / (eta + 1.0))
            children.append(beta_q)
        c1 = 0.5 * (low + high - children[0] * (high - low))
        c2 = 0.5 * (low + high + children[1] * (high - low))
        child = c1 if rng.random() < 0.5 else c2
        return float(np.clip(child, 0.0, 1.0))

    def _mutate(self, encoding: Encoding, code: float, rng: Any) -> float:
        """Polynomial mutation (Deb and Goyal 1996) on [0, 1]; choices: a value at random."""
        if encoding.kind == "categorical":
            return float(rng.integers(encoding.cells))
        eta = self.eta_mutation
        u = float(rng.random())
        power = 1.0 / (eta + 1.0)
        if u < 0.5:
            shift = (2 * u + (1 - 2 * u) * (1 - code) ** (eta + 1)) ** power - 1.0
        else:
            shift = 1.0 - (2 * (1 - u) + 2 * (u - 0.5) * code ** (eta + 1)) ** power
        return float(np.clip(code + shift, 0.0, 1.0))


def _code(encoding: Encoding, params: Any) -> float:
    """A parent's value of the parameter on its unit interval (NaN when it lacks it)."""
    value = params.get(encoding.param.name)
    if encoding.param.name not in params or not encoding.param.contains(value):
        return math.nan
    return encoding.code(value)


def _tournament(size: int, rng: Any) -> int:
    """Binary tournament on a population ranked best first: the better of two at random."""
    return int(min(rng.integers(size), rng.integers(size)))


def _picker(rng: Any) -> Any:
    return lambda n: int(rng.integers(n))
