"""The Pareto front of several objectives: the feasible COMPLETE trials that no other such
trial dominates. Derived from the stored trials whenever it is asked for, never stored.

One rule everywhere (``search.best_trials``, ``hpdeco pareto``, the plots, the dashboard):

- a trial is on the front when it is COMPLETE, feasible, has a finite value on every
  objective, and no other such trial is at least as good on every objective and better on
  one;
- trials with equal values on every objective: only the lowest-numbered is on the front
  (the tie rule of :func:`hpdeco.records.ranked`);
- the front is ordered best first on the first objective, then by trial number; its first
  trial is ``search.best``.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence

import numpy as np

from hpdeco.records import TrialRecord, TrialState


def signed(values: Sequence[float], directions: Sequence[str]) -> tuple[float, ...]:
    """The values turned so that lower is better on every objective."""
    return tuple(-v if d == "max" else v for v, d in zip(values, directions, strict=True))


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether ``a`` dominates ``b`` (both lower-is-better): no worse anywhere, better once."""
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(
        x < y for x, y in zip(a, b, strict=True)
    )


def candidates(records: Iterable[TrialRecord], count: int) -> list[TrialRecord]:
    """The trials that may be on a front of ``count`` objectives: COMPLETE, feasible, with
    a finite value on each."""
    return [
        r
        for r in records
        if r.state is TrialState.COMPLETE
        and r.feasible
        and len(r.values) == count
        and all(v is not None and math.isfinite(v) for v in r.values)
    ]


def pareto_front(records: Iterable[TrialRecord], directions: Sequence[str]) -> list[TrialRecord]:
    """The non-dominated feasible COMPLETE trials (see the module's rule), best first on the
    first objective."""
    pool = candidates(records, len(directions))
    keyed = sorted(((signed(_floats(r.values), directions), r.number, r) for r in pool), key=_order)
    if len(directions) == 2:
        # Sorted by the first objective, a point is on the front exactly when it beats
        # every point before it on the second.
        kept, lowest = [], math.inf
        for point, _number, record in keyed:
            if point[1] < lowest:
                kept.append(record)
                lowest = point[1]
        return kept
    front: list[tuple[tuple[float, ...], TrialRecord]] = []
    for point, _number, record in keyed:
        # Sorted lexicographically, a point can only be dominated (or equalled) by one
        # already on the front.
        if any(kept == point or dominates(kept, point) for kept, _ in front):
            continue
        front.append((point, record))
    return [record for _, record in front]


def _floats(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None]  # candidates() left no None


def _order(item: tuple[tuple[float, ...], int, TrialRecord]) -> tuple[tuple[float, ...], int]:
    return item[0], item[1]


def nondominated_ranks(points: Sequence[Sequence[float]]) -> list[int]:
    """Each point's front number (0 for the non-dominated, 1 for the next...), points
    lower-is-better (NSGA-II's non-dominated sort)."""
    count = len(points)
    beaten_by = [0] * count
    beats: list[list[int]] = [[] for _ in range(count)]
    for i in range(count):
        for j in range(i + 1, count):
            if dominates(points[i], points[j]):
                beats[i].append(j)
                beaten_by[j] += 1
            elif dominates(points[j], points[i]):
                beats[j].append(i)
                beaten_by[i] += 1
    ranks = [0] * count
    current = [i for i in range(count) if beaten_by[i] == 0]
    level = 0
    while current:
        following = []
        for i in current:
            ranks[i] = level
            for j in beats[i]:
                beaten_by[j] -= 1
                if beaten_by[j] == 0:
                    following.append(j)
        current, level = following, level + 1
    return ranks


def hypervolume(points: Sequence[Sequence[float]], reference: Sequence[float]) -> float:
    """The volume dominated by ``points`` (lower-is-better) and bounded by ``reference``:
    exact, by slicing along the last objective (fine for 2-4 objectives and a few hundred
    points)."""
    inside = [tuple(p) for p in points if all(x < r for x, r in zip(p, reference, strict=True))]
    if not inside:
        return 0.0
    if len(reference) == 1:
        return reference[0] - min(p[0] for p in inside)
    if len(reference) == 2:
        volume, bound = 0.0, reference[1]
        for x, y in sorted(inside):
            if y < bound:
                volume += (reference[0] - x) * (bound - y)
                bound = y
        return volume
    inside.sort(key=lambda p: p[-1])
    volume = 0.0
    for k, point in enumerate(inside):
        upper = inside[k + 1][-1] if k + 1 < len(inside) else reference[-1]
        if upper > point[-1]:
            volume += (upper - point[-1]) * hypervolume(
                [p[:-1] for p in inside[: k + 1]], reference[:-1]
            )
    return volume


# Past this many (points x cells), contributions are summed one point at a time instead.
GRID_CELLS = 1_000_000


def _dominance_grid(
    points: Sequence[Sequence[float]], reference: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """The box below ``reference`` cut into cells at every point's coordinates: which
    cells each point dominates, (k, cells) booleans, and each cell's volume (cells,).
    Exact for any front; its size is about k^(m+1), so meant for small sets (tens of
    points, 2-4 objectives)."""
    array = np.asarray(points, dtype=float).reshape(len(points), len(reference))
    ref = np.asarray(reference, dtype=float)
    inside = (array < ref).all(axis=1)
    corners = []
    widths = []
    for j in range(len(ref)):
        edges = np.unique(np.append(array[inside, j], ref[j]))
        corners.append(edges[:-1])
        widths.append(np.diff(edges))
    k = len(array)
    dominated = np.ones((k, *(len(c) for c in corners)), dtype=bool)
    volume = np.ones(tuple(len(c) for c in corners))
    for j, (corner, width) in enumerate(zip(corners, widths, strict=True)):
        shape = [1] * len(ref)
        shape[j] = len(corner)
        # A point dominates a cell when it is at or below the cell's lower corner.
        below = array[:, j, None] <= corner[None, :]
        dominated &= below.reshape(k, *shape)
        volume = volume * width.reshape(shape)
    dominated &= inside.reshape(k, *([1] * len(ref)))
    dominated = dominated.reshape(k, -1)
    volume = volume.reshape(-1)
    reached = dominated.any(axis=0)  # cells no point covers add nothing to any sum
    return dominated[:, reached], volume[reached]


def hypervolume_contributions(
    points: Sequence[Sequence[float]], reference: Sequence[float]
) -> list[float]:
    """Each point's exclusive hypervolume (lower-is-better): the volume that the set loses
    when that point alone is removed. A dominated point, a duplicate, or one outside the
    reference box adds nothing alone, so gets 0."""
    if not points:
        return []
    if len(points) * (len(points) + 1) ** len(reference) > GRID_CELLS:
        return [
            exclusive_volume(p, [q for j, q in enumerate(points) if j != i], reference)
            for i, p in enumerate(points)
        ]
    dominated, volume = _dominance_grid(points, reference)
    alone = dominated.sum(axis=0) == 1  # the cells that only one point covers
    return [float(v) for v in dominated.astype(float) @ np.where(alone, volume, 0.0)]


def greedy_hypervolume_subset(
    points: Sequence[Sequence[float]], reference: Sequence[float], count: int
) -> list[int]:
    """``count`` of ``points`` (lower-is-better) chosen one at a time, each the one that
    adds most hypervolume to those chosen before it (ties: the lower index); the indices,
    in the order chosen. Greedy is within (1 - 1/e) of the best subset and needs no search.

    Lazily: a point's gain only shrinks as others are chosen, so a gain computed earlier
    bounds it, and a point whose fresh gain still beats every other bound is the best one
    (usually a few hypervolumes per step instead of one per point)."""
    chosen: list[tuple[float, ...]] = []
    picked: list[int] = []
    # (-bound, index, step the bound was computed at), the best bound first.
    heap = [(-exclusive_volume(p, [], reference), i, 0) for i, p in enumerate(points)]
    heapq.heapify(heap)
    while heap and len(picked) < count:
        _, index, step = heapq.heappop(heap)
        if step == len(picked):  # fresh: no other point can add more
            picked.append(index)
            chosen.append(tuple(points[index]))
            continue
        gain = exclusive_volume(points[index], chosen, reference)
        heapq.heappush(heap, (-gain, index, len(picked)))
    return picked


def exclusive_volume(
    point: Sequence[float], others: Sequence[Sequence[float]], reference: Sequence[float]
) -> float:
    """The hypervolume that ``point`` adds to ``others`` (lower-is-better): its box up to
    ``reference`` less the part of it that ``others`` already dominate."""
    box = math.prod(max(r - x, 0.0) for x, r in zip(point, reference, strict=True))
    if box == 0.0 or not others:
        return box
    clipped = np.maximum(np.asarray(point, dtype=float), np.asarray(others, dtype=float))
    # Clipping to the box leaves most of them dominated by another: dropping those first
    # makes the hypervolume several times cheaper (its cost grows with the square).
    no_worse = (clipped[:, None, :] <= clipped[None, :, :]).all(axis=2)
    better = (clipped[:, None, :] < clipped[None, :, :]).any(axis=2)
    kept = clipped[~(no_worse & better).any(axis=0)]
    return box - hypervolume(kept.tolist(), reference)
