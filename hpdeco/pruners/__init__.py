"""Pruners decide, step by step, whether a running trial is hopeless.

A pruner is anything with ``should_prune(trial) -> bool``, or a plain function of
``(trial)``. ``trial.intermediate_values`` maps each reported step to the objective's value;
``trial.study.finished`` holds the finished trials with theirs; ``trial.study.direction``
says which way is better.

The shorthands of ``pruner=``:

- ``"median"`` (the default): :class:`MedianPruner`, best so far worse than the median of
  the COMPLETE trials' best so far at the same step;
- ``"percentile"``: :class:`PercentilePruner` at 25, outside the best quarter;
- ``"asha"``: :class:`AshaPruner`, asynchronous successive halving at rungs 1, 3, 9, ...;
- ``"hyperband"``: :class:`HyperbandPruner`, several halving brackets, epochs from ``fit``;
- ``"threshold"``: :class:`ThresholdPruner` without bounds, NaN or infinite values only;
- ``"patient"``: :class:`PatientPruner` around the median pruner, patience 3;
- ``"none"``: :class:`NoPruner`, never prunes.

Rules every pruner here follows:

- The direction of the study (``"max"`` or ``"min"``) decides what is better.
- The current step is the largest step reported so far. Steps may be reported out of
  order; a step reported twice keeps its first value (``trial.report`` warns).
- A non-finite objective reported through ``trial.report`` fails the trial (FAIL) before any
  pruner is asked. Other trials' non-finite values are ignored; FAIL trials are never
  compared against.
- A decision depends only on the trial's reported values and on what the store holds, read
  fresh at each decision: a restarted process, or a second worker, asked about the same
  stored values answers the same. The pruners keep no state between calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from hpdeco.errors import ConfigError
from hpdeco.pruners.asha import AshaPruner
from hpdeco.pruners.hyperband import HyperbandPruner
from hpdeco.pruners.patient import PatientPruner
from hpdeco.pruners.percentile import MedianPruner, PercentilePruner
from hpdeco.pruners.threshold import ThresholdPruner

if TYPE_CHECKING:
    from hpdeco.trial import Trial


@runtime_checkable
class Pruner(Protocol):
    def should_prune(self, trial: Trial) -> bool: ...


class NoPruner:
    """Never prunes."""

    def should_prune(self, trial: Trial) -> bool:
        return False

    def __repr__(self) -> str:
        return "NoPruner()"


class FunctionPruner:
    """Adapts a plain function ``f(trial) -> bool`` to the pruner protocol."""

    def __init__(self, function: Callable[[Trial], bool]) -> None:
        self.function = function

    def should_prune(self, trial: Trial) -> bool:
        return bool(self.function(trial))

    def __repr__(self) -> str:
        return getattr(self.function, "__qualname__", repr(self.function))


PRUNERS: dict[str, Callable[[], Pruner]] = {
    "asha": AshaPruner,
    "hyperband": HyperbandPruner,
    "median": MedianPruner,
    "none": NoPruner,
    "patient": lambda: PatientPruner("median", patience=3),
    "percentile": lambda: PercentilePruner(25.0),
    "threshold": ThresholdPruner,
}
DEFAULT_PRUNER = "median"


def resolve_pruner(pruner: str | Pruner | Callable[..., Any] | None) -> Pruner:
    """The pruner named by ``pruner=``: a shorthand string, an object, or a function."""
    if pruner is None:
        pruner = DEFAULT_PRUNER
    if isinstance(pruner, str):
        make = PRUNERS.get(pruner)
        if make is None:
            raise ConfigError(
                f"pruner={pruner!r} is unknown; use one of {', '.join(sorted(PRUNERS))}, "
                "a pruner object, or a function (trial) -> bool"
            )
        return make()
    if isinstance(pruner, Pruner):
        return pruner
    if callable(pruner):
        return FunctionPruner(pruner)
    raise ConfigError(
        f"pruner={pruner!r} must be a name ({', '.join(sorted(PRUNERS))}), an object with "
        "should_prune(trial), or a function (trial) -> bool"
    )


__all__ = [
    "DEFAULT_PRUNER",
    "PRUNERS",
    "AshaPruner",
    "FunctionPruner",
    "HyperbandPruner",
    "MedianPruner",
    "NoPruner",
    "PatientPruner",
    "PercentilePruner",
    "Pruner",
    "ThresholdPruner",
    "resolve_pruner",
]
