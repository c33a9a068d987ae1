"""Hyperparameter specifications (``Int``, ``Float``, ``Choice``, ``Boolean``, ``Fixed``), ``hp``.

Each specification validates itself when built, knows its default, and maps values to and
from the unit interval so that samplers can work on ``[0, 1]`` whatever the parameter.

``hp`` is the accessor used inside model-building code::

    units = hp.Int("units", 16, 256, step=16)

Outside a trial it returns the default; inside one it asks the running trial, found through a
context variable, so ``hp.*`` works anywhere a trial is running.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any, ClassVar, Literal, Protocol

from hpdeco.errors import SpaceError, UsageError

Sampling = Literal["linear", "log", "reverse_log"]
SAMPLINGS = ("linear", "log", "reverse_log")
Value = int | float | str | bool


def _fail(name: object, argument: str, value: object, rule: str, fix: str) -> SpaceError:
    return SpaceError(f"hyperparameter {name!r}: {argument}={value!r} {rule}; {fix}")


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise SpaceError(
            f"hyperparameter name={name!r} must be a non-empty string; "
            'pass a literal such as hp.Int("units", 16, 256)'
        )
    return name


def _plain(value: Any) -> Any:
    """numpy scalars become Python scalars, so values compare and serialise plainly."""
    item = getattr(value, "item", None)
    if item is not None and not isinstance(value, (str, bytes)) and callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            return value
    return value


# Samplers place values on [0, 1] in floating point, which holds integers exactly only up to
# 2**53; beyond that draws would land off the integers (or overflow).
INT_LIMIT = 2**53


def _as_int(name: str, argument: str, value: Any) -> int:
    value = _plain(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _fail(name, argument, value, "must be an integer", "use hp.Float for real numbers")
    if not -INT_LIMIT <= value <= INT_LIMIT:
        raise _fail(
            name,
            argument,
            value,
            "is beyond +-2**53, where floating point no longer holds every integer",
            "use a smaller range, or hp.Float with sampling='log' for huge magnitudes",
        )
    return int(value)


def _as_float(name: str, argument: str, value: Any) -> float:
    value = _plain(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise _fail(name, argument, value, "must be a finite real number", "pass e.g. 0.001")
    return float(value)


def _tidy(x: float) -> float:
    """Round away binary noise such as 0.30000000000000004 from stepped values."""
    return float(f"{x:.12g}")


@dataclasses.dataclass(frozen=True)
class Param:
    """Common behaviour of all specifications; use the subclasses through ``hp``."""

    name: str
    kind: ClassVar[str] = ""

    @property
    def default(self) -> Any:
        raise NotImplementedError

    def contains(self, value: Any) -> bool:
        raise NotImplementedError

    def from_unit(self, u: float) -> Any:
        """The value at position ``u`` in ``[0, 1]`` of the (transformed) range."""
        raise NotImplementedError

    def to_unit(self, value: Any) -> float:
        """Inverse of :meth:`from_unit`; for discrete values, the centre of its cell."""
        raise NotImplementedError

    def grid(self) -> tuple[Any, ...]:
        """Every value, in order, for grid search."""
        raise NotImplementedError

    def grid_size(self) -> int:
        """How many values :meth:`grid` has, without listing them."""
        return len(self.grid())

    def grid_value(self, index: int) -> Any:
        """Value ``index`` of :meth:`grid`, without listing the others (a grid over
        ``hp.Int(0, 10**12)`` must not build a tuple of 10**12 values)."""
        return self.grid()[index]

    def describe(self) -> str:
        """The range or values in a few words, for tables."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        data = {"type": type(self).__name__}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            data[field.name] = list(value) if isinstance(value, tuple) else value
        return data

    def changes(self, other: Param) -> list[str]:
        """How ``other`` differs from this specification, field by field."""
        if type(other) is not type(self):
            return [f"type {type(self).__name__} -> {type(other).__name__}"]
        return [
            f"{field.name} {getattr(self, field.name)!r} -> {getattr(other, field.name)!r}"
            for field in dataclasses.fields(self)
            if getattr(self, field.name) != getattr(other, field.name)
        ]


class _Numeric(Param):
    """Shared logic of Int and Float: ranges, steps and the three samplings."""

    min_value: Any
    max_value: Any
    step: Any
    sampling: str

    def _normalise(self, convert: Callable[[str, str, Any], Any]) -> None:
        """Convert and check every field (``convert`` is _as_int or _as_float)."""
        name = _check_name(self.name)
        object.__setattr__(self, "min_value", convert(name, "min_value", self.min_value))
        object.__setattr__(self, "max_value", convert(name, "max_value", self.max_value))
        if self.step is not None:
            object.__setattr__(self, "step", convert(name, "step", self.step))
        elif self.kind == "int" and self.sampling == "linear":
            object.__setattr__(self, "step", 1)
        self._validate_range()
        if self.default_value is not None:
            default = convert(name, "default", self.default_value)
            object.__setattr__(self, "default_value", default)
            if not self.contains(default):
                raise _fail(
                    name,
                    "default",
                    default,
                    f"is not a value of {self.describe()}",
                    "pick a default inside the range (and on the step)",
                )

    @property
    def default(self) -> Any:
        return self.min_value if self.default_value is None else self.default_value

    def _validate_range(self) -> None:
        name = self.name
        if self.sampling not in SAMPLINGS:
            raise _fail(
                name, "sampling", self.sampling, "is unknown", f"use one of {', '.join(SAMPLINGS)}"
            )
        if self.min_value > self.max_value:
            raise _fail(
                name,
                "min_value",
                self.min_value,
                f"is greater than max_value={self.max_value!r}",
                "swap them",
            )
        if not math.isfinite(float(self.max_value) - float(self.min_value)):
            raise _fail(
                name,
                "max_value",
                self.max_value,
                f"is too far from min_value={self.min_value!r}: the width of the range "
                "overflows floating point",
                "use a narrower range (or sampling='log' over positive values)",
            )
        if self.sampling != "linear" and self.min_value <= 0:
            raise _fail(
                name,
                "min_value",
                self.min_value,
                f"must be > 0 with sampling={self.sampling!r}",
                "use a positive minimum or sampling='linear'",
            )
        if self.step is not None:
            if self.sampling == "reverse_log":
                raise _fail(
                    name,
                    "step",
                    self.step,
                    "is not supported with sampling='reverse_log'",
                    "drop the step or use sampling='log'",
                )
            if self.sampling == "log" and self.step <= 1:
                raise _fail(
                    name,
                    "step",
                    self.step,
                    "must be > 1 with sampling='log' (it multiplies)",
                    "use e.g. step=2 for 32, 64, 128, ...",
                )
            if self.step <= 0:
                raise _fail(name, "step", self.step, "must be > 0", "use a positive step")

    def _count(self) -> int | None:
        """Number of values on the step grid, or None for a continuous range."""
        if self.step is None:
            return None
        if self.sampling == "log":
            ratio = math.log(self.max_value / self.min_value) / math.log(self.step)
            return math.floor(ratio + 1e-9) + 1
        return math.floor((self.max_value - self.min_value) / self.step + 1e-9) + 1

    def _at(self, index: int) -> float:
        if self.sampling == "log":
            return self.min_value * self.step**index
        return self.min_value + index * self.step

    def _log_bounds(self) -> tuple[float, float]:
        return math.log(self.min_value), math.log(self.max_value)

    def _continuous_from_unit(self, u: float) -> float:
        lo, hi = self.min_value, self.max_value
        if self.sampling == "linear":
            return lo + u * (hi - lo)
        log_lo, log_hi = self._log_bounds()
        if self.sampling == "log":
            return math.exp(log_lo + u * (log_hi - log_lo))
        return lo + hi - math.exp(log_lo + (1.0 - u) * (log_hi - log_lo))

    def _continuous_to_unit(self, x: float) -> float:
        lo, hi = self.min_value, self.max_value
        if hi == lo:
            return 0.5
        if self.sampling == "linear":
            return (x - lo) / (hi - lo)
        log_lo, log_hi = self._log_bounds()
        if self.sampling == "log":
            return (math.log(x) - log_lo) / (log_hi - log_lo)
        return 1.0 - (math.log(lo + hi - x) - log_lo) / (log_hi - log_lo)

    def _index_of(self, value: float) -> float:
        if self.sampling == "log":
            return math.log(value / self.min_value) / math.log(self.step)
        return (value - self.min_value) / self.step

    def grid(self) -> tuple[Any, ...]:
        count = self._count()
        if count is None:
            raise SpaceError(
                f"hyperparameter {self.name!r}: {type(self).__name__} without a step has no grid; "
                f"give it a step (e.g. step={(self.max_value - self.min_value) / 4!r}) "
                "or use another sampler"
            )
        return tuple(self._cast(self._at(i)) for i in range(count))

    def grid_size(self) -> int:
        count = self._count()
        if count is None:
            self.grid()  # raises the error that explains the missing step
        assert count is not None
        return count

    def grid_value(self, index: int) -> Any:
        return self._cast(self._at(index))

    def _cast(self, x: float) -> Any:
        raise NotImplementedError

    def from_unit(self, u: float) -> Any:
        u = min(max(float(u), 0.0), 1.0)
        count = self._count()
        if count is not None:
            return self._cast(self._at(min(int(u * count), count - 1)))
        return self._cast(self._continuous_from_unit(u))

    def to_unit(self, value: Any) -> float:
        count = self._count()
        if count is not None:
            return (round(self._index_of(value)) + 0.5) / count
        return min(max(self._continuous_to_unit(value), 0.0), 1.0)

    def _on_grid(self, value: float) -> bool:
        if self.step is None:
            return True
        index = self._index_of(value)
        return abs(index - round(index)) < 1e-6

    def describe(self) -> str:
        text = f"{self.min_value!r} .. {self.max_value!r}"
        if self.step is not None and not (self.kind == "int" and self.step == 1):
            text += f" {'x' if self.sampling == 'log' else 'step '}{self.step!r}"
        return text


@dataclasses.dataclass(frozen=True)
class Int(_Numeric):
    """An integer in ``[min_value, max_value]`` (both inclusive)."""

    min_value: int
    max_value: int
    step: int | None = None
    sampling: str = "linear"
    default_value: int | None = None
    kind: ClassVar[str] = "int"

    def __post_init__(self) -> None:
        self._normalise(_as_int)

    def _cast(self, x: float) -> int:
        return min(max(round(x), self.min_value), self.max_value)

    def contains(self, value: Any) -> bool:
        value = _plain(value)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            return False
        if not self.min_value <= value <= self.max_value:
            return False
        if self.sampling == "log" and self.step is not None:
            return value in self.grid()
        return self._on_grid(value)

    def _continuous_from_unit(self, u: float) -> float:
        # Widen by half a unit so the end values get as much mass as the others.
        lo, hi = self.min_value - 0.5, self.max_value + 0.5
        if self.sampling == "log":
            lo = max(lo, self.min_value * 0.5)
            return math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
        # reverse_log without step
        lo = max(self.min_value - 0.5, self.min_value * 0.5)
        mirrored = math.exp(math.log(lo) + (1.0 - u) * (math.log(hi) - math.log(lo)))
        return self.min_value + self.max_value - mirrored

    def _continuous_to_unit(self, x: float) -> float:
        lo, hi = max(self.min_value - 0.5, self.min_value * 0.5), self.max_value + 0.5
        span = math.log(hi) - math.log(lo)
        if self.sampling == "log":
            return (math.log(x) - math.log(lo)) / span
        mirrored = self.min_value + self.max_value - x
        return 1.0 - (math.log(mirrored) - math.log(lo)) / span


@dataclasses.dataclass(frozen=True)
class Float(_Numeric):
    """A real number in ``[min_value, max_value]``; continuous unless ``step`` is given."""

    min_value: float
    max_value: float
    step: float | None = None
    sampling: str = "linear"
    default_value: float | None = None
    kind: ClassVar[str] = "float"

    def __post_init__(self) -> None:
        self._normalise(_as_float)

    def _cast(self, x: float) -> float:
        return min(max(_tidy(x), self.min_value), self.max_value)

    def contains(self, value: Any) -> bool:
        value = _plain(value)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if not math.isfinite(value):
            return False
        slack = 1e-12 * max(1.0, abs(self.min_value), abs(self.max_value))
        if not self.min_value - slack <= value <= self.max_value + slack:
            return False
        return self._on_grid(float(value))


def _family(value: Any) -> type:
    if isinstance(value, bool):
        return bool
    if isinstance(value, numbers.Integral):
        return int
    if isinstance(value, numbers.Real):
        return float
    if isinstance(value, str):
        return str
    return type(value)


@dataclasses.dataclass(frozen=True)
class Choice(Param):
    """One of ``values`` (all of one type: int, float, str or bool)."""

    values: tuple[Value, ...]
    ordered: bool | None = None
    default_value: Value | None = None
    kind: ClassVar[str] = "categorical"

    def __post_init__(self) -> None:
        name = _check_name(self.name)
        raw = self.values
        if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence) or not raw:
            raise _fail(
                name, "values", raw, "must be a non-empty list", 'pass e.g. ["relu", "tanh"]'
            )
        values = tuple(_plain(v) for v in raw)
        for value in values:
            if _family(value) is float and not math.isfinite(value):
                raise _fail(
                    name,
                    "values",
                    list(values),
                    f"hold {value!r}, which equals no value (not even itself)",
                    "list finite numbers only",
                )
        families = {_family(v) for v in values}
        if not families <= {int, float, str, bool}:
            raise _fail(
                name,
                "values",
                list(values),
                "may hold only int, float, str or bool",
                "map other objects from a string choice in your code",
            )
        if len(families) > 1:
            kinds = sorted(f.__name__ for f in families)
            raise _fail(
                name,
                "values",
                list(values),
                f"mix types ({', '.join(kinds)})",
                "make every value the same type",
            )
        if len(set(values)) != len(values):
            raise _fail(name, "values", list(values), "repeat a value", "list each value once")
        numeric = families <= {int, float}
        ordered = numeric if self.ordered is None else bool(self.ordered)
        if ordered and not numeric:
            raise _fail(
                name,
                "ordered",
                True,
                "needs int or float values",
                "drop ordered=True for strings and booleans",
            )
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "ordered", ordered)
        if self.default_value is not None:
            default = _plain(self.default_value)
            if not self.contains(default):
                raise _fail(
                    name,
                    "default",
                    default,
                    f"is not among {list(values)}",
                    "pick one of the values",
                )
            object.__setattr__(self, "default_value", default)

    @property
    def default(self) -> Value:
        return self.values[0] if self.default_value is None else self.default_value

    def contains(self, value: Any) -> bool:
        value = _plain(value)
        family = _family(value)
        return any(_family(v) is family and v == value for v in self.values)

    def index(self, value: Any) -> int:
        value = _plain(value)
        family = _family(value)
        for i, v in enumerate(self.values):
            if _family(v) is family and v == value:
                return i
        raise ValueError(f"{value!r} is not among {list(self.values)}")

    def from_unit(self, u: float) -> Value:
        n = len(self.values)
        return self.values[min(int(min(max(u, 0.0), 1.0) * n), n - 1)]

    def to_unit(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.values)

    def grid(self) -> tuple[Value, ...]:
        return self.values

    def describe(self) -> str:
        return "{" + ", ".join(repr(v) for v in self.values) + "}"


@dataclasses.dataclass(frozen=True)
class Boolean(Choice):
    """``False`` or ``True``."""

    values: tuple[Value, ...] = (False, True)

    def __post_init__(self) -> None:
        if self.values != (False, True) and list(self.values) != [False, True]:
            raise _fail(
                self.name,
                "values",
                self.values,
                "is fixed for Boolean",
                "use hp.Choice for other values",
            )
        if self.default_value is not None and not isinstance(self.default_value, bool):
            raise _fail(
                self.name,
                "default",
                self.default_value,
                "must be True or False",
                "pass default=True or default=False",
            )
        super().__post_init__()

    @property
    def default(self) -> bool:
        return bool(self.default_value)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "Boolean", "name": self.name, "default_value": self.default_value}


@dataclasses.dataclass(frozen=True)
class Fixed(Param):
    """A constant recorded with the trial's parameters but never searched."""

    value: Value = None  # type: ignore[assignment]
    kind: ClassVar[str] = "fixed"

    def __post_init__(self) -> None:
        name = _check_name(self.name)
        value = _plain(self.value)
        if _family(value) not in (int, float, str, bool) or (
            _family(value) is float and not math.isfinite(value)
        ):
            raise _fail(
                name,
                "value",
                value,
                "must be an int, float, str or bool (a finite number)",
                "record other objects outside hp",
            )
        object.__setattr__(self, "value", value)

    @property
    def default(self) -> Value:
        return self.value

    def contains(self, value: Any) -> bool:
        value = _plain(value)
        return _family(value) is _family(self.value) and value == self.value

    def from_unit(self, u: float) -> Value:
        return self.value

    def to_unit(self, value: Any) -> float:
        return 0.5

    def grid(self) -> tuple[Value, ...]:
        return (self.value,)

    def describe(self) -> str:
        return repr(self.value)


_TYPES: dict[str, type[Param]] = {cls.__name__: cls for cls in (Int, Float, Choice, Boolean, Fixed)}


def param_from_dict(data: dict[str, Any]) -> Param:
    """Rebuild a specification stored with :meth:`Param.to_dict`."""
    fields = dict(data)
    cls = _TYPES[fields.pop("type")]
    if "values" in fields and fields["values"] is not None:
        fields["values"] = tuple(fields["values"])
    return cls(**fields)


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
            Choice(name, tuple(values) if isinstance(values, list) else values, ordered, default)
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
