"""Numeric hyperparameters: ``Int`` and ``Float``, their ranges, steps and samplings, and
how they map to and from the unit interval."""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable
from typing import Any, ClassVar

from hpdeco.errors import SpaceError
from hpdeco.space._base import (
    SAMPLINGS,
    Param,
    as_float,
    as_int,
    check_name,
    normalise_sampling,
    plain,
    space_error,
    tidy,
)


class _Numeric(Param):
    """Shared logic of Int and Float: ranges, steps and the three samplings."""

    min_value: Any
    max_value: Any
    step: Any
    default_value: Any
    sampling: str

    def _normalise(self, convert: Callable[[str, str, Any], Any]) -> None:
        """Convert and check every field (``convert`` is as_int or as_float)."""
        name = check_name(self.name)
        object.__setattr__(self, "sampling", normalise_sampling(self.sampling))
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
                raise space_error(
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
            raise space_error(
                name, "sampling", self.sampling, "is unknown", f"use one of {', '.join(SAMPLINGS)}"
            )
        if self.min_value > self.max_value:
            raise space_error(
                name,
                "min_value",
                self.min_value,
                f"is greater than max_value={self.max_value!r}",
                "swap them",
            )
        if not math.isfinite(float(self.max_value) - float(self.min_value)):
            raise space_error(
                name,
                "max_value",
                self.max_value,
                f"is too far from min_value={self.min_value!r}: the width of the range "
                "overflows floating point",
                "use a narrower range (or sampling='log' over positive values)",
            )
        if self.sampling != "linear" and self.min_value <= 0:
            raise space_error(
                name,
                "min_value",
                self.min_value,
                f"must be > 0 with sampling={self.sampling!r}",
                "use a positive minimum or sampling='linear'",
            )
        if self.step is not None:
            if self.sampling != "linear" and self.step <= 1:
                raise space_error(
                    name,
                    "step",
                    self.step,
                    f"must be > 1 with sampling={self.sampling!r} (it multiplies)",
                    "use e.g. step=2 for 32, 64, 128, ...",
                )
            if self.step <= 0:
                raise space_error(name, "step", self.step, "must be > 0", "use a positive step")

    def _count(self) -> int | None:
        """Number of values on the step grid, or None for a continuous range."""
        if self.step is None:
            return None
        if self.sampling != "linear":
            ratio = math.log(self.max_value / self.min_value) / math.log(self.step)
            return math.floor(ratio + 1e-9) + 1
        return math.floor((self.max_value - self.min_value) / self.step + 1e-9) + 1

    def _at(self, index: int) -> float:
        if self.sampling == "log":
            return self.min_value * self.step**index
        if self.sampling == "reverse_log":
            # KerasTuner's order: max_value first, then ever larger gaps below it
            # (0.01 .. 100 x10 gives 100, 99.91, 99.01, 90.01, 0.01).
            return self.max_value + self.min_value - self.min_value * self.step**index
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
        if self.sampling == "reverse_log":
            gap = self.max_value + self.min_value - value
            if gap <= 0:  # beyond max_value + min_value: on no grid point
                return 0.5
            return math.log(gap / self.min_value) / math.log(self.step)
        return (value - self.min_value) / self.step

    def grid(self) -> tuple[Any, ...]:
        count = self._count()
        if count is None:
            if self.sampling == "linear":
                example = f"step={self._cast((self.max_value - self.min_value) / 4)!r}"
            else:
                example = f"step={2 if self.kind == 'int' else 10} (it multiplies)"
            raise SpaceError(
                f"hyperparameter {self.name!r}: {type(self).__name__} without a step has no grid; "
                f"give it a step (e.g. {example}) or use another sampler "
                "(hpdeco.keras_tuner.GridSearch takes KerasTuner's ten evenly spread values)"
            )
        return tuple(self._cast(self._at(i)) for i in range(count))

    @property
    def values(self) -> tuple[Any, ...]:
        """KerasTuner's ``values``: the grid when there is a step, else ten values spread
        evenly over the (transformed) range, at the centres of ten equal cells, duplicates
        dropped, in increasing order (KerasTuner returns them in a set's order)."""
        if self._count() is not None:
            return self.grid()
        return tuple(sorted({self._tenth(i * 0.1 + 0.05) for i in range(10)}))

    def _tenth(self, u: float) -> Any:
        """KerasTuner's value at probability ``u`` of a range without a step (an Int is
        spread over ``[min, max + 1)`` and truncated, so each integer gets equal room)."""
        if self.kind != "int":
            return self._cast(self._continuous_from_unit(u))
        lo, hi = self.min_value, self.max_value + 1
        log = self.sampling == "log"  # else reverse_log
        x = lo * (hi / lo) ** u if log else hi + lo - lo * (hi / lo) ** (1 - u)
        return min(max(int(x), self.min_value), self.max_value)

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
        self._normalise(as_int)

    def _cast(self, x: float) -> int:
        return min(max(round(x), self.min_value), self.max_value)

    def contains(self, value: Any) -> bool:
        value = plain(value)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            return False
        number = int(value)
        if not self.min_value <= number <= self.max_value:
            return False
        if self.sampling != "linear" and self.step is not None:
            return number in self.grid()
        return self._on_grid(number)

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
        self._normalise(as_float)

    def _cast(self, x: float) -> float:
        return min(max(tidy(x), self.min_value), self.max_value)

    def contains(self, value: Any) -> bool:
        value = plain(value)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        number = float(value)
        if not math.isfinite(number):
            return False
        slack = 1e-12 * max(1.0, abs(self.min_value), abs(self.max_value))
        if not self.min_value - slack <= number <= self.max_value + slack:
            return False
        return self._on_grid(number)
