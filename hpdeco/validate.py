"""Checking arguments, in one message style: where, the argument and its value, the rule,
and the fix.

>>> check_int("hpdeco.search", "max_trials", 0, minimum=1, optional=True)
ConfigError: hpdeco.search(max_trials=0): max_trials must be an int >= 1 (or None)
"""

from __future__ import annotations

import math
from typing import Any

from hpdeco.errors import ConfigError


def fail(where: str, name: str, value: Any, rule: str, fix: str = "") -> ConfigError:
    """The error for ``where(name=value)`` breaking ``rule``; ``fix`` says what to pass."""
    return ConfigError(
        f"{where}({name}={value!r}): {name} must be {rule}" + (f"; {fix}" if fix else "")
    )


def check_int(
    where: str,
    name: str,
    value: Any,
    *,
    minimum: int = 0,
    maximum: int | None = None,
    optional: bool = False,
    fix: str = "",
) -> Any:
    """``value`` if it is an int (not a bool) in ``[minimum, maximum]``, or None when
    ``optional``; else a :class:`ConfigError`."""
    if value is None and optional:
        return None
    ok = not isinstance(value, bool) and isinstance(value, int) and value >= minimum
    if ok and maximum is not None:
        ok = value <= maximum
    if not ok:
        rule = f"an int >= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
        raise fail(where, name, value, rule + (" (or None)" if optional else ""), fix)
    return value


def check_number(
    where: str,
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict: bool = False,
    optional: bool = False,
    fix: str = "",
) -> Any:
    """``value`` as a float if it is a finite real number within the bounds (``strict``:
    above ``minimum``), or None when ``optional``; else a :class:`ConfigError`."""
    if value is None and optional:
        return None
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if ok and minimum is not None:
        ok = value > minimum if strict else value >= minimum
    if ok and maximum is not None:
        ok = value <= maximum
    if not ok:
        bounds = []
        if minimum is not None:
            bounds.append(f"{'>' if strict else '>='} {minimum:g}")
        if maximum is not None:
            bounds.append(f"<= {maximum:g}")
        rule = "a finite number" + (" " + " and ".join(bounds) if bounds else "")
        raise fail(where, name, value, rule + (" (or None)" if optional else ""), fix)
    return float(value)


def check_choice(where: str, name: str, value: Any, choices: tuple[Any, ...], fix: str = "") -> Any:
    """``value`` if it is one of ``choices``; else a :class:`ConfigError`."""
    if isinstance(value, bool) or value not in choices:
        rule = "one of " + ", ".join(repr(c) for c in choices)
        raise fail(where, name, value, rule, fix)
    return value
