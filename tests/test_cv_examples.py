"""The cross-validation and repeated-executions examples, each run as a user runs it with a
tiny budget, checked against what they left in the store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import run_example as run

import hpdeco
from hpdeco import TrialState

pytestmark = pytest.mark.keras


def printed(pattern: str, stdout: str) -> float:
    found = re.search(pattern, stdout)
    assert found, f"{pattern!r} not in:\n{stdout}"
    return float(found.group(1))


def check_runs(record: hpdeco.TrialRecord, runs: int) -> None:
    """A finished trial ran its runs in order; a COMPLETE one all of them, scored by
    their mean; a PRUNED one stopped before the last."""
    done = sorted(record.run_values)
    assert done == list(range(len(done))) and done
    values = [record.run_values[k] for k in done]
    if record.state is TrialState.COMPLETE:
        assert len(done) == runs
        assert record.value == pytest.approx(sum(values) / runs)
    else:
        assert record.state is TrialState.PRUNED and len(done) < runs


def test_grid_search_cv_walks_the_grid_with_two_workers_then_refits(tmp_path: Path) -> None:
    store = tmp_path / "grid.db"
    done = run(
        "grid_search_cv.py",
        "--trials", "3", "--folds", "2", "--epochs", "1", "--workers", "2",
        "--store", str(store),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    study = hpdeco.load_study("grid_search_cv", store=str(store))
    # the grid's first three learning rates, each once, whichever worker took it
    assert sorted(t.params["lr"] for t in study.trials) == [1e-4, 3e-4, 1e-3]
    for record in study.trials:
        check_runs(record, 2)
    best = study.best
    assert printed(r"mean CV accuracy ([0-9.]+) over 2 folds", done.stdout) == pytest.approx(
        best.value, abs=1e-4
    )
    assert f"best: lr={best.params['lr']:g}," in done.stdout
    assert best.refit is not None and sorted(best.refit["loss"]) == [1]  # the refit, kept
    assert 0 <= printed(r"test accuracy: ([0-9.]+)", done.stdout) <= 1


def test_random_search_cv_draws_n_iter_configurations_and_refits(tmp_path: Path) -> None:
    store = tmp_path / "random.db"
    args = ["--trials", "3", "--folds", "3", "--epochs", "1", "--store", str(store)]
    done = run("random_search_cv.py", *args)
    assert done.returncode == 0, done.stderr
    study = hpdeco.load_study("random_search_cv", store=str(store))
    assert len(study.trials) == 3
    for record in study.trials:
        check_runs(record, 3)
    folds = sum(len(r.run_values) for r in study.trials)
    assert f"folds trained: {folds} of 9" in done.stdout
    best = study.best
    std, low, high = best.spread
    assert f"(std {std:.4f}, min {low:.4f}, max {high:.4f})" in done.stdout
    assert best.refit is not None
    assert 0 <= printed(r"test accuracy: ([0-9.]+)", done.stdout) <= 1


def test_repeated_executions_trains_the_subclassed_model_again_and_retrains_the_best(
    tmp_path: Path,
) -> None:
    store = tmp_path / "executions.db"
    done = run(
        "repeated_executions.py",
        "--trials", "2", "--executions", "2", "--epochs", "1", "--refit-epochs", "2",
        "--store", str(store),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    study = hpdeco.load_study("repeated_executions", store=str(store))
    assert len(study.trials) == 2
    for record in study.trials:
        check_runs(record, 2)
        assert set(record.params) == {"learning_rate", "num_layers"}
    best = study.best
    assert printed(r"mean val_accuracy ([0-9.]+) over 2 executions", done.stdout) == (
        pytest.approx(best.value, abs=1e-4)
    )
    assert sorted(best.refit["loss"]) == [1, 2]  # retrained for --refit-epochs
    assert f"as DigitsNet(num_layers={best.params['num_layers']})" in done.stdout
    assert 0 <= printed(r"test accuracy: ([0-9.]+)", done.stdout) <= 1
