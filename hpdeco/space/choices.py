"""Hyperparameters with listed values: ``Choice``, ``Boolean`` and ``Fixed``."""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

from hpdeco.space._base import Param, Value, check_name, plain, space_error


def family_of(value: Any) -> type:
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
        name = check_name(self.name)
        raw = self.values
        if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence) or not raw:
            raise space_error(
                name, "values", raw, "must be a non-empty list", 'pass e.g. ["relu", "tanh"]'
            )
        values = tuple(plain(v) for v in raw)
        for value in values:
            if family_of(value) is float and not math.isfinite(value):
                raise space_error(
                    name,
                    "values",
                    list(values),
                    f"hold {value!r}, which equals no value (not even itself)",
                    "list finite numbers only",
                )
        families = {family_of(v) for v in values}
        if not families <= {int, float, str, bool}:
            raise space_error(
                name,
                "values",
                list(values),
                "may hold only int, float, str or bool",
                "map other objects from a string choice in your code",
            )
        if len(families) > 1:
            kinds = sorted(f.__name__ for f in families)
            raise space_error(
                name,
                "values",
                list(values),
                f"mix types ({', '.join(kinds)})",
                "make every value the same type",
            )
        if len(set(values)) != len(values):
            raise space_error(
                name, "values", list(values), "repeat a value", "list each value once"
            )
        numeric = families <= {int, float}
        ordered = numeric if self.ordered is None else bool(self.ordered)
        if ordered and not numeric:
            raise space_error(
                name,
                "ordered",
                True,
                "needs int or float values",
                "drop ordered=True for strings and booleans",
            )
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "ordered", ordered)
        if self.default_value is not None:
            default = plain(self.default_value)
            if not self.contains(default):
                raise space_error(
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
        value = plain(value)
        family = family_of(value)
        return any(family_of(v) is family and v == value for v in self.values)

    def index(self, value: Any) -> int:
        value = plain(value)
        family = family_of(value)
        for i, v in enumerate(self.values):
            if family_of(v) is family and v == value:
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
            raise space_error(
                self.name,
                "values",
                self.values,
                "is fixed for Boolean",
                "use hp.Choice for other values",
            )
        if self.default_value is not None and not isinstance(self.default_value, bool):
            raise space_error(
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
        name = check_name(self.name)
        value = plain(self.value)
        if family_of(value) not in (int, float, str, bool) or (
            family_of(value) is float and not math.isfinite(value)
        ):
            raise space_error(
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
        value = plain(value)
        return family_of(value) is family_of(self.value) and value == self.value

    def from_unit(self, u: float) -> Value:
        return self.value

    def to_unit(self, value: Any) -> float:
        return 0.5

    def grid(self) -> tuple[Value, ...]:
        return (self.value,)

    def describe(self) -> str:
        return repr(self.value)
