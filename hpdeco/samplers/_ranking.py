"""The finished trials of a study ranked for the multi-objective samplers (NSGA-II, MOTPE):
NSGA-II's constrained crowded comparison, computed with numpy from ``study.finished``.

Only COMPLETE trials with a finite value on every objective are ranked: a PRUNED trial's
values are partial (the first objective stopped early), so it is neither a parent nor a
*good* trial (MOTPE counts it among the others). The order, best first:

1. feasible trials (no constraints, or violation 0) before infeasible ones;
2. feasible ones by non-dominated front (the Pareto front is front 0), and within a front
   by crowding distance, larger first (the ends of each objective first), then by number;
3. infeasible ones by violation, smaller first, then by number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hpdeco.records import TrialRecord, TrialState


@dataclass(frozen=True)
class Ranking:
    """``rows``: positions in ``study.finished`` of the ranked trials, best first;
    ``fronts``: each of those rows' front (-1 for an infeasible one)."""

    rows: list[int]
    fronts: list[int]


def rank_finished(
    records: Sequence[TrialRecord], directions: Sequence[str], limit: int | None = None
) -> Ranking:
    """The ranked trials of ``records`` (see the module's rule). With ``limit``, only the
    first ``limit`` are ranked exactly: the fronts past the one that reaches ``limit`` are
    not told apart (they share one front number and follow in crowding order)."""
    count = len(directions)
    feasible: list[int] = []
    infeasible: list[int] = []
    for row, record in enumerate(records):
        if record.state is not TrialState.COMPLETE or len(record.values) != count:
            continue
        if not all(v is not None and math.isfinite(v) for v in record.values):
            continue
        (feasible if record.feasible else infeasible).append(row)
    signs = np.array([-1.0 if d == "max" else 1.0 for d in directions])
    points = np.array([records[r].values for r in feasible], dtype=float).reshape(-1, count)
    points = points * signs
    fronts = nondominated_fronts(points, limit)
    crowding = np.zeros(len(feasible))
    for level in np.unique(fronts):
        members = np.flatnonzero(fronts == level)
        crowding[members] = crowding_distance(points[members])
    order = sorted(range(len(feasible)), key=lambda i: (fronts[i], -crowding[i], feasible[i]))
    infeasible.sort(key=lambda r: (records[r].violation or 0.0, r))
    return Ranking(
        rows=[feasible[i] for i in order] + infeasible,
        fronts=[int(fronts[i]) for i in order] + [-1] * len(infeasible),
    )


def nondominated_fronts(points: np.ndarray, limit: int | None = None) -> np.ndarray:
    """Each point's front (0 for the non-dominated), points (n, m) lower-is-better; the
    same result as :func:`hpdeco.pareto.nondominated_ranks`, in numpy. With ``limit``, the
    peeling stops once ``limit`` points have a front: the rest get the next number."""
    n = len(points)
    if n == 0:
        return np.zeros(0, dtype=int)
    no_worse = (points[:, None, :] <= points[None, :, :]).all(axis=2)
    better = (points[:, None, :] < points[None, :, :]).any(axis=2)
    beats = np.logical_and(no_worse, better)  # beats[i, j]: i dominates j
    beaten_by = beats.sum(axis=0)
    fronts = np.full(n, -1)
    level = 0
    current = beaten_by == 0
    while current.any():
        fronts[current] = level
        level += 1
        if limit is not None and (fronts >= 0).sum() >= limit:
            fronts[fronts < 0] = level
            return fronts
        beaten_by = beaten_by - beats[current].sum(axis=0)
        current = (beaten_by == 0) & (fronts < 0)
    return fronts


def crowding_distance(points: np.ndarray) -> np.ndarray:
    """NSGA-II's crowding distance of each point of one front: the sum over objectives of
    the gap between its neighbours, scaled by the front's range; the ends are infinite."""
    n, m = points.shape
    distance = np.zeros(n)
    if n <= 2:
        return np.full(n, math.inf)
    for k in range(m):
        order = np.argsort(points[:, k], kind="stable")
        column = points[order, k]
        span = column[-1] - column[0]
        distance[order[0]] = distance[order[-1]] = math.inf
        if span > 0:
            distance[order[1:-1]] += (column[2:] - column[:-2]) / span
    return distance
