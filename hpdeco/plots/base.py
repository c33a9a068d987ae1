"""What the figures share: a figure that needs no pyplot, the colours of the trial states
and of the best trial, the best trial itself (by :func:`hpdeco.records.best`, so every
figure rings the trial ``search.best`` names), and how a parameter's axis is scaled."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hpdeco.analysis import param_names
from hpdeco.errors import MissingDependency
from hpdeco.records import TrialRecord, TrialState, best

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from hpdeco.study import Study


COLORS = {
    TrialState.COMPLETE: "tab:blue",
    TrialState.PRUNED: "tab:orange",
    TrialState.FAIL: "tab:red",
    TrialState.RUNNING: "tab:gray",
}
BEST = "tab:green"


def new_figure(width: float = 8.0, height: float = 5.0) -> Figure:
    """A matplotlib figure of its own (no pyplot, no global state), or MissingDependency."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingDependency(
            'plots need matplotlib: pip install "hpdeco[plot]" (or pip install matplotlib)'
        ) from None
    return Figure(figsize=(width, height), layout="constrained")


def better(study: Study) -> str:
    """``higher is better`` or ``lower is better``, for the objective's axis label."""
    return "higher is better" if study.direction == "max" else "lower is better"


def finite(value: float | None) -> bool:
    """Whether ``value`` can be drawn: not None, NaN or infinite."""
    return value is not None and math.isfinite(value)


def integer_ticks(axis: Any) -> None:
    """Whole-number ticks only, for trial numbers and epochs."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def empty(ax: Axes, text: str) -> None:
    """An axes with nothing to draw: ``text`` in its middle, no ticks."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def best_trial(study: Study, trials: Sequence[TrialRecord]) -> TrialRecord | None:
    """The best of ``trials`` by the one ranking every reader uses (ties: lower number;
    with several objectives, the first of the Pareto front, as ``search.best``)."""
    if len(study.objectives) > 1:
        from hpdeco.pareto import pareto_front

        front = pareto_front(trials, study.directions)
        return front[0] if front else None
    return best(trials, study.direction)


def ring(ax: Axes, x: Any, trial: TrialRecord, size: float) -> None:
    """The green ring around the best trial's point: at ``x``, at the height of its value."""
    y = values([trial])
    ax.scatter([x], y, s=size, facecolors="none", edgecolors=BEST, linewidths=2, zorder=4)


def scored(study: Study) -> list[TrialRecord]:
    """The COMPLETE trials with a finite value: those the parameter figures compare."""
    return [t for t in study.trials if t.state is TrialState.COMPLETE and finite(t.value)]


def values(trials: Sequence[TrialRecord]) -> list[float]:
    """The values of ``trials``, already filtered to trials that have one."""
    return [math.nan if t.value is None else t.value for t in trials]


def shown_params(study: Study, trials: Sequence[TrialRecord]) -> list[str]:
    """The parameters the trials drew, less fixed ones (one value: nothing to compare)."""
    return [n for n in param_names(trials) if getattr(study.space.get(n), "kind", "") != "fixed"]


def param_kind(study: Study, name: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
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
