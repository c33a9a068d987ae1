"""Constraints on a trial's values: ``constraints={"params": ("<=", 1_000_000)}`` or a
function of the values. A trial that breaks one is kept and marked infeasible (its
violation is above 0), and is never the best trial nor on the Pareto front."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from hpdeco.errors import ConfigError

OPERATORS = ("<=", ">=")


class Constraints:
    """How far a trial's values are from satisfying every constraint: 0.0 when they all
    hold, else the sum of the amounts by which each is broken (``inf`` when a constrained
    value is missing or not finite).

    ``constraints`` is a mapping of value name to ``("<=", bound)`` or ``(">=", bound)``, or a
    function of the values (a dict of name -> number) returning True when feasible, or a
    number that is at most 0 when feasible (its positive part is the violation).
    """

    def __init__(self, constraints: Mapping[str, Any] | Callable[..., Any] | None) -> None:
        self.function: Callable[[dict[str, float]], Any] | None = None
        self.bounds: dict[str, tuple[str, float]] = {}
        if constraints is None:
            return
        if callable(constraints) and not isinstance(constraints, Mapping):
            self.function = constraints
            return
        if not isinstance(constraints, Mapping) or not constraints:
            raise ConfigError(
                f"constraints={constraints!r} must be a dict such as "
                "{'params': ('<=', 1_000_000)} or a function of the trial's values"
            )
        for name, rule in constraints.items():
            if not (
                isinstance(name, str)
                and isinstance(rule, (tuple, list))
                and len(rule) == 2
                and rule[0] in OPERATORS
                and isinstance(rule[1], (int, float))
                and not isinstance(rule[1], bool)
                and math.isfinite(rule[1])
            ):
                raise ConfigError(
                    f"constraints={{{name!r}: {rule!r}}}: each constraint is a value name and "
                    "('<=' or '>=', a finite number), e.g. {'params': ('<=', 1_000_000)}"
                )
            self.bounds[name] = (rule[0], float(rule[1]))

    def __bool__(self) -> bool:
        return self.function is not None or bool(self.bounds)

    @property
    def names(self) -> list[str]:
        """The value names the constraints read (none known for a function)."""
        return list(self.bounds)

    def violation(self, values: Mapping[str, float]) -> float | None:
        """0.0 when feasible, above 0 by how much not; None without constraints."""
        if not self:
            return None
        if self.function is not None:
            return _from_result(self.function(dict(values)))
        total = 0.0
        for name, (operator, bound) in self.bounds.items():
            value = values.get(name)
            if value is None or not math.isfinite(value):
                return math.inf
            total += max(0.0, value - bound if operator == "<=" else bound - value)
        return total

    def describe(self) -> Any:
        """What the store keeps of them (a function only by its name)."""
        if self.function is not None:
            return getattr(self.function, "__qualname__", repr(self.function))
        return {name: list(rule) for name, rule in self.bounds.items()}


def _from_result(result: Any) -> float:
    if isinstance(result, bool):
        return 0.0 if result else 1.0
    try:
        number = float(result)
    except (TypeError, ValueError):
        raise ConfigError(
            f"constraints function returned {result!r}; return True/False, or a number that "
            "is at most 0 when the trial is feasible"
        ) from None
    return math.inf if math.isnan(number) else max(0.0, number)
