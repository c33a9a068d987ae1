"""Figures of a study, as matplotlib ``Figure`` objects (``pip install "hpdeco[plot]"``).

Each function takes a study (:func:`hpdeco.load_study`) or a search and returns a figure;
nothing is shown or saved unless you ask, and pyplot's global state is not touched (the
figures render with the Agg backend wherever they are saved)::

    from hpdeco import plots
    study = hpdeco.load_study("quickstart", store="hpdeco.db")
    plots.plot_history(study).savefig("history.png")
    plots.save_plots(study, "figures/")      # every figure, as ``hpdeco plot`` writes them

In a notebook, a returned figure displays itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpdeco.analysis import (
    IMPORTANCE_METHOD,
    as_study,
    best_so_far,
    param_importance,
    param_names,
)
from hpdeco.errors import HpdecoError, MissingDependency
from hpdeco.records import TrialRecord, TrialState, best

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from hpdeco.search import Search
    from hpdeco.study import Study

COLORS = {
    TrialState.COMPLETE: "tab:blue",
    TrialState.PRUNED: "tab:orange",
    TrialState.FAIL: "tab:red",
    TrialState.RUNNING: "tab:gray",
}
BEST = "tab:green"


def _figure(width: float = 8.0, height: float = 5.0) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingDependency(
            'plots need matplotlib: pip install "hpdeco[plot]" (or pip install matplotlib)'
        ) from None
    return Figure(figsize=(width, height), layout="constrained")


def _better(study: Study) -> str:
    return "higher is better" if study.direction == "max" else "lower is better"


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _integer_ticks(axis: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def _best(study: Study, trials: Sequence[TrialRecord]) -> TrialRecord | None:
    return best(trials, study.direction)


# -- optimisation history ---------------------------------------------------------------------


def plot_history(source: Study | Search) -> Figure:
    """Each trial's value by trial number, and the best value so far.

    COMPLETE trials are dots; PRUNED ones are crosses at the value they had when stopped
    (after fewer epochs, so not quite comparable); FAIL trials have no value and show as
    ticks along the bottom.

    >>> plot_history(hpdeco.load_study("quickstart")).savefig("history.png")
    """
    study = as_study(source)
    trials = study.trials
    fig = _figure()
    ax = fig.add_subplot()
    ax.set_title(f"Optimisation history of study {study.name!r} ({len(trials)} trials)")
    ax.set_xlabel("trial number")
    ax.set_ylabel(f"{study.objective} ({_better(study)})")
    _integer_ticks(ax.xaxis)
    with_value = [t for t in trials if _finite(t.value)]
    if not with_value:
        _empty(ax, "no trial has a value yet")
        return fig
    done = [t for t in with_value if t.state is TrialState.COMPLETE]
    pruned = [t for t in with_value if t.state is TrialState.PRUNED]
    failed = [t for t in trials if t.state is TrialState.FAIL]
    if done:
        ax.scatter(
            [t.number for t in done],
            [t.value for t in done],
            color=COLORS[TrialState.COMPLETE],
            label=f"COMPLETE ({len(done)})",
            zorder=3,
        )
    if pruned:
        ax.scatter(
            [t.number for t in pruned],
            [t.value for t in pruned],
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
        best = _best(study, trials)
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
        ax.scatter(
            [best.number],
            [best.value],
            s=160,
            facecolors="none",
            edgecolors=BEST,
            linewidths=2,
            zorder=4,
        )
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
    fig = _figure()
    ax = fig.add_subplot()
    curves = [(t, t.metrics.get(metric, {})) for t in trials]
    curves = [(t, c) for t, c in curves if any(_finite(v) for v in c.values())]
    ax.set_title(f"Learning curves of study {study.name!r}: {metric} per epoch")
    ax.set_xlabel("epoch (reported step)")
    direction = f" ({_better(study)})" if metric == study.objective else ""
    ax.set_ylabel(metric + direction)
    _integer_ticks(ax.xaxis)
    if not curves:
        known = sorted({m for t in trials for m in t.metrics})
        _empty(
            ax,
            f"no trial reported {metric!r}"
            + (f"\n(reported: {', '.join(known)})" if known else ""),
        )
        return fig
    best = _best(study, trials)
    labelled: set[str] = set()

    def label(key: str, text: str) -> str | None:
        if key in labelled:
            return None
        labelled.add(key)
        return text

    for trial, curve in curves:
        steps = sorted(s for s, v in curve.items() if _finite(v))
        values = [curve[s] for s in steps]
        if best is not None and trial.number == best.number:
            continue  # drawn last, on top
        if trial.state is TrialState.PRUNED:
            color = COLORS[TrialState.PRUNED]
            ax.plot(
                steps,
                values,
                color=color,
                alpha=0.8,
                linewidth=1,
                marker="x",
                markevery=[len(steps) - 1],  # a cross at the epoch where it was stopped
                markersize=8,
                mew=2,
                label=label("pruned", "PRUNED (x: where it was stopped)"),
            )
        elif trial.state is TrialState.FAIL:
            ax.plot(
                steps,
                values,
                ":",
                color=COLORS[TrialState.FAIL],
                alpha=0.8,
                label=label("fail", "FAIL"),
            )
        elif trial.state is TrialState.COMPLETE:
            ax.plot(
                steps,
                values,
                color=COLORS[TrialState.COMPLETE],
                alpha=0.5,
                linewidth=1,
                marker="." if len(steps) < 3 else None,
                label=label("complete", "COMPLETE"),
            )
        else:
            ax.plot(
                steps,
                values,
                "--",
                color=COLORS[TrialState.RUNNING],
                alpha=0.8,
                label=label("running", trial.state.value),
            )
    if best is not None:
        curve = best.metrics.get(metric, {})
        steps = sorted(s for s, v in curve.items() if _finite(v))
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


# -- parameters against the value -------------------------------------------------------------


def _kind(study: Study, name: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """("log"|"linear", []) for numeric parameters, ("category", ordered values) else."""
    spec = study.space.get(name)
    present = [v for v in values if v is not None]
    if spec is not None and spec.kind in ("categorical", "fixed"):
        ordered = list(spec.grid())
        ordered += [v for v in dict.fromkeys(present) if v not in ordered]
        return "category", ordered
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return "category", sorted(dict.fromkeys(present), key=repr)
    sampling = getattr(spec, "sampling", None)
    if sampling == "log" or (
        spec is None and present and min(present) > 0 and max(present) / min(present) >= 100
    ):
        return "log", []
    return "linear", []


def plot_params(source: Study | Search) -> Figure:
    """One panel per parameter: each COMPLETE trial's value against that parameter's value,
    coloured by trial number (later trials lighter), the best trial ringed in green.
    Log-sampled parameters get a log axis; choices are spread over their values.

    >>> plot_params(study).savefig("params.png")
    """
    study = as_study(source)
    trials = [t for t in study.trials if t.state is TrialState.COMPLETE and _finite(t.value)]
    names = [n for n in param_names(trials) if getattr(study.space.get(n), "kind", "") != "fixed"]
    columns = min(3, max(1, len(names)))
    rows = max(1, math.ceil(len(names) / columns))
    fig = _figure(4.0 * columns + 1.0, 3.3 * rows + 0.8)
    ring = (
        ""
        if _best(study, trials) is None
        else (f"; green ring: the best, trial {_best(study, trials).number}")
    )  # type: ignore[union-attr]
    fig.suptitle(
        f"{study.objective} ({_better(study)}) against each parameter: "
        f"{len(trials)} COMPLETE trials of {study.name!r}{ring}"
    )
    if not names:
        _empty(fig.add_subplot(), "no COMPLETE trial with parameters yet")
        return fig
    axes = fig.subplots(rows, columns, squeeze=False, sharey=True)
    best = _best(study, trials)
    numbers = [t.number for t in trials]
    lo, hi = min(numbers), max(numbers)
    points = None
    for index, name in enumerate(names):
        ax = axes[index // columns][index % columns]
        have = [t for t in trials if t.params.get(name) is not None]
        kind, ordered = _kind(study, name, [t.params.get(name) for t in have])
        if kind == "category":
            spread = {v: i for i, v in enumerate(ordered)}
            xs = [spread[t.params[name]] + _jitter(t.number) for t in have]
            ax.set_xticks(range(len(ordered)), [str(v) for v in ordered])
            ax.set_xlim(-0.5, len(ordered) - 0.5)
        else:
            xs = [t.params[name] for t in have]
            if kind == "log":
                ax.set_xscale("log")
        ys = [t.value for t in have]
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
            ax.scatter(
                [xs[have.index(best)]],
                [best.value],
                s=140,
                facecolors="none",
                edgecolors=BEST,
                linewidths=2,
                zorder=4,
            )
        if kind == "linear" and getattr(study.space.get(name), "kind", "") == "int":
            _integer_ticks(ax.xaxis)
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
    study: Study, name: str, values: list[Any]
) -> tuple[list[float], list[tuple[float, str]]]:
    """Positions in [0, 1] (NaN where absent) and tick (position, label) pairs."""
    kind, ordered = _kind(study, name, values)
    if kind == "category":
        span = max(1, len(ordered) - 1)
        spread = {v: i / span for i, v in enumerate(ordered)}
        if len(ordered) == 1:
            spread = {ordered[0]: 0.5}
        pos = [math.nan if v is None else spread[v] for v in values]
        return pos, [(p, str(v)) for v, p in spread.items()]
    spec = study.space.get(name)
    present = [float(v) for v in values if v is not None]
    lo = float(getattr(spec, "min_value", min(present)))
    hi = float(getattr(spec, "max_value", max(present)))

    def t(x: float) -> float:
        return math.log(x) if kind == "log" and x > 0 else x

    if t(hi) == t(lo):
        pos = [math.nan if v is None else 0.5 for v in values]
        return pos, [(0.5, f"{lo:.4g}")]
    pos = [math.nan if v is None else (t(float(v)) - t(lo)) / (t(hi) - t(lo)) for v in values]
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
    trials = [t for t in study.trials if t.state is TrialState.COMPLETE and _finite(t.value)]
    names = [n for n in param_names(trials) if getattr(study.space.get(n), "kind", "") != "fixed"]
    fig = _figure(max(7.0, 1.6 * (len(names) + 1) + 1.5), 5.5)
    ax = fig.add_subplot()
    ax.set_title(
        f"Parallel coordinates of the {len(trials)} COMPLETE trials of {study.name!r}"
        "\none line per trial, coloured by its value (the best drawn thick)",
        fontsize=11,
    )
    if len(trials) < 1 or not names:
        _empty(ax, "needs COMPLETE trials with parameters")
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
    values = [float(t.value) for t in trials]  # type: ignore[arg-type]
    vlo, vhi = min(values), max(values)
    span = (vhi - vlo) or 1.0
    columns.append([(v - vlo) / span if vhi > vlo else 0.5 for v in values])
    ticks.append([(0.0, f"{vlo:.4g}"), (1.0, f"{vhi:.4g}")] if vhi > vlo else [(0.5, f"{vlo:.4g}")])
    cmap = colormaps["viridis" if study.direction == "max" else "viridis_r"]
    norm = Normalize(vlo, vhi if vhi > vlo else vlo + 1)
    order = sorted(
        range(len(trials)), key=lambda i: values[i], reverse=study.direction == "min"
    )  # worst first, best drawn on top
    xs = list(range(len(columns)))
    best = _best(study, trials)
    for i in order:
        ys = [col[i] for col in columns]
        is_best = best is not None and trials[i].number == best.number
        ax.plot(
            xs,
            ys,
            color=cmap(norm(values[i])),
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
    labels = [
        n + ("\n(log)" if _kind(study, n, [t.params.get(n) for t in trials])[0] == "log" else "")
        for n in names
    ]
    ax.set_xticks(xs, [*labels, f"{study.objective}\n({_better(study)})"], fontsize=9)
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
    fig = _figure(8.0, 1.8 + 0.45 * max(1, len(scores)))
    ax = fig.add_subplot()
    ax.set_title(f"Parameter importance in study {study.name!r} ({complete} COMPLETE trials)")
    names = list(scores)[::-1]
    done = [t for t in study.trials if t.state is TrialState.COMPLETE and _finite(t.value)]
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


# -- all of them ------------------------------------------------------------------------------

FIGURES = {
    "history": plot_history,
    "learning_curves": plot_learning_curves,
    "params": plot_params,
    "parallel_coordinates": plot_parallel,
    "importance": plot_importance,
}


def save_plots(
    source: Study | Search, out: str | Path, *, metric: str | None = None, dpi: int = 110
) -> tuple[list[Path], dict[str, str]]:
    """Write every figure of :data:`FIGURES` as ``<out>/<name>.png`` (the folder is
    created); ``metric`` is the learning curves' metric (default: the objective). Returns
    the files written and, by name, why any figure was skipped (such as importance with
    fewer than 3 COMPLETE trials).

    >>> written, skipped = save_plots(study, "figures")
    """
    study = as_study(source)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    skipped: dict[str, str] = {}
    for name, make in FIGURES.items():
        try:
            fig = plot_learning_curves(study, metric) if name == "learning_curves" else make(study)
        except MissingDependency:
            raise
        except HpdecoError as exc:
            skipped[name] = str(exc)
            continue
        path = folder / f"{name}.png"
        fig.savefig(path, dpi=dpi)
        written.append(path)
    return written, skipped


__all__ = [
    "FIGURES",
    "IMPORTANCE_METHOD",
    "plot_history",
    "plot_importance",
    "plot_learning_curves",
    "plot_parallel",
    "plot_params",
    "save_plots",
]
