"""How the search went: every trial's value by trial number (:func:`plot_history`), and
every trial's metric epoch by epoch (:func:`plot_learning_curves`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hpdeco.analysis import as_study, best_so_far
from hpdeco.plots.base import (
    BEST,
    COLORS,
    best_trial,
    better,
    empty,
    finite,
    integer_ticks,
    new_figure,
    ring,
    values,
)
from hpdeco.records import TrialRecord, TrialState

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from hpdeco.search import Search
    from hpdeco.study import Study


def plot_history(source: Study | Search) -> Figure:
    """Each trial's value by trial number, and the best value so far.

    COMPLETE trials are dots; PRUNED ones are crosses at the value they had when stopped
    (after fewer epochs, so not quite comparable); FAIL trials have no value and show as
    ticks along the bottom.

    >>> plot_history(hpdeco.load_study("quickstart")).savefig("history.png")
    """
    study = as_study(source)
    trials = study.trials
    fig = new_figure()
    ax = fig.add_subplot()
    ax.set_title(f"Optimisation history of study {study.name!r} ({len(trials)} trials)")
    ax.set_xlabel("trial number")
    ax.set_ylabel(f"{study.objective} ({better(study)})")
    integer_ticks(ax.xaxis)
    with_value = [t for t in trials if finite(t.value)]
    if not with_value:
        empty(ax, "no trial has a value yet")
        return fig
    done = [t for t in with_value if t.state is TrialState.COMPLETE]
    pruned = [t for t in with_value if t.state is TrialState.PRUNED]
    failed = [t for t in trials if t.state is TrialState.FAIL]
    if done:
        ax.scatter(
            [t.number for t in done],
            values(done),
            color=COLORS[TrialState.COMPLETE],
            label=f"COMPLETE ({len(done)})",
            zorder=3,
        )
    if pruned:
        ax.scatter(
            [t.number for t in pruned],
            values(pruned),
            color=COLORS[TrialState.PRUNED],
            marker="x",
            label=f"PRUNED ({len(pruned)}), value when stopped",
            zorder=3,
        )
    if failed:
        ax.scatter(
            [t.number for t in failed],
            [0.02] * len(failed),
            transform=ax.get_xaxis_transform(),
            color=COLORS[TrialState.FAIL],
            marker="|",
            s=200,
            label=f"FAIL ({len(failed)}), no value",
            zorder=3,
        )
    steps = best_so_far(trials, study.direction)
    if steps:
        last = max(t.number for t in trials)
        xs = [n for n, _ in steps] + [last]
        ys = [v for _, v in steps] + [steps[-1][1]]
        best = best_trial(study, trials)
        assert best is not None
        ax.step(
            xs,
            ys,
            where="post",
            color=BEST,
            linewidth=2,
            zorder=2,
            label=f"best so far (best: trial {best.number}, {best.value:.4g})",
        )
        ring(ax, best.number, best, 160)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    return fig


# -- learning curves --------------------------------------------------------------------------


def plot_learning_curves(source: Study | Search, metric: str | None = None) -> Figure:
    """Every trial's ``metric`` (default: the objective) per epoch, one line per trial.

    The best trial is drawn thick; PRUNED trials end in a cross at the epoch where they
    were stopped; FAIL trials are dotted.

    >>> plot_learning_curves(study, "val_loss").savefig("curves.png")
    """
    study = as_study(source)
    metric = metric or study.objective
    trials = study.trials
    fig = new_figure()
    ax = fig.add_subplot()
    curves = [(t, t.metrics.get(metric, {})) for t in trials]
    curves = [(t, c) for t, c in curves if any(finite(v) for v in c.values())]
    ax.set_title(f"Learning curves of study {study.name!r}: {metric} per epoch")
    ax.set_xlabel("epoch (reported step)")
    direction = f" ({better(study)})" if metric == study.objective else ""
    ax.set_ylabel(metric + direction)
    integer_ticks(ax.xaxis)
    if not curves:
        known = sorted({m for t in trials for m in t.metrics})
        empty(
            ax,
            f"no trial reported {metric!r}"
            + (f"\n(reported: {', '.join(known)})" if known else ""),
        )
        return fig
    best = best_trial(study, trials)
    labelled: set[str] = set()

    def label(key: str, text: str) -> str | None:
        if key in labelled:
            return None
        labelled.add(key)
        return text

    for trial, curve in curves:
        if best is not None and trial.number == best.number:
            continue  # drawn last, on top
        steps = sorted(s for s, v in curve.items() if finite(v))
        group, text, style = _curve_style(trial, steps)
        ax.plot(steps, [curve[s] for s in steps], label=label(group, text), **style)
    if best is not None:
        curve = best.metrics.get(metric, {})
        steps = sorted(s for s, v in curve.items() if finite(v))
        if steps:
            at = best.best_step if best.best_step in steps else steps[-1]
            ax.plot(
                steps,
                [curve[s] for s in steps],
                color=BEST,
                linewidth=2.5,
                marker="o",
                markevery=[steps.index(at)] if metric == study.objective else [],
                markersize=7,
                label=f"best: trial {best.number}"
                + (f" (dot: its value, epoch {at})" if metric == study.objective else ""),
                zorder=4,
            )
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    return fig


def _curve_style(trial: TrialRecord, steps: list[int]) -> tuple[str, str, dict[str, Any]]:
    """How the curve of a trial other than the best is drawn: its legend group (one entry
    each), the entry's text, and the keyword arguments of ``ax.plot``."""
    if trial.state is TrialState.PRUNED:
        return (
            "pruned",
            "PRUNED (x: where it was stopped)",
            {
                "color": COLORS[TrialState.PRUNED],
                "alpha": 0.8,
                "linewidth": 1,
                "marker": "x",
                "markevery": [len(steps) - 1],  # a cross at the epoch where it was stopped
                "markersize": 8,
                "mew": 2,
            },
        )
    if trial.state is TrialState.FAIL:
        return "fail", "FAIL", {"linestyle": ":", "color": COLORS[TrialState.FAIL], "alpha": 0.8}
    if trial.state is TrialState.COMPLETE:
        return (
            "complete",
            "COMPLETE",
            {
                "color": COLORS[TrialState.COMPLETE],
                "alpha": 0.5,
                "linewidth": 1,
                "marker": "." if len(steps) < 3 else None,
            },
        )
    style = {"linestyle": "--", "color": COLORS[TrialState.RUNNING], "alpha": 0.8}
    return "running", trial.state.value, style
