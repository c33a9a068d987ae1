"""Pruners decide, step by step, whether a running trial is hopeless.

A pruner is anything with ``should_prune(trial) -> bool``, or a plain function of
``(trial)``. ``trial.intermediate_values`` maps each reported step to the objective's value;
``trial.study.finished`` holds the finished trials with theirs; ``trial.study.direction``
says which way is better.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from hpdeco.errors import ConfigError

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
    "none": NoPruner,
}
DEFAULT_PRUNER = "none"


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


__all__ = ["DEFAULT_PRUNER", "PRUNERS", "FunctionPruner", "NoPruner", "Pruner", "resolve_pruner"]
