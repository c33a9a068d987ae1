"""The default sampler of a study with several objectives: multi-objective TPE while the
study is small, NSGA-II after (what ``bench/multiobjective.py`` measured; see
``docs/multiobjective.md``): MOTPE finds more of the front in the first 50 trials, but
levels off, and by 500 trials NSGA-II is ahead on all three test problems; switching at
200 finished trials did better at 500 than either alone on ZDT1.

Both read every finished trial, whichever of them proposed it, so the switch loses
nothing; both are reproducible, so this one is: trial ``n``'s values depend only on
``seed``, ``n`` and the trials finished before it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hpdeco.samplers._common import new_seed
from hpdeco.samplers.motpe import MOTPESampler
from hpdeco.samplers.nsga2 import NSGA2Sampler
from hpdeco.space import Param
from hpdeco.validate import check_int

if TYPE_CHECKING:
    from hpdeco.study import Study
    from hpdeco.trial import Trial


class MultiObjectiveSampler:
    """MOTPE for the first ``tpe_trials`` finished trials, NSGA-II after.

    >>> hpdeco.search(objective=["val_accuracy", ("params", "min")],
    ...               sampler=MultiObjectiveSampler(seed=7, tpe_trials=200))
    """

    def __init__(self, *, seed: int | None = None, tpe_trials: int = 200) -> None:
        check_int("MultiObjectiveSampler", "tpe_trials", tpe_trials)
        self.seed = new_seed(seed)
        self.tpe_trials = tpe_trials
        self.tpe = MOTPESampler(seed=self.seed)
        self.nsga2 = NSGA2Sampler(seed=self.seed)
        self._chosen: tuple[int, Any] | None = None

    def suggest(self, param: Param, trial: Trial) -> Any:
        return self._choose(trial).suggest(param, trial)

    def _choose(self, trial: Trial) -> Any:
        """The sampler of this trial: chosen at its first draw, kept for the others."""
        if self._chosen is None or self._chosen[0] != trial.number:
            small = len(trial.study.finished) < self.tpe_trials
            self._chosen = (trial.number, self.tpe if small else self.nsga2)
        return self._chosen[1]

    def exhausted(self, study: Study) -> bool:
        return self.tpe.exhausted(study)

    def __repr__(self) -> str:
        return f"MultiObjectiveSampler(seed={self.seed}, tpe_trials={self.tpe_trials})"
