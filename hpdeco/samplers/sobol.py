"""Sobol' search: scrambled quasi-random points, a better-spread replacement for random search."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hpdeco.samplers._common import Repeats, SobolPoints, new_seed, trial_rng
from hpdeco.space import Param

if TYPE_CHECKING:
    from hpdeco.study import Study
    from hpdeco.trial import Trial


class SobolSampler:
    """Trial ``k`` takes point ``k`` of a scrambled Sobol' sequence (``scipy.stats.qmc``).

    Each parameter known when the trial starts gets one dimension of the point (by sorted
    name, so every worker and every resumed run agrees); a parameter first met during the
    trial is drawn at random. The points cover the space more evenly than independent
    draws, most of all at powers of two (16, 32, 64 ... trials). Like random search it never
    repeats a finished configuration and stops when a finite space is exhausted.

    >>> hpdeco.search(sampler=SobolSampler(seed=7))   # or sampler="sobol", seed=7
    """

    def __init__(self, *, seed: int | None = None) -> None:
        self.seed = new_seed(seed)
        self._points = SobolPoints(self.seed)
        self._repeats = Repeats()
        self._rng_for: tuple[int, Any] | None = None

    def _rng(self, trial: Trial) -> Any:
        if self._rng_for is None or self._rng_for[0] != trial.number:
            self._rng_for = (trial.number, trial_rng(self.seed, trial.number, 1))
        return self._rng_for[1]

    def suggest(self, param: Param, trial: Trial) -> Any:
        rng = self._rng(trial)
        u = self._points.point(trial).get(param.name)
        value = param.from_unit(float(rng.random()) if u is None else u)
        return self._repeats.steer(param, trial, value, lambda n: int(rng.integers(n)))

    def exhausted(self, study: Study) -> bool:
        return self._repeats.exhausted(study)

    def __repr__(self) -> str:
        return f"SobolSampler(seed={self.seed})"
