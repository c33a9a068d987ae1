"""The parameters against the value: one panel per parameter (:func:`plot_params`),
parallel coordinates (:func:`plot_parallel`), and each parameter's share of the value's
variance (:func:`plot_importance`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from hpdeco.analysis import as_study, param_importance
from hpdeco.plots.base import (
    best_trial,
    better,
    empty,
    integer_ticks,
    new_figure,
    param_kind,
    ring,
    scored,
    shown_params,
    values,
)
from hpdeco.records import TrialState

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from hpdeco.search import Search
    from hpdeco.study import Study


def plot_params(source: Study | Search) -> Figure:
    """One panel per parameter: each COMPLETE trial's value against that parameter's value,
    coloured by trial number (later trials lighter), the best trial ringed in green.
    Log-sampled parameters get a log axis; choices are spread over their values.

    >>> plot_params(study).savefig("params.png")
    """
    study = as_study(source)
    trials = scored(study)
    names = shown_params(study, trials)
    columns = min(3, max(1, len(names)))
    rows = max(1, math.ceil(len(names) / columns))
    fig = new_figure(4.0 * columns + 1.0, 3.3 * rows + 0.8)
    best = best_trial(study, trials)
    ringed = "" if best is None else f"; green ring: the best, trial {best.number}"
    fig.suptitle(
        f"{study.objective} ({better(study)}) against each parameter: "
        f"{len(trials)} COMPLETE trials of {study.name!r}{ringed}"
    )
    if not names:
        empty(fig.add_subplot(), "no COMPLETE trial with parameters yet")
        return fig
    axes = fig.subplots(rows, columns, squeeze=False, sharey=True)
    numbers = [t.number for t in trials]
    lo, hi = min(numbers), max(numbers)
    points = None
    for index, name in enumerate(names):
        ax = axes[index // columns][index % columns]
        have = [t for t in trials if t.params.get(name) is not None]
        kind, ordered = param_kind(study, name, [t.params.get(name) for t in have])
        if kind == "category":
            spread = {v: i for i, v in enumerate(ordered)}
            xs = [spread[t.params[name]] + _jitter(t.number) for t in have]
            ax.set_xticks(range(len(ordered)), [str(v) for v in ordered])
            ax.set_xlim(-0.5, len(ordered) - 0.5)
        else:
            xs = [t.params[name] for t in have]
            if kind == "log":
                ax.set_xscale("log")
        ys = values(have)
        points = ax.scatter(
            xs,
            ys,
            c=[t.number for t in have],
            cmap="viridis",
            vmin=lo,
            vmax=max(hi, lo + 1),
            s=30,
            zorder=3,
        )
        if best is not None and best in have:
            ring(ax, xs[have.index(best)], best, 140)
        if kind == "linear" and getattr(study.space.get(name), "kind", "") == "int":
            integer_ticks(ax.xaxis)
        missing = len(trials) - len(have)
        ax.set_title(name + (f"  ({missing} trials without it)" if missing else ""), fontsize=10)
        ax.set_xlabel(name + (" (log scale)" if kind == "log" else ""))
        if index % columns == 0:
            ax.set_ylabel(study.objective)
        ax.grid(alpha=0.3)
    for index in range(len(names), rows * columns):
        axes[index // columns][index % columns].set_visible(False)
    if points is not None:
        from matplotlib.ticker import MaxNLocator

        bar = fig.colorbar(points, ax=axes.ravel().tolist(), shrink=0.8)
        bar.set_label("trial number")
        bar.locator = MaxNLocator(integer=True)  # trial numbers are whole: no 0.5 ticks
        bar.update_ticks()
    return fig


def _jitter(number: int) -> float:
    """A small, repeatable horizontal offset so equal choices do not hide each other."""
    return ((number * 0.618034) % 1.0 - 0.5) * 0.3


# -- parallel coordinates ---------------------------------------------------------------------

ABSENT = -0.15  # where a trial without the parameter crosses its axis


def _scale(
    study: Study, name: str, drawn: list[Any]
) -> tuple[list[float], list[tuple[float, str]]]:
    """Positions in [0, 1] of the values ``drawn`` (NaN where absent) and tick (position,
    label) pairs."""
    kind, ordered = param_kind(study, name, drawn)
    if kind == "category":
        span = max(1, len(ordered) - 1)
        spread = {v: i / span for i, v in enumerate(ordered)}
        if len(ordered) == 1:
            spread = {ordered[0]: 0.5}
        pos = [math.nan if v is None else spread[v] for v in drawn]
        return pos, [(p, str(v)) for v, p in spread.items()]
    spec = study.space.get(name)
    present = [float(v) for v in drawn if v is not None]
    lo = float(getattr(spec, "min_value", min(present)))
    hi = float(getattr(spec, "max_value", max(present)))

    def t(x: float) -> float:
        return math.log(x) if kind == "log" and x > 0 else x

    if t(hi) == t(lo):
        pos = [math.nan if v is None else 0.5 for v in drawn]
        return pos, [(0.5, f"{lo:.4g}")]
    pos = [math.nan if v is None else (t(float(v)) - t(lo)) / (t(hi) - t(lo)) for v in drawn]
    ticks = [(0.0, f"{lo:.3g}"), (1.0, f"{hi:.3g}")]
    mid = math.exp((t(lo) + t(hi)) / 2) if kind == "log" else (lo + hi) / 2
    ticks.insert(1, (0.5, f"{mid:.3g}"))
    return pos, ticks


def plot_parallel(source: Study | Search) -> Figure:
    """Parallel coordinates: one vertical axis per parameter and one for the objective, one
    line per COMPLETE trial, coloured by its value (brighter is better). Each axis spans
    the parameter's declared range (log-scaled when sampled so); a trial that did not draw
    a (conditional) parameter crosses its axis at "(not drawn)", below the range.

    >>> plot_parallel(study).savefig("parallel.png")
    """
    study = as_study(source)
    trials = scored(study)
    names = shown_params(study, trials)
    fig = new_figure(max(7.0, 1.6 * (len(names) + 1) + 1.5), 5.5)
    ax = fig.add_subplot()
    ax.set_title(
        f"Parallel coordinates of the {len(trials)} COMPLETE trials of {study.name!r}"
        "\none line per trial, coloured by its value (the best drawn thick)",
        fontsize=11,
    )
    if len(trials) < 1 or not names:
        empty(ax, "needs COMPLETE trials with parameters")
        return fig
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    columns: list[list[float]] = []
    ticks: list[list[tuple[float, str]]] = []
    for name in names:
        pos, tk = _scale(study, name, [t.params.get(name) for t in trials])
        if any(math.isnan(p) for p in pos):
            pos = [ABSENT if math.isnan(p) else p for p in pos]
            tk = [*tk, (ABSENT, "(not drawn)")]
        columns.append(pos)
        ticks.append(tk)
    measured = values(trials)
    vlo, vhi = min(measured), max(measured)
    span = (vhi - vlo) or 1.0
    columns.append([(v - vlo) / span if vhi > vlo else 0.5 for v in measured])
    ticks.append([(0.0, f"{vlo:.4g}"), (1.0, f"{vhi:.4g}")] if vhi > vlo else [(0.5, f"{vlo:.4g}")])
    cmap = colormaps["viridis" if study.direction == "max" else "viridis_r"]
    norm = Normalize(vlo, vhi if vhi > vlo else vlo + 1)
    order = sorted(
        range(len(trials)), key=lambda i: measured[i], reverse=study.direction == "min"
    )  # worst first, best drawn on top
    xs = list(range(len(columns)))
    best = best_trial(study, trials)
    for i in order:
        ys = [col[i] for col in columns]
        is_best = best is not None and trials[i].number == best.number
        ax.plot(
            xs,
            ys,
            color=cmap(norm(measured[i])),
            alpha=1.0 if is_best else 0.7,
            linewidth=3 if is_best else 1.2,
            marker="o",
            markersize=3,
            label=f"best: trial {best.number}" if is_best and best else None,
            zorder=3 if is_best else 2,
        )
    for x, tk in zip(xs, ticks, strict=True):
        ax.axvline(x, color="0.3", linewidth=1, zorder=1)
        for y, text in tk:
            ax.text(
                x + 0.04,
                y,
                text,
                fontsize=8,
                va="center",
                color="0.2",
                bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1},
            )
    logs = {n for n in names if param_kind(study, n, [t.params.get(n) for t in trials])[0] == "log"}
    labels = [n + ("\n(log)" if n in logs else "") for n in names]
    ax.set_xticks(xs, [*labels, f"{study.objective}\n({better(study)})"], fontsize=9)
    ax.set_xlim(-0.2, len(columns) - 0.6)
    absent = any(ABSENT in col for col in columns)
    ax.set_ylim(ABSENT - 0.06 if absent else -0.06, 1.06)
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.8)
    bar.set_label(study.objective)
    if best is not None:
        ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.12), fontsize=8, frameon=False)
    return fig


# -- parameter importance ---------------------------------------------------------------------


def plot_importance(source: Study | Search) -> Figure:
    """Horizontal bars of :func:`hpdeco.analysis.param_importance` (epsilon-squared), the
    most important parameter on top, with the method written under the chart.

    >>> plot_importance(study).savefig("importance.png")
    """
    study = as_study(source)
    scores = param_importance(study)
    complete = sum(1 for t in study.trials if t.state is TrialState.COMPLETE)
    fig = new_figure(8.0, 1.8 + 0.45 * max(1, len(scores)))
    ax = fig.add_subplot()
    ax.set_title(f"Parameter importance in study {study.name!r} ({complete} COMPLETE trials)")
    names = list(scores)[::-1]
    done = scored(study)
    labels = []
    for name in names:
        drawn = sum(1 for t in done if name in t.params)
        labels.append(name if drawn == len(done) else f"{name}\n(in {drawn} of {len(done)})")
    bars = ax.barh(labels, [scores[n] for n in names], color="tab:blue")
    ax.bar_label(bars, [f"{scores[n]:.2f}" for n in names], padding=3, fontsize=9)
    ax.set_xlim(0, 1.08)
    ax.set_xlabel(f"share of the variance of {study.objective} explained (epsilon-squared)")
    note = "one parameter at a time; interactions not shown"
    if complete < 20:
        note = f"only {complete} trials: a rough hint; " + note
    fig.supxlabel(note, fontsize=8, color="0.35")
    ax.grid(axis="x", alpha=0.3)
    return fig
