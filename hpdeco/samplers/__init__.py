"""Samplers choose each trial's parameter values.

A sampler is anything with ``suggest(param, trial) -> value``, or a plain function of
``(param, trial)``. It may also define ``exhausted(study) -> bool`` to end the search.
``trial.params`` holds the values drawn so far in this trial, ``trial.study.finished`` the
finished trials, ``trial.study.direction`` which way is better::

    def half_way(param, trial):
        return param.from_unit(0.5)

    hpdeco.search(sampler=half_way)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from hpdeco.errors import ConfigError
from hpdeco.space import Param

if TYPE_CHECKING:
    from hpdeco.trial import Trial


@runtime_checkable
class Sampler(Protocol):
    def suggest(self, param: Param, trial: Trial) -> Any: ...


class FunctionSampler:
    """Adapts a plain function ``f(param, trial) -> value`` to the sampler protocol."""

    def __init__(self, function: Callable[[Param, Trial], Any]) -> None:
        self.function = function

    def suggest(self, param: Param, trial: Trial) -> Any:
        return self.function(param, trial)

    def __repr__(self) -> str:
        return getattr(self.function, "__qualname__", repr(self.function))


# Where each sampler lives: imported on first use, so `import hpdeco` (and every `hpdeco`
# command) does not pay for scipy's optimisers, which only the GP sampler needs.
_CLASSES = {
    "AutoSampler": "hpdeco.samplers.auto",
    "GPSampler": "hpdeco.samplers.gp",
    "GridSampler": "hpdeco.samplers.grid",
    "MOTPESampler": "hpdeco.samplers.motpe",
    "MultiObjectiveSampler": "hpdeco.samplers.multi",
    "NSGA2Sampler": "hpdeco.samplers.nsga2",
    "RandomSampler": "hpdeco.samplers.random",
    "SobolSampler": "hpdeco.samplers.sobol",
    "TPESampler": "hpdeco.samplers.tpe",
}


def __getattr__(name: str) -> Any:
    module = _CLASSES.get(name)
    if module is None:
        raise AttributeError(f"module 'hpdeco.samplers' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def _seeded(cls: str) -> Callable[[int | None], Sampler]:
    return lambda seed: __getattr__(cls)(seed=seed)


SAMPLERS: dict[str, Callable[..., Sampler]] = {
    "auto": _seeded("AutoSampler"),
    "random": _seeded("RandomSampler"),
    "grid": lambda seed: __getattr__("GridSampler")(),
    "sobol": _seeded("SobolSampler"),
    "tpe": _seeded("TPESampler"),
    "gp": _seeded("GPSampler"),
    "motpe": _seeded("MOTPESampler"),
    "nsga2": _seeded("NSGA2Sampler"),
    "multi": _seeded("MultiObjectiveSampler"),
}
# GP while a study is small on spaces of numbers and few choices, TPE otherwise: see
# hpdeco/samplers/auto.py and bench/samplers.py for why.
DEFAULT_SAMPLER = "auto"
# With several objectives: MOTPE for the first 200 finished trials, NSGA-II after (see
# docs/multiobjective.md and bench/multiobjective.py).
DEFAULT_MULTI_SAMPLER = "multi"


def resolve_sampler(
    sampler: str | Sampler | Callable[..., Any] | None, *, seed: int | None
) -> Sampler:
    """The sampler named by ``sampler=``: a shorthand string, an object, or a function."""
    if sampler is None:
        sampler = DEFAULT_SAMPLER
    if isinstance(sampler, str):
        make = SAMPLERS.get(sampler)
        if make is None:
            raise ConfigError(
                f"sampler={sampler!r} is unknown; use one of {', '.join(sorted(SAMPLERS))}, "
                "a sampler object, or a function (param, trial) -> value"
            )
        return make(seed)
    if isinstance(sampler, Sampler):
        return sampler
    if callable(sampler):
        return FunctionSampler(sampler)
    raise ConfigError(
        f"sampler={sampler!r} must be a name ({', '.join(sorted(SAMPLERS))}), an object "
        "with suggest(param, trial), or a function (param, trial) -> value"
    )


__all__ = [
    "DEFAULT_MULTI_SAMPLER",
    "DEFAULT_SAMPLER",
    "AutoSampler",
    "SAMPLERS",
    "FunctionSampler",
    "GPSampler",
    "GridSampler",
    "MOTPESampler",
    "MultiObjectiveSampler",
    "NSGA2Sampler",
    "RandomSampler",
    "Sampler",
    "SobolSampler",
    "TPESampler",
    "resolve_sampler",
]
