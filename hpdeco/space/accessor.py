"""``hp``, the accessor model-building code calls: outside a trial every ``hp.*`` returns
its default; inside one it asks the running trial, found through a context variable, so
``hp.*`` works anywhere a trial is running."""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import Any, Protocol, cast

from hpdeco.errors import HpdecoError, SpaceError, UsageError
from hpdeco.space._base import Param, Sampling, Value, check_name
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


class UnknownHyperparameter(HpdecoError, KeyError):
    """``hp.get(name)`` / ``hp[name]`` for a name no ``hp.*`` call declared (a ``KeyError``,
    as in KerasTuner)."""

    def __str__(self) -> str:  # KeyError would show the message quoted
        return str(self.args[0]) if self.args else ""


Condition = tuple[str, tuple[Value, ...]]


class _Scope:
    """KerasTuner's bookkeeping for one trial (or one container outside trials): the open
    name and conditional scopes, every declaration with its conditions, and the values of
    the active parameters, by their full (name-scoped) names."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.conditions: list[Condition] = []
        self.values: dict[str, Any] = {}
        self.recorded: dict[str, Any] = {}  # what the declarations put in ``values``
        self.declared: dict[str, list[tuple[Param, tuple[Condition, ...]]]] = {}

    def full(self, name: str) -> str:
        return "/".join([*self.names, name])

    def active(self, conditions: Sequence[Condition]) -> bool:
        return all(
            parent in self.values and _member(self.values[parent], values)
            for parent, values in conditions
        )


def _member(value: Any, values: Sequence[Any]) -> bool:
    return value in values  # KerasTuner compares plainly (so 1 matches True)


def _as_values(parent: str, values: Any) -> tuple[Value, ...]:
    if values is None:
        raise SpaceError(
            f"conditional parameter under {parent!r}: parent_values=None must list the "
            f"values of {parent!r} that activate it; pass e.g. parent_values=[1, 2]"
        )
    if isinstance(values, (list, tuple, set, frozenset)):
        return tuple(values)
    return (values,)


def _qualified(name: str, conditions: Sequence[Condition]) -> str:
    """The stored name of a conditional parameter whose plain name another branch already
    uses with another specification: ``layers[model=v2]``."""
    text = ", ".join(f"{p}={'|'.join(str(v) for v in values)}" for p, values in conditions)
    return f"{name}[{text}]"


class HyperParameters:
    """The ``hp`` accessor. Signatures follow KerasTuner's ``HyperParameters``.

    Besides drawing values, it speaks KerasTuner's container API: ``parent_name=`` /
    ``parent_values=`` on every type, :meth:`conditional_scope`, :meth:`name_scope`,
    :meth:`get`, :attr:`values`, ``hp["name"]`` and ``"name" in hp``. That bookkeeping is
    kept per trial (a fresh one for every trial), or per instance outside trials.
    """

    def __init__(self) -> None:
        self._outside = _Scope()
        self._trials: weakref.WeakKeyDictionary[Any, _Scope] = weakref.WeakKeyDictionary()

    def _scope(self) -> _Scope:
        trial = current_trial.get()
        if trial is None:
            return self._outside
        scope = self._trials.get(trial)
        if scope is None:
            scope = self._trials[trial] = _Scope()
        return scope

    # -- declaring and drawing -------------------------------------------------------------

    def _retrieve(self, make: Any, name: str, parent_name: str | None, parent_values: Any) -> Any:
        """Declare the parameter ``make(full_name)`` builds under the open scopes (and
        ``parent_name``); draw it when its conditions hold, else return None as KerasTuner
        does."""
        scope = self._scope()
        full = scope.full(check_name(name))
        conditions = list(scope.conditions)
        if parent_name is not None:
            conditions.append(self._condition(scope, parent_name, parent_values))
        for parent, _ in conditions:
            if parent == full:
                raise SpaceError(
                    f"hyperparameter {full!r} cannot have the same name as the parameter "
                    "its condition depends on; rename one of them"
                )
        param: Param = make(full)  # checks the specification, active or not
        frozen = tuple(conditions)
        known = scope.declared.setdefault(full, [])
        if all(c != frozen for _, c in known):
            known.append((param, frozen))
        if not scope.active(conditions):
            return None
        if conditions:
            param = self._stored(scope, param, full, frozen, make)
        if current_trial.get() is None and full in scope.values:
            given = scope.values[full]
            if full not in scope.recorded or scope.recorded[full] is not given:
                return given  # populated by hand (hp.values[name] = ...), as KerasTuner allows
        value = _resolve(param)
        scope.values[full] = scope.recorded[full] = value
        return value

    @staticmethod
    def _stored(
        scope: _Scope, param: Param, full: str, conditions: tuple[Condition, ...], make: Any
    ) -> Param:
        """A conditional parameter keeps its name unless another branch declared that name
        with another specification (in this trial, or in the study): then it is stored
        as ``name[parent=value]``, so each branch keeps one specification per name."""
        qualified = _qualified(full, conditions)
        trial = current_trial.get()
        drawn = getattr(trial, "params", None) or {}
        if qualified in drawn:
            return cast(Param, make(qualified))
        others = [p for p, c in scope.declared.get(full, []) if c != conditions]
        space = getattr(getattr(trial, "study", None), "space", None) or {}
        stored = space.get(full)
        if any(p != param for p in others) or (stored is not None and stored != param):
            return cast(Param, make(qualified))
        return param

    def _condition(self, scope: _Scope, parent_name: str, parent_values: Any) -> Condition:
        parent = scope.full(check_name(parent_name))
        if parent not in scope.declared:
            raise SpaceError(
                f"conditional_scope / parent_name={parent_name!r}: no hyperparameter "
                f"{parent!r} is defined yet; declare it (e.g. hp.Choice({parent_name!r}, "
                "[...])) before the parameters that depend on it"
            )
        return parent, _as_values(parent, parent_values)

    def Int(
        self,
        name: str,
        min_value: int,
        max_value: int,
        step: int | None = None,
        sampling: Sampling | None = "linear",
        default: int | None = None,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> int:
        """An integer from ``min_value`` to ``max_value`` inclusive.

        >>> hp.Int("units", 16, 256, step=16)  # outside a trial: the default, 16
        16
        """
        return cast(
            int,
            self._retrieve(
                lambda n: Int(n, min_value, max_value, step, cast(str, sampling), default),
                name,
                parent_name,
                parent_values,
            ),
        )

    def Float(
        self,
        name: str,
        min_value: float,
        max_value: float,
        step: float | None = None,
        sampling: Sampling | None = "linear",
        default: float | None = None,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> float:
        """A real number; ``sampling="log"`` for learning rates.

        >>> hp.Float("lr", 1e-4, 1e-2, sampling="log", default=1e-3)
        0.001
        """
        return cast(
            float,
            self._retrieve(
                lambda n: Float(n, min_value, max_value, step, cast(str, sampling), default),
                name,
                parent_name,
                parent_values,
            ),
        )

    def Choice(
        self,
        name: str,
        values: Sequence[Value],
        ordered: bool | None = None,
        default: Value | None = None,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> Any:
        """One of ``values``; the default is the first.

        >>> hp.Choice("activation", ["relu", "tanh"])
        'relu'
        """
        # A list becomes a tuple; anything else goes to Choice's own check as it is.
        listed = tuple(values) if isinstance(values, list) else cast(Any, values)
        return self._retrieve(
            lambda n: Choice(n, listed, ordered, default), name, parent_name, parent_values
        )

    def Boolean(
        self,
        name: str,
        default: bool = False,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> bool:
        """True or False.

        >>> hp.Boolean("dropout")
        False
        """
        return cast(
            bool,
            self._retrieve(
                lambda n: Boolean(n, default_value=default), name, parent_name, parent_values
            ),
        )

    def Fixed(
        self,
        name: str,
        value: Value,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> Any:
        """A constant, recorded with each trial's parameters.

        >>> hp.Fixed("epochs", 10)
        10
        """
        return self._retrieve(lambda n: Fixed(n, value), name, parent_name, parent_values)

    # -- KerasTuner's container API ----------------------------------------------------------

    @contextlib.contextmanager
    def name_scope(self, name: str) -> Iterator[None]:
        """Prefix the names declared inside with ``name/`` (nested scopes join)."""
        scope = self._scope()
        scope.names.append(check_name(name))
        try:
            yield
        finally:
            scope.names.pop()

    @contextlib.contextmanager
    def conditional_scope(self, parent_name: str, parent_values: Any) -> Iterator[None]:
        """Parameters declared inside are active only while ``parent_name`` has one of
        ``parent_values``; an inactive one is declared but returns None (the code inside
        runs either way, as in KerasTuner)."""
        scope = self._scope()
        scope.conditions.append(self._condition(scope, parent_name, parent_values))
        try:
            yield
        finally:
            scope.conditions.pop()

    @property
    def values(self) -> dict[str, Any]:
        """The active parameters' values so far, by full name (assigning to it before a
        declaration makes that declaration return the assigned value outside trials)."""
        return self._scope().values

    @property
    def space(self) -> list[Param]:
        """Every declaration so far (active or not), in order."""
        return [p for known in self._scope().declared.values() for p, _ in known]

    def get(self, name: str) -> Any:
        """The value of the active parameter ``name`` (in the open name scopes)."""
        scope = self._scope()
        full = scope.full(name)
        if full in scope.values:
            return scope.values[full]
        if full in scope.declared:
            raise SpaceError(
                f"hyperparameter {full!r} is currently inactive: its conditions do not hold "
                "in this trial; read it only where they hold"
            )
        known = ", ".join(map(repr, scope.values)) or "none yet"
        raise UnknownHyperparameter(
            f"hyperparameter {full!r} does not exist: no hp.* call declared it (active "
            f"parameters: {known}); declare it before reading it"
        )

    def is_active(self, name: str) -> bool:
        """Whether a parameter of this name has its conditions met now."""
        scope = self._scope()
        return any(scope.active(c) for _, c in scope.declared.get(str(name), []))

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        try:
            self.get(cast(str, name))
        except (KeyError, ValueError):
            return False
        return True

    def __repr__(self) -> str:
        return "hpdeco.hp" if self is hp else f"<HyperParameters {self.values!r}>"


hp = HyperParameters()
