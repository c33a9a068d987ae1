"""The threshold pruner: stop a trial whose latest value leaves fixed bounds, or is NaN."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hpdeco.errors import ConfigError
from hpdeco.pruners._common import crossed, current_step
from hpdeco.validate import check_int, check_number

if TYPE_CHECKING:
    from hpdeco.trial import Trial


class ThresholdPruner:
    """Prune when the value at the trial's latest step is below ``lower``, above ``upper``,
    or not a finite number (NaN, inf).

    Bounds are absolute, whatever the study's direction: ``ThresholdPruner(lower=0.5)`` on
    ``val_accuracy`` stops trials still under 50 %, ``ThresholdPruner(upper=2.0)`` on
    ``val_loss`` stops diverging ones. With neither bound it prunes only non-finite values.
    The first ``n_warmup_steps`` steps are never pruned; after them the check runs every
    ``interval_steps`` steps (as :class:`PercentilePruner`).

    Through ``trial.report`` a non-finite objective already fails the trial (FAIL, not
    PRUNED) before any pruner is asked; the NaN rule matters when the pruner is called
    directly or wrapped.
    """

    def __init__(
        self,
        *,
        lower: float | None = None,
        upper: float | None = None,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
    ) -> None:
        name = type(self).__name__
        self.lower = None if lower is None else check_number(name, "lower", lower)
        self.upper = None if upper is None else check_number(name, "upper", upper)
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ConfigError(f"{name}(lower={lower!r}, upper={upper!r}): lower must be <= upper")
        self.n_warmup_steps = check_int(name, "n_warmup_steps", n_warmup_steps, minimum=0)
        self.interval_steps = check_int(name, "interval_steps", interval_steps, minimum=1)

    def should_prune(self, trial: Trial) -> bool:
        step = current_step(trial)
        if step is None or step <= self.n_warmup_steps:
            return False
        checkpoints = range(self.n_warmup_steps + 1, step + 1, self.interval_steps)
        if crossed(trial.intermediate_values, step, checkpoints) is None:
            return False
        value = trial.intermediate_values[step]
        if value is None or not math.isfinite(value):
            return True
        if self.lower is not None and value < self.lower:
            return True
        return self.upper is not None and value > self.upper

    def __repr__(self) -> str:
        return (
            f"ThresholdPruner(lower={self.lower}, upper={self.upper}, "
            f"n_warmup_steps={self.n_warmup_steps}, interval_steps={self.interval_steps})"
        )
