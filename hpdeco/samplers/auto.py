"""The default sampler: a Gaussian process while the study is small, TPE after.

Which model finds a good configuration sooner depends on the space and on how many trials
have finished (measured in ``bench/samplers.py``): a GP with expected improvement is far
ahead on small budgets over numeric spaces, and over spaces of unordered choices too since
it gives each choice one input with a Hamming distance (on NAS-Bench-201's six 5-way
choices it halved TPE's regret at 50 trials); past about a hundred trials the GP's cost
grows as the cube of the trials and TPE catches up; and on spaces of small numeric grids
(every parameter a handful of ordered values, as in the HPOLib tables) TPE, which weighs
each value on its own, does better from the start.

So each trial asks:

* GP (``GPSampler``) while fewer than ``gp_trials`` trials have finished and at most half
  of the parameters are small grids (ordered, at most 10 values); ``max_one_hot``
  (default: no limit) can also send spaces whose unordered choices have many values
  together to TPE;
* TPE (``TPESampler``) otherwise. TPE reads every finished trial, whichever model proposed
  it, so the switch loses nothing that was learnt.

Both start from the same scrambled Sobol' points (``n_startup_trials``), and both are
reproducible, so this one is: trial ``n``'s draws depend only on ``seed``, ``n`` and the
trials finished before it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hpdeco.samplers._common import Encoding, new_seed, searchable
from hpdeco.samplers.gp import GPSampler
from hpdeco.samplers.tpe import TPESampler
from hpdeco.space import Param
from hpdeco.validate import check_int

if TYPE_CHECKING:
    from hpdeco.study import Study
    from hpdeco.trial import Trial


# A numeric parameter with at most this many values counts as a coarse grid.
COARSE = 10


class AutoSampler:
    """GP for small budgets on spaces of numbers and choices, TPE on small grids and
    after (the default ``sampler="auto"``).

    Options: ``gp_trials`` (100), the finished trials after which TPE takes over;
    ``max_one_hot`` (None: no limit), the most values that the unordered choices may have
    together for the GP to be used; ``n_startup_trials`` (10) Sobol' trials before either
    model.

    >>> hpdeco.search(sampler=AutoSampler(seed=7, gp_trials=50))
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        gp_trials: int = 100,
        max_one_hot: int | None = None,
        n_startup_trials: int = 10,
    ) -> None:
        where = "AutoSampler"
        check_int(where, "gp_trials", gp_trials)
        check_int(where, "max_one_hot", max_one_hot, optional=True)
        check_int(where, "n_startup_trials", n_startup_trials)
        self.seed = new_seed(seed)
        self.gp_trials = gp_trials
        self.max_one_hot = max_one_hot
        self.gp = GPSampler(seed=self.seed, n_startup_trials=n_startup_trials)
        self.tpe = TPESampler(seed=self.seed, n_startup_trials=n_startup_trials)
        self._choice: tuple[int, Any] | None = None

    def suggest(self, param: Param, trial: Trial) -> Any:
        return self._sampler(trial).suggest(param, trial)

    def exhausted(self, study: Study) -> bool:
        return self.tpe.exhausted(study)

    def __repr__(self) -> str:
        return f"AutoSampler(seed={self.seed})"

    def model(self, study: Study) -> str:
        """Which model proposes the next trial of ``study``: "gp" or "tpe"."""
        small = len(study.finished) < self.gp_trials
        return "gp" if small and self._gp_fits(study) else "tpe"

    def _sampler(self, trial: Trial) -> Any:
        """The model for this trial, chosen at its first draw and kept for all of them."""
        cached = self._choice
        if cached is None or cached[0] != trial.number:
            chosen = self.gp if self.model(trial.study) == "gp" else self.tpe
            cached = self._choice = (trial.number, chosen)
        return cached[1]

    def _gp_fits(self, study: Study) -> bool:
        """Whether the space known so far suits the GP: at most half of its parameters
        are small grids (ordered, at most ``COARSE`` values), and its unordered choices
        have at most ``max_one_hot`` values together where that is set. A space of small
        grids (as in tabular benchmarks) is TPE's: it weighs each value on its own, where
        the GP assumes a smooth surface between them."""
        values = coarse = 0
        names = searchable(study.space)
        for name in names:
            encoding = Encoding(study.space[name])
            if encoding.kind == "categorical":
                values += encoding.cells
            elif encoding.kind == "discrete" and encoding.cells <= COARSE:
                coarse += 1
        if self.max_one_hot is not None and values > self.max_one_hot:
            return False
        return 2 * coarse <= len(names)
