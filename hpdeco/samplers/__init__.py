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

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from hpdeco.errors import ConfigError
from hpdeco.samplers.gp import GPSampler
from hpdeco.samplers.grid import GridSampler
from hpdeco.samplers.random import RandomSampler
from hpdeco.samplers.sobol import SobolSampler
from hpdeco.samplers.tpe import TPESampler
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


SAMPLERS: dict[str, Callable[..., Sampler]] = {
    "random": lambda seed: RandomSampler(seed=seed),
    "grid": lambda seed: GridSampler(),
    "sobol": lambda seed: SobolSampler(seed=seed),
    "tpe": lambda seed: TPESampler(seed=seed),
    "gp": lambda seed: GPSampler(seed=seed),
}
DEFAULT_SAMPLER = "tpe"


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
    "DEFAULT_SAMPLER",
    "SAMPLERS",
    "FunctionSampler",
    "GridSampler",
    "RandomSampler",
    "Sampler",
    "resolve_sampler",
]
