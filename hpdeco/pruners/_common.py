"""Shared helpers of the pruners: reading curves, checking options, direction-aware ranking.

Every pruner here decides from two things only: the running trial's reported values and
what the store holds (``study.finished`` after :meth:`~hpdeco.study.Study.refresh`, and
``store.values_at``). Nothing is remembered between calls, so a restarted process or a
second worker asked about the same stored values gives the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from hpdeco.records import TrialRecord, TrialState

if TYPE_CHECKING:
    from hpdeco.study import Study
    from hpdeco.trial import Trial


def finite_curve(curve: Mapping[int, float]) -> dict[int, float]:
    """The steps of ``curve`` whose value is a finite number."""
    return {s: v for s, v in curve.items() if v is not None and math.isfinite(v)}


def current_step(trial: Trial) -> int | None:
    """The largest step the trial has reported (steps may arrive out of order)."""
    values = trial.intermediate_values
    return max(values) if values else None


def previous_step(curve: Mapping[int, float], step: int) -> int:
    """The largest reported step below ``step``; 0 when there is none."""
    below = [s for s in curve if s < step]
    return max(below) if below else 0


def best(study: Study, values: Iterable[float]) -> float | None:
    values = list(values)
    return study.best_of(values) if values else None


def best_upto(study: Study, curve: Mapping[int, float], step: int) -> float | None:
    """The best finite value reported at a step ``<= step``, or None."""
    return best(study, (v for s, v in finite_curve(curve).items() if s <= step))


def reached(record: TrialRecord, step: int) -> bool:
    return bool(record.intermediate_values) and max(record.intermediate_values) >= step


def completed(study: Study) -> list[TrialRecord]:
    """The COMPLETE trials, fresh from the store: the ones the median compares against (a
    FAIL trial's curve says nothing reliable about its configuration, and a PRUNED one was
    stopped for being below the cutoff, see :class:`~hpdeco.pruners.PercentilePruner`)."""
    study.refresh()
    return [r for r in study.finished if r.state is TrialState.COMPLETE]


def started(study: Study) -> int:
    """How many trials of the whole study have COMPLETEd: what ``n_startup_trials`` waits
    for. With several objectives a pruner sees only a trial's peers (hpdeco.multi) in
    ``study.finished``; the study's own trials still decide when pruning may start."""
    whole = getattr(study, "whole", study)
    return sum(r.state is TrialState.COMPLETE for r in whole.finished)


def crossed(curve: Mapping[int, float], step: int, checkpoints: Iterable[int]) -> int | None:
    """The largest checkpoint ``c`` with ``previous step < c <= step``: a step that reports
    sparsely (every 2nd epoch, say) still meets every checkpoint it passes."""
    previous = previous_step(curve, step)
    hits = [c for c in checkpoints if previous < c <= step]
    return max(hits) if hits else None


def keep_count(n: int, reduction_factor: float) -> int:
    """How many of ``n`` values at a rung go on: the top ``n / reduction_factor``, at least 1."""
    return max(1, int(n // reduction_factor))


def in_top(study: Study, value: float, values: list[float], keep: int) -> bool:
    """Whether ``value`` is at least as good as the ``keep``-th best of ``values``."""
    ranked = sorted(values, reverse=study.direction == "max")
    cutoff = ranked[min(keep, len(ranked)) - 1]
    return not study.is_better(cutoff, value)
