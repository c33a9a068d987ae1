"""A trial's values when a study has several objectives or constraints, and the peers its
pruner compares it with.

- **Values.** The first objective gives the trial its value as with one objective (its best
  or last reported value, or the one set). Every other objective, and every value a
  constraint reads, is the one set with ``trial.set_value(name, value)`` (the Keras
  callback sets ``params``, ``model_bytes`` and ``latency_ms``), else the one reported at
  the step that gave the first objective its value (the latest reported before it when
  that step lacks it), so a trial's values all describe the same epoch. With several runs,
  each value is the mean over the runs.
- **Pruning.** The pruner watches the first objective's curve. It compares the trial only
  with its peers: the finished trials at least as good as it on every other objective whose
  value it already has (set before training, such as the parameter count). A trial behind
  most of those on the first objective is likely dominated, so it is stopped; a model
  smaller than every finished one has no peers and is never pruned for its accuracy. The
  pruner's ``n_startup_trials`` still counts the whole study's COMPLETE trials. The median
  and percentile pruners (the default) also stop a trial projected to end dominated
  (:func:`ends_dominated`): ahead of most of its peers, but behind the best of them by
  more than the COMPLETE trials went on to gain.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hpdeco.pareto import signed

if TYPE_CHECKING:
    from hpdeco.records import TrialRecord
    from hpdeco.study import Study
    from hpdeco.trial import Trial


def followed(study: Study) -> frozenset[str]:
    """The names, besides the first objective, whose reported values a trial keeps."""
    return frozenset(o.name for o in study.objectives[1:]) | frozenset(study.constraints.names)


def at_step(curve: Mapping[int, float], step: int | None) -> float | None:
    """The value at ``step``, else the latest reported before it, else None."""
    if not curve:
        return None
    if step is not None and step in curve:
        return curve[step]
    earlier = [s for s in curve if step is None or s <= step]
    return curve[max(earlier)] if earlier else None


def values_at(
    study: Study,
    first: float | None,
    curves: Mapping[str, Mapping[int, float]],
    given: Mapping[str, float],
    step: int | None,
) -> dict[str, float | None]:
    """Every followed name's value for one run (see the module's rule), the first
    objective's included."""
    values: dict[str, float | None] = {study.objectives[0].name: first}
    for name in followed(study):
        values[name] = given[name] if name in given else at_step(curves.get(name, {}), step)
    return values


def mean_values(runs: list[dict[str, float | None]]) -> dict[str, float | None]:
    """Each name's mean over the runs that have a finite value for it."""
    names = {name for run in runs for name in run}
    means: dict[str, float | None] = {}
    for name in names:
        found = [v for run in runs if (v := run.get(name)) is not None and math.isfinite(v)]
        means[name] = sum(found) / len(found) if found else None
    return means


def objective_values(study: Study, values: Mapping[str, float | None]) -> tuple[float | None, ...]:
    """The values to store per objective: empty for a study of one objective (its value is
    the trial's)."""
    if len(study.objectives) < 2:
        return ()
    return tuple(values.get(o.name) for o in study.objectives)


def violation(study: Study, values: Mapping[str, float | None]) -> float | None:
    if not study.constraints:
        return None
    finite = {k: v for k, v in values.items() if v is not None and math.isfinite(v)}
    return study.constraints.violation(finite)


class _Peers:
    """The study as a pruner sees it for one trial: ``finished`` holds its peers only."""

    def __init__(self, study: Study, keep: Any) -> None:
        self._study = study
        self.whole = study  # what n_startup_trials counts (hpdeco.pruners._common.started)
        self._keep = keep
        self.store = _PeerStore(self)

    @property
    def finished(self) -> list[TrialRecord]:
        return [r for r in self._study.finished if self._keep(r)]

    def refresh(self) -> list[TrialRecord]:
        return [r for r in self._study.refresh() if self._keep(r)]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)


class _PeerStore:
    """The store, with ``values_at`` (what ASHA and Hyperband read) limited to the peers."""

    def __init__(self, peers: _Peers) -> None:
        self._peers = peers

    def values_at(self, study_id: int, name: str, step: int) -> dict[int, float]:
        numbers = {r.number for r in self._peers.finished}
        found = self._peers._study.store.values_at(study_id, name, step)
        return {n: v for n, v in found.items() if n in numbers}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._peers._study.store, name)


class _AsSeenByPruner:
    """The trial with ``study`` replaced by its peers."""

    def __init__(self, trial: Trial, study: _Peers) -> None:
        self._trial = trial
        self.study = study

    def __getattr__(self, name: str) -> Any:
        return getattr(self._trial, name)


def for_pruner(trial: Trial, given: Mapping[str, float]) -> Any:
    """``trial`` itself, or, when the study has several objectives and the trial already
    has values on some besides the first, the trial as seen against its peers."""
    study = trial.study
    known = [
        (i, o.direction, given[o.name])
        for i, o in enumerate(study.objectives)
        if i > 0 and o.name in given and math.isfinite(given[o.name])
    ]
    if not known:
        return trial

    def as_good(record: TrialRecord) -> bool:
        for index, direction, mine in known:
            if index >= len(record.values):
                return False
            theirs = record.values[index]
            if theirs is None or not math.isfinite(theirs):
                return False
            if signed([theirs], [direction])[0] > signed([mine], [direction])[0]:
                return False
        return True

    return _AsSeenByPruner(trial, _Peers(study, as_good))


# The projection rule (see ``ends_dominated``): the share of COMPLETE trials' later gains that
# the projection assumes, and how many gains it needs.
GAIN_PERCENTILE = 90.0
MIN_GAINS = 3


def ends_dominated(trial: Any, complete: list[TrialRecord], step: int) -> bool:
    """Whether ``trial``, as the median and percentile pruners see it (its study holding
    its peers, see ``for_pruner``) at ``step``, is projected to end dominated: even its best
    first-objective value so far plus the ``GAIN_PERCENTILE``-th percentile of what the
    study's COMPLETE trials gained after ``step`` stays behind the best final value of a
    feasible peer in ``complete`` (the COMPLETE peers, fresh). Always False with one
    objective, or before the trial has a value on another objective.

    The pruner's gates (startup trials, warm-up, interval) apply first. The median rule
    stops trials behind most of their peers; near the front most trials are ahead of the
    median of the smaller models (the weak ones of the first trials count) yet end behind
    the best of them, adding nothing to the front. This rule stops those.
    """
    from hpdeco.pruners._common import best_upto, reached
    from hpdeco.pruners.percentile import _percentile
    from hpdeco.records import TrialState

    if not isinstance(trial.study, _Peers):
        return False
    # The peers view stands in for the study in the pruners' helpers (it exposes what they read).
    peers: Any = trial.study
    mine = best_upto(peers, trial.intermediate_values, step)
    if mine is None:
        return False

    def final(record: TrialRecord) -> float | None:
        return best_upto(peers, record.intermediate_values, max(record.intermediate_values))

    sign = 1.0 if peers.direction == "max" else -1.0
    gains = []
    for record in peers.whole.finished:
        if record.state is not TrialState.COMPLETE or not reached(record, step):
            continue
        now, end = best_upto(peers, record.intermediate_values, step), final(record)
        if now is not None and end is not None:
            gains.append(sign * (end - now))
    if len(gains) < MIN_GAINS:
        return False
    optimistic = mine + sign * _percentile(sorted(gains), GAIN_PERCENTILE)
    # An infeasible trial is never on the front, so it dominates nothing here.
    finals = [
        v for r in complete if r.feasible and r.intermediate_values and (v := final(r)) is not None
    ]
    return bool(finals) and peers.is_better(peers.best_of(finals), optimistic)
