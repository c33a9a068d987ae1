"""What every hyperparameter specification shares: the base class, the value rules and the
one message style of space errors (hyperparameter, argument, value, rule, fix)."""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, ClassVar, Literal

from hpdeco.errors import SpaceError

Sampling = Literal["linear", "log", "reverse_log"]
SAMPLINGS = ("linear", "log", "reverse_log")
Value = int | float | str | bool


def space_error(name: object, argument: str, value: object, rule: str, fix: str) -> SpaceError:
    return SpaceError(f"hyperparameter {name!r}: {argument}={value!r} {rule}; {fix}")


def check_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise SpaceError(
            f"hyperparameter name={name!r} must be a non-empty string; "
            'pass a literal such as hp.Int("units", 16, 256)'
        )
    return name


def plain(value: Any) -> Any:
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


def normalise_sampling(sampling: Any) -> Any:
    """KerasTuner's spellings: ``None`` means linear and the case does not matter
    (``"LOG"``); anything else is left for the range check to refuse."""
    if sampling is None:
        return "linear"
    return sampling.lower() if isinstance(sampling, str) else sampling


def as_int(name: str, argument: str, value: Any) -> int:
    value = plain(value)
    # An integral float (hp.Int("units", 32.0, 512.0)) is an integer, as in KerasTuner.
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise space_error(
            name, argument, value, "must be an integer", "use hp.Float for real numbers"
        )
    value = int(value)
    if not -INT_LIMIT <= value <= INT_LIMIT:
        raise space_error(
            name,
            argument,
            value,
            "is beyond +-2**53, where floating point no longer holds every integer",
            "use a smaller range, or hp.Float with sampling='log' for huge magnitudes",
        )
    return int(value)


def as_float(name: str, argument: str, value: Any) -> float:
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise space_error(name, argument, value, "must be a finite real number", "pass e.g. 0.001")
    return float(value)


def tidy(x: float) -> float:
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
        data: dict[str, Any] = {"type": type(self).__name__}
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
