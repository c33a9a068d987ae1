"""The four tuners, each a sampler and a pruner of hpdeco (see the package's table)."""

from __future__ import annotations

import math
from typing import Any

from hpdeco.errors import ConfigError
from hpdeco.keras_tuner.parts import grid_choice
from hpdeco.keras_tuner.tuner import Tuner


class RandomSearch(Tuner):
    """KerasTuner's ``RandomSearch``: hpdeco's random sampler, no pruning."""


class GridSearch(Tuner):
    """KerasTuner's ``GridSearch``: hpdeco's grid sampler (ends when the grid is done);
    ``max_trials=None`` walks the whole grid. A numeric range without a step is
    enumerated as KerasTuner does (ten evenly spread values)."""

    sampler = "grid"

    def __init__(self, hypermodel: Any = None, objective: Any = None, max_trials: Any = None,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(hypermodel, objective, max_trials, **kwargs)

    def _policy(self, make: Any, full: str) -> Any:
        inner = super()._policy(make, full)
        return lambda n: grid_choice(inner(n))


class BayesianOptimization(Tuner):
    """KerasTuner's ``BayesianOptimization``: hpdeco's Gaussian-process sampler, starting
    with ``num_initial_points`` random trials (KerasTuner's default: 3 x the number of
    parameters; here hpdeco's 10 unless given). ``alpha`` and ``beta`` are ignored."""

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_trials: int | None = 10,
        num_initial_points: int | None = None,
        alpha: float = 1e-4,
        beta: float = 2.6,
        **kwargs: Any,
    ) -> None:
        super().__init__(hypermodel, objective, max_trials, **kwargs)
        from hpdeco.samplers import GPSampler

        startup = {} if num_initial_points is None else {"n_startup_trials": num_initial_points}
        self.sampler = GPSampler(seed=self.seed, **startup)


class Hyperband(Tuner):
    """KerasTuner's ``Hyperband``: random configurations, each fitted for up to
    ``max_epochs`` epochs and stopped early by hpdeco's Hyperband pruner (brackets of
    ``factor``), asynchronously; as many configurations as KerasTuner's brackets try in
    ``hyperband_iterations``. ``epochs`` given to ``search`` is replaced by ``max_epochs``."""

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_epochs: int = 100,
        factor: int = 3,
        hyperband_iterations: int = 1,
        **kwargs: Any,
    ) -> None:
        if "max_trials" in kwargs:
            raise ConfigError(
                "Hyperband(max_trials=...): Hyperband sets its budget from max_epochs, "
                "factor and hyperband_iterations (as KerasTuner's); use RandomSearch with "
                "max_trials, or change hyperband_iterations"
            )
        for option, value in (("max_epochs", max_epochs), ("factor", factor)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise ConfigError(f"Hyperband({option}={value!r}): an int >= 2")
        super().__init__(hypermodel, objective, None, **kwargs)
        from hpdeco.pruners import HyperbandPruner

        self.max_trials = hyperband_iterations * bracket_trials(max_epochs, factor)
        self.pruner = HyperbandPruner(max_resource=max_epochs, reduction_factor=factor)
        self._fit_epochs = max_epochs


def bracket_trials(max_epochs: int, factor: int) -> int:
    """How many configurations one Hyperband iteration starts: bracket ``s`` of
    ``s_max + 1`` starts ``ceil((s_max + 1) / (s + 1) * factor**s)``."""
    s_max = math.floor(math.log(max_epochs, factor) + 1e-9)
    return sum(math.ceil((s_max + 1) / (s + 1) * factor**s) for s in range(s_max + 1))
