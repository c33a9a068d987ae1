"""``hp``, the accessor model-building code calls: outside a trial every ``hp.*`` returns
its default; inside one it asks the running trial, found through a context variable, so
``hp.*`` works anywhere a trial is running."""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any, Protocol, cast

from hpdeco.errors import UsageError
from hpdeco.space._base import Param, Sampling, Value
from hpdeco.space.choices import Boolean, Choice, Fixed
from hpdeco.space.numeric import Float, Int


class Suggester(Protocol):
    """What ``hp`` needs from a running trial."""

    def _suggest(self, param: Param) -> Any: ...


current_trial: ContextVar[Suggester | None] = ContextVar("hpdeco_current_trial", default=None)

# Trials running in this process, whatever their thread: a thread the user starts does not
# inherit the context variable, and hp.* there must not quietly return defaults.
in_flight: list[Any] = []


def _resolve(param: Param) -> Any:
    trial = current_trial.get()
    if trial is not None:
        return trial._suggest(param)
    if in_flight:
        import threading

        message = (
            f"hp.{type(param).__name__}({param.name!r}) was called in thread "
            f"{threading.current_thread().name!r}, outside the trial's own thread, where "
            "it cannot reach the trial; draw the value in the loop body (or the model "
            "function) and pass it to the thread"
        )
        for trial in in_flight:
            trial._fail_soon(message)
        raise UsageError(message)
    return param.default


class HyperParameters:
    """The ``hp`` accessor. Signatures follow KerasTuner's ``HyperParameters``."""

    def Int(
        self,
        name: str,
        min_value: int,
        max_value: int,
        step: int | None = None,
        sampling: Sampling = "linear",
        default: int | None = None,
    ) -> int:
        """An integer from ``min_value`` to ``max_value`` inclusive.

        >>> hp.Int("units", 16, 256, step=16)  # outside a trial: the default, 16
        16
        """
        return _resolve(Int(name, min_value, max_value, step, sampling, default))

    def Float(
        self,
        name: str,
        min_value: float,
        max_value: float,
        step: float | None = None,
        sampling: Sampling = "linear",
        default: float | None = None,
    ) -> float:
        """A real number; ``sampling="log"`` for learning rates.

        >>> hp.Float("lr", 1e-4, 1e-2, sampling="log", default=1e-3)
        0.001
        """
        return _resolve(Float(name, min_value, max_value, step, sampling, default))

    def Choice(
        self,
        name: str,
        values: Sequence[Value],
        ordered: bool | None = None,
        default: Value | None = None,
    ) -> Any:
        """One of ``values``; the default is the first.

        >>> hp.Choice("activation", ["relu", "tanh"])
        'relu'
        """
        return _resolve(
            # A list becomes a tuple; anything else goes to Choice's own check as it is.
            Choice(
                name,
                tuple(values) if isinstance(values, list) else cast(Any, values),
                ordered,
                default,
            )
        )

    def Boolean(self, name: str, default: bool = False) -> bool:
        """True or False.

        >>> hp.Boolean("dropout")
        False
        """
        return _resolve(Boolean(name, default_value=default))

    def Fixed(self, name: str, value: Value) -> Any:
        """A constant, recorded with each trial's parameters.

        >>> hp.Fixed("epochs", 10)
        10
        """
        return _resolve(Fixed(name, value))

    def __repr__(self) -> str:
        return "hpdeco.hp"


hp = HyperParameters()
