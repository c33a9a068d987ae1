"""The Pareto front of a study of several objectives (:func:`plot_pareto`): two objectives
as one scatter with the front drawn as a staircase, three or more as a scatter per pair."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from hpdeco.analysis import as_study
from hpdeco.errors import UsageError
from hpdeco.pareto import candidates, pareto_front
from hpdeco.plots.base import BEST, COLORS, finite, new_figure
from hpdeco.records import TrialRecord, TrialState

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from hpdeco.search import Search
    from hpdeco.study import Study

INFEASIBLE = "0.6"


def plot_pareto(source: Study | Search) -> Figure:
    """Every COMPLETE trial by its values on the objectives, the Pareto front highlighted
    (green, joined as a staircase with two objectives), infeasible trials grey crosses.

    >>> plot_pareto(hpdeco.load_study("sizes")).savefig("pareto.png")
    """
    study = as_study(source)
    objectives = study.objectives
    if len(objectives) < 2:
        raise UsageError(
            f"study {study.name!r} has one objective ({study.objective}): no Pareto front to "
            "plot; see plot_history"
        )
    trials = study.trials
    front = pareto_front(trials, study.directions)
    feasible = candidates(trials, len(objectives))
    infeasible = [
        t
        for t in trials
        if t.state is TrialState.COMPLETE
        and not t.feasible
        and len(t.values) == len(objectives)
        and all(finite(v) for v in t.values)
    ]
    pairs = list(itertools.combinations(range(len(objectives)), 2))
    columns = min(3, len(pairs))
    rows = -(-len(pairs) // columns)
    fig = new_figure(5.0 * columns + 1, 4.2 * rows)
    fig.suptitle(
        f"Pareto front of study {study.name!r}: {len(front)} of {len(feasible)} feasible "
        f"COMPLETE trials"
    )
    for k, (i, j) in enumerate(pairs):
        ax = fig.add_subplot(rows, columns, k + 1)
        _pair(ax, study, i, j, feasible, infeasible, front)
    return fig


def _pair(
    ax: Axes,
    study: Study,
    i: int,
    j: int,
    feasible: list[TrialRecord],
    infeasible: list[TrialRecord],
    front: list[TrialRecord],
) -> None:
    names = study.objectives

    def xy(trials: list[TrialRecord]) -> tuple[list[float], list[float]]:
        return [t.values[i] or 0.0 for t in trials], [t.values[j] or 0.0 for t in trials]

    on_front = {t.number for t in front}
    rest = [t for t in feasible if t.number not in on_front]
    ax.scatter(*xy(rest), color=COLORS[TrialState.COMPLETE], s=18, label=f"feasible ({len(rest)})")
    if infeasible:
        ax.scatter(
            *xy(infeasible),
            color=INFEASIBLE,
            marker="x",
            s=18,
            label=f"infeasible ({len(infeasible)})",
        )
    if front:
        ax.scatter(*xy(front), color=BEST, s=30, zorder=3, label=f"Pareto front ({len(front)})")
        if len(names) == 2:
            xs, ys = xy(sorted(front, key=lambda t: t.values[i] or 0.0))
            # The edge of what the front attains: between two of its points, the value of
            # the one that is better on x.
            if names[i].direction == "max":
                ax.step(xs, ys, where="pre", color=BEST, linewidth=1)
            else:
                ax.step(xs, ys, where="post", color=BEST, linewidth=1)
    for axis, index in ((ax.set_xlabel, i), (ax.set_ylabel, j)):
        name, direction = names[index]
        axis(f"{name} ({'higher' if direction == 'max' else 'lower'} is better)")
    ax.legend(fontsize="small")
