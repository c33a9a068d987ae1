"""Random search: each parameter drawn from its prior, never repeating a finished configuration."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from hpdeco.samplers._common import Repeats
from hpdeco.space import Param

if TYPE_CHECKING:
    from hpdeco.study import Study
    from hpdeco.trial import Trial


class RandomSampler:
    """Draws every parameter independently: uniform in its (log-)range, or among its values.

    Reproducible: the draws of trial ``n`` depend only on ``seed``, ``n`` and the trials
    finished before it. A finite space is searched without repeats and then exhausted.

    >>> hpdeco.search(sampler=RandomSampler(seed=7))
    """

    def __init__(self, *, seed: int | None = None) -> None:
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**63)
        self._repeats = Repeats()
        self._rng_for: tuple[int, random.Random] | None = None

    def _rng(self, trial: Trial) -> random.Random:
        if self._rng_for is None or self._rng_for[0] != trial.number:
            self._rng_for = (trial.number, random.Random(f"{self.seed}:{trial.number}"))
        return self._rng_for[1]

    def suggest(self, param: Param, trial: Trial) -> Any:
        rng = self._rng(trial)
        return self._repeats.steer(param, trial, param.from_unit(rng.random()), rng.randrange)

    def exhausted(self, study: Study) -> bool:
        return self._repeats.exhausted(study)

    def __repr__(self) -> str:
        return f"RandomSampler(seed={self.seed})"
