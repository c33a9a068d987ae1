"""Hyperparameter specifications (``Int``, ``Float``, ``Choice``, ``Boolean``, ``Fixed``), ``hp``.

Each specification validates itself when built, knows its default, and maps values to and
from the unit interval so that samplers can work on ``[0, 1]`` whatever the parameter.

``hp`` is the accessor used inside model-building code::

    units = hp.Int("units", 16, 256, step=16)

Outside a trial it returns the default; inside one it asks the running trial, found through a
context variable, so ``hp.*`` works anywhere a trial is running.
"""

from __future__ import annotations

from typing import Any

from hpdeco.space._base import INT_LIMIT, SAMPLINGS, Param, Sampling, Value
from hpdeco.space.accessor import HyperParameters, Suggester, current_trial, hp, in_flight
from hpdeco.space.choices import Boolean, Choice, Fixed
from hpdeco.space.numeric import Float, Int

_TYPES: dict[str, type[Param]] = {cls.__name__: cls for cls in (Int, Float, Choice, Boolean, Fixed)}


def param_from_dict(data: dict[str, Any]) -> Param:
    """Rebuild a specification stored with :meth:`Param.to_dict`."""
    fields = dict(data)
    cls = _TYPES[fields.pop("type")]
    if "values" in fields and fields["values"] is not None:
        fields["values"] = tuple(fields["values"])
    return cls(**fields)


__all__ = [
    "INT_LIMIT",
    "SAMPLINGS",
    "Boolean",
    "Choice",
    "Fixed",
    "Float",
    "HyperParameters",
    "Int",
    "Param",
    "Sampling",
    "Suggester",
    "Value",
    "current_trial",
    "hp",
    "in_flight",
    "param_from_dict",
]
