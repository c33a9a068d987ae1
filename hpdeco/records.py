"""What a trial leaves in the store: its state (``TrialState``) and its frozen row
(``TrialRecord``). The bottom layer: the store, the samplers and the readers import it, and
it imports nothing of hpdeco."""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any


class TrialState(str, enum.Enum):
    """Where a trial stands. Finished states are COMPLETE, PRUNED and FAIL."""

    WAITING = "WAITING"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAIL = "FAIL"

    @property
    def is_finished(self) -> bool:
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)

    def __str__(self) -> str:
        return self.value


INTERRUPTED = "interrupted (KeyboardInterrupt)"
TERMINATED = "interrupted (SIGTERM)"
WORKER_LOST = "worker lost: its process ended while the trial was running"
RETRYABLE_REASONS = ("interrupted", "worker lost")
# Failures that are the configuration's own result (its training diverged): they count like
# any other result. Every other failure (an exception, a missing objective, an interrupt, a
# lost worker) may not recur once the code or the machine is fixed.
DIVERGED_REASONS = ("loss was ", "objective ", "value was set to ")


@dataclasses.dataclass(frozen=True)
class TrialRecord:
    """A trial as stored: what it tried, what it reported and how it ended."""

    number: int
    state: TrialState
    params: Mapping[str, Any]
    value: float | None
    intermediate_values: Mapping[int, float]
    metrics: Mapping[str, Mapping[int, float]]
    last_step: int | None = None
    reason: str | None = None
    traceback: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    # A trial with several runs (executions or folds): each finished run's value, by run.
    # Its ``intermediate_values`` and ``metrics`` are then the mean over the runs at each
    # step, ``run_metrics`` each run's own, and ``value`` the mean of the run values.
    run_values: Mapping[int, float | None] = dataclasses.field(default_factory=dict)
    run_metrics: Mapping[int, Mapping[str, Mapping[int, float]]] = dataclasses.field(
        default_factory=dict
    )
    refit: Mapping[str, Mapping[int, float]] | None = None  # the refit's curve, if any
    # One value per objective, in the study's order (``value`` is the first); a study of
    # one objective has ``(value,)``. Empty while running, and for a FAIL trial.
    values: tuple[float | None, ...] = ()
    # How far the trial is from meeting the study's constraints: None without constraints,
    # 0.0 when it meets them, above 0 when not (see hpdeco.constraints).
    violation: float | None = None

    @property
    def feasible(self) -> bool:
        """Meets the study's constraints (always, when there are none)."""
        return self.violation is None or self.violation <= 0.0

    @property
    def spread(self) -> tuple[float, float, float] | None:
        """(std, min, max) of the run values when there are two or more finite ones."""
        values = [v for v in self.run_values.values() if v is not None and math.isfinite(v)]
        if len(values) < 2:
            return None
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
        return std, min(values), max(values)

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, or None while running."""
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    @property
    def retryable(self) -> bool:
        """Failed for a reason outside its configuration (interrupted, worker lost), so the
        same configuration may be tried again."""
        return self.state is TrialState.FAIL and (self.reason or "").startswith(RETRYABLE_REASONS)

    @property
    def diverged(self) -> bool:
        """FAIL because its objective, loss or value was NaN or infinite."""
        return self.state is TrialState.FAIL and (self.reason or "").startswith(DIVERGED_REASONS)

    @property
    def best_step(self) -> int | None:
        """The step whose reported objective became the trial's value (see
        :meth:`value_step`), for the default ``trial_value="best"``."""
        return self.value_step()

    def value_step(self, trial_value: str | None = "best") -> int | None:
        """The step whose reported objective became the trial's value, or None when no
        reported step has it (the value was set directly, ``trial.value = ...``).

        A PRUNED trial's value is the one at the step where it was stopped, and with
        ``trial_value="last"`` the one at its last step, even when an earlier step reported
        the same number; otherwise it is the first step that reached the value.
        """
        if self.value is None:
            return None
        curve = self.intermediate_values
        if self.state is TrialState.PRUNED or trial_value == "last":
            step = self.last_step
            if step is not None and curve.get(step) == self.value:
                return step
        return next((step for step in sorted(curve) if curve[step] == self.value), None)

    def __str__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        value = "-" if self.value is None else f"{self.value:.6g}"
        return f"trial {self.number} {self.state.value} value={value} ({params})"


def ranked(records: Iterable[TrialRecord], direction: str) -> list[TrialRecord]:
    """The feasible COMPLETE trials with a value, best first. Among equal values the lower
    trial number ranks first: the one tie rule that ``best``, the kept weights, the plots, the
    command line and the exports all follow.

    >>> ranked(study.finished, "max")[0].number
    """
    return sorted(_complete(records), key=_rank_key(direction))


def best(records: Iterable[TrialRecord], direction: str) -> TrialRecord | None:
    """The first of :func:`ranked`, or None."""
    return min(_complete(records), key=_rank_key(direction), default=None)


def _complete(records: Iterable[TrialRecord]) -> list[TrialRecord]:
    return [
        r
        for r in records
        if r.state is TrialState.COMPLETE
        and r.value is not None
        and math.isfinite(r.value)
        and r.feasible
    ]


def _rank_key(direction: str) -> Callable[[TrialRecord], tuple[float, int]]:
    sign = -1.0 if direction == "max" else 1.0
    return lambda r: (sign * (r.value or 0.0), r.number)
