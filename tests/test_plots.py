"""The figures: what each one draws, read back from the matplotlib objects."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import demo_search, quality
from matplotlib.figure import Figure

import hpdeco
from hpdeco import TrialState, hp, plots
from hpdeco.analysis import param_importance


def build(store: str, trials: int = 10) -> hpdeco.Search:
    """Trial 2 fails, trials 4 and 7 are pruned at step 2, ``rate`` is conditional."""
    return demo_search(
        store, trials=trials, seed=3, pruned=(4, 7), curve=lambda d, e: quality(d["lr"]) * e / 4
    )


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> hpdeco.Study:
    path = str(tmp_path_factory.mktemp("plots") / "h.db")
    build(path)
    return hpdeco.load_study("demo", store=path)


def legend(ax) -> list[str]:
    found = ax.get_legend()
    return [] if found is None else [t.get_text() for t in found.get_texts()]


def test_history_marks_each_state_and_the_best_so_far(study: hpdeco.Study) -> None:
    fig = plots.plot_history(study)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    best = study.best
    assert ax.get_xlabel() == "trial number"
    assert ax.get_ylabel() == "val_accuracy (higher is better)"
    assert "demo" in ax.get_title() and "10 trials" in ax.get_title()
    assert legend(ax) == [
        "COMPLETE (7)",
        "PRUNED (2), value when stopped",
        "FAIL (1), no value",
        f"best so far (best: trial {best.number}, {best.value:.4g})",
    ]
    line = next(ln for ln in ax.get_lines() if ln.get_label().startswith("best so far"))
    ys = list(line.get_ydata())
    assert ys == sorted(ys) and ys[-1] == best.value
    assert list(line.get_xdata())[-1] == 9  # drawn to the last trial


def test_learning_curves_stop_pruned_trials_where_they_stopped(study: hpdeco.Study) -> None:
    ax = plots.plot_learning_curves(study).axes[0]
    pruned = [t for t in study.trials if t.state is TrialState.PRUNED]
    crossed = [ln for ln in ax.get_lines() if ln.get_marker() == "x"]
    ends = []
    for line in crossed:
        (at,) = line.get_markevery()  # the cross: on the last point only
        assert at == len(line.get_xdata()) - 1
        ends.append((float(line.get_xdata()[at]), float(line.get_ydata()[at])))
    assert sorted(ends) == sorted((2.0, t.metrics["val_accuracy"][2]) for t in pruned)
    best = study.best
    label = f"best: trial {best.number} (dot: its value, epoch {best.best_step})"
    thick = next(ln for ln in ax.get_lines() if ln.get_label() == label)
    assert list(thick.get_xdata()) == [1, 2, 3, 4]
    assert thick.get_ydata()[thick.get_markevery()[0]] == best.value
    assert ax.get_xlabel() == "epoch (reported step)"
    assert "PRUNED (x: where it was stopped)" in legend(ax)
    assert len(ax.get_lines()) == 9  # one per trial with a curve (the FAIL one has none)


def test_learning_curves_of_another_metric_or_an_unknown_one(study: hpdeco.Study) -> None:
    ax = plots.plot_learning_curves(study, "loss").axes[0]
    assert ax.get_ylabel() == "loss" and "loss per epoch" in ax.get_title()
    ax = plots.plot_learning_curves(study, "f1").axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["no trial reported 'f1'\n(reported: loss, val_accuracy)"]


def test_params_panel_per_parameter_with_log_and_category_axes(study: hpdeco.Study) -> None:
    fig = plots.plot_params(study)
    panels = {
        ax.get_title().split()[0]: ax for ax in fig.axes if ax.get_visible() and ax.get_title()
    }
    assert set(panels) == {"lr", "units", "activation", "dropout", "rate"}
    assert panels["lr"].get_xscale() == "log" and panels["units"].get_xscale() == "linear"
    assert [t.get_text() for t in panels["activation"].get_xticklabels()] == ["relu", "tanh"]
    assert [t.get_text() for t in panels["dropout"].get_xticklabels()] == ["False", "True"]
    complete = [t for t in study.trials if t.state is TrialState.COMPLETE]
    without = sum(1 for t in complete if "rate" not in t.params)
    assert panels["rate"].get_title() == f"rate  ({without} trials without it)"
    lr_points = panels["lr"].collections[0].get_offsets()
    assert sorted(float(x) for x, _ in lr_points) == sorted(t.params["lr"] for t in complete)
    assert "green ring: the best" in fig.get_suptitle()
    assert any(ax.get_ylabel() == "trial number" for ax in fig.axes)  # the colorbar


def test_parallel_coordinates_one_line_per_complete_trial(study: hpdeco.Study) -> None:
    fig = plots.plot_parallel(study)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == [
        "lr\n(log)",
        "units",
        "activation",
        "dropout",
        "rate",
        "val_accuracy\n(higher is better)",
    ]
    lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == len(labels)]
    complete = [t for t in study.trials if t.state is TrialState.COMPLETE]
    assert len(lines) == len(complete)
    ys = [list(ln.get_ydata()) for ln in lines]
    assert all(0.0 <= y[0] <= 1.0 for y in ys)  # lr inside its declared range
    absent = sum(1 for y in ys if y[4] == plots.ABSENT)
    assert absent == sum(1 for t in complete if "rate" not in t.params) > 0
    assert "(not drawn)" in [t.get_text() for t in ax.texts]
    best_line = next(ln for ln in lines if ln.get_label().startswith("best"))
    assert best_line.get_ydata()[-1] == pytest.approx(1.0)  # the best value tops its axis


def test_importance_bars_follow_the_scores(study: hpdeco.Study) -> None:
    fig = plots.plot_importance(study)
    ax = fig.axes[0]
    scores = param_importance(study)
    widths = [p.get_width() for p in ax.patches]
    assert widths == pytest.approx(list(scores.values())[::-1])  # most important on top
    top = ax.get_yticklabels()[-1].get_text()
    assert top.split("\n")[0] == next(iter(scores))
    assert "epsilon-squared" in ax.get_xlabel()
    assert "rough hint" in fig._supxlabel.get_text()


def test_figures_of_a_study_without_values(tmp_path: Path) -> None:
    store = str(tmp_path / "e.db")
    with hpdeco.search(objective="loss", max_trials=2, store=store, study="e", verbose=0) as s:
        for trial in s:
            with trial:
                hp.Int("units", 1, 4)
                raise ValueError("broken")
    study = hpdeco.load_study("e", store=store)
    assert plots.plot_history(study).axes[0].texts[0].get_text() == "no trial has a value yet"
    assert plots.plot_parallel(study).axes[0].texts
    assert plots.plot_params(study).axes[0].texts
    written, skipped = plots.save_plots(study, tmp_path / "figs")
    assert [p.name for p in written] == [
        "history.png",
        "learning_curves.png",
        "params.png",
        "parallel_coordinates.png",
    ]
    assert "needs at least 3" in skipped["importance"]


def test_save_plots_writes_pngs_from_a_search(tmp_path: Path) -> None:
    search = build(str(tmp_path / "h.db"), trials=6)
    written, skipped = plots.save_plots(search, tmp_path / "out", metric="loss")
    assert skipped == {}
    assert {p.name for p in written} == {f"{n}.png" for n in plots.FIGURES if n != "pareto"}
    for path in written:
        assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 5000
