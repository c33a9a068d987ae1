"""Figures of a study, as matplotlib ``Figure`` objects (``pip install "hpdeco[plot]"``).

Each function takes a study (:func:`hpdeco.load_study`) or a search and returns a figure;
nothing is shown or saved unless you ask, and pyplot's global state is not touched (the
figures render with the Agg backend wherever they are saved)::

    from hpdeco import plots
    study = hpdeco.load_study("quickstart", store="hpdeco.db")
    plots.plot_history(study).savefig("history.png")
    plots.save_plots(study, "figures/")      # every figure, as ``hpdeco plot`` writes them

In a notebook, a returned figure displays itself.

The package: :mod:`~hpdeco.plots.history` draws how the search went (values by trial,
learning curves), :mod:`~hpdeco.plots.parameters` the parameters against the value
(panels, parallel coordinates, importance), on what :mod:`~hpdeco.plots.base` shares (the
figure, the colours, the best trial); this module saves them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hpdeco.analysis import IMPORTANCE_METHOD, as_study
from hpdeco.errors import HpdecoError, MissingDependency
from hpdeco.plots.base import BEST as BEST  # the colours, kept importable from here
from hpdeco.plots.base import COLORS as COLORS
from hpdeco.plots.history import plot_history, plot_learning_curves
from hpdeco.plots.parameters import ABSENT as ABSENT  # kept importable from here
from hpdeco.plots.parameters import plot_importance, plot_parallel, plot_params
from hpdeco.plots.pareto import plot_pareto

if TYPE_CHECKING:
    from hpdeco.search import Search
    from hpdeco.study import Study


FIGURES = {
    "history": plot_history,
    "learning_curves": plot_learning_curves,
    "params": plot_params,
    "parallel_coordinates": plot_parallel,
    "importance": plot_importance,
    "pareto": plot_pareto,
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
        if name == "pareto" and len(study.objectives) < 2:
            continue  # one objective: no front to draw, and nothing to explain
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
    "plot_pareto",
    "plot_learning_curves",
    "plot_parallel",
    "plot_params",
    "save_plots",
]
