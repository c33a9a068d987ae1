"""The examples beyond the quick start, each run as a user runs it, with a tiny budget."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_example as run

import hpdeco
from hpdeco import TrialState

pytestmark = pytest.mark.keras


def tiny(store: Path, *more: str) -> list[str]:
    return ["--trials", "2", "--epochs", "1", "--store", str(store), "--seed", "0", *more]


def test_cnn_digits(tmp_path: Path) -> None:
    store = tmp_path / "cnn.db"
    done = run("cnn_digits.py", *tiny(store))
    assert done.returncode == 0, done.stderr
    assert "filters_{i}" in done.stdout and "kernel_size" in done.stdout  # the space first
    assert "best model, evaluated again: val_accuracy=" in done.stdout
    study = hpdeco.load_study("cnn_digits", store=str(store))
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    assert {"conv_layers", "filters_0", "kernel_size", "lr"} <= set(study.best.params)
    evaluated = float(done.stdout.rsplit("val_accuracy=", 1)[1])
    assert evaluated == pytest.approx(study.best.value, abs=1e-3)  # the kept weights
    # the command and the figures on a real Keras study
    shown = subprocess.run(
        [sys.executable, "-m", "hpdeco", "best", "cnn_digits", "--store", str(store)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0 and "weights: " in shown.stdout
    assert "trial-" in shown.stdout.split("weights: ", 1)[1]  # the kept file, by path
    assert "model = hpdeco.weights.best_model(study, build_model)" in shown.stdout
    figures = subprocess.run(
        [
            sys.executable,
            "-m",
            "hpdeco",
            "plot",
            "cnn_digits",
            "--store",
            str(store),
            "--out",
            str(tmp_path / "fig"),
            "--metric",
            "val_loss",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert figures.returncode == 0, figures.stderr
    assert (tmp_path / "fig" / "learning_curves.png").stat().st_size > 5000
    assert "skipped importance" in figures.stdout  # 2 trials are too few, and it says so


def test_conditional_space(tmp_path: Path) -> None:
    store = tmp_path / "c.db"
    done = run(
        "conditional_space.py",
        "--trials",
        "4",
        "--epochs",
        "1",
        "--store",
        str(store),
        "--seed",
        "1",
    )
    assert done.returncode == 0, done.stderr
    study = hpdeco.load_study("conditional_space", store=str(store))
    own = {
        "adam": {"adam_lr", "beta_1"},
        "sgd": {"sgd_lr", "momentum", "nesterov"},
        "rmsprop": {"rmsprop_lr", "rho"},
    }
    for trial in study.trials:
        assert trial.state is TrialState.COMPLETE
        optimizer = trial.params["optimizer"]
        assert set(trial.params) == {"units", "optimizer", *own[optimizer]}
        assert f"trial {trial.number} COMPLETE" in done.stdout
    assert len({t.params["optimizer"] for t in study.trials}) >= 2


def test_tune_training(tmp_path: Path) -> None:
    store = tmp_path / "t.db"
    done = run(
        "tune_training.py", "--trials", "2", "--epochs", "2", "--store", str(store), "--seed", "0"
    )
    assert done.returncode == 0, done.stderr
    study = hpdeco.load_study("tune_training", store=str(store))
    for trial in study.trials:
        assert set(trial.params) == {"lr", "batch_size", "epochs"}
        assert trial.params["epochs"] in (1, 2)
        assert len(trial.intermediate_values) == trial.params["epochs"]  # fit ran that long
        last = max(trial.intermediate_values)
        assert trial.value == trial.intermediate_values[last]  # trial_value="last"
    best = study.best
    assert (
        f"train with batch_size={best.params['batch_size']} for {best.params['epochs']} epochs"
    ) in done.stdout


def test_custom_loop(tmp_path: Path) -> None:
    store = tmp_path / "loop.db"
    done = run(
        "custom_loop.py", "--trials", "3", "--epochs", "2", "--store", str(store), "--seed", "0"
    )
    assert done.returncode == 0, done.stderr
    study = hpdeco.load_study("custom_loop", store=str(store))
    assert len(study.trials) == 3
    for trial in study.trials:
        assert trial.state in (TrialState.COMPLETE, TrialState.PRUNED)
        assert set(trial.metrics) == {"loss", "val_accuracy"}
        assert 0.0 <= trial.metrics["val_accuracy"][1] <= 1.0
    assert "best: trial" in done.stdout


def test_resume(tmp_path: Path) -> None:
    store = tmp_path / "r.db"
    first = run(
        "resume.py",
        "--trials",
        "3",
        "--epochs",
        "1",
        "--store",
        str(store),
        "--interrupt-after",
        "1",
    )
    assert first.returncode == 130, first.stderr
    assert "study 'resume' has 0 trials" in first.stdout
    assert (
        "interrupted: trial 1 is FAIL (interrupted (KeyboardInterrupt)), its parameters queued "
        "as trial 2" in first.stdout
    )
    before = hpdeco.load_study("resume", store=str(store)).trials
    states = [t.state for t in before]
    assert states == [TrialState.COMPLETE, TrialState.FAIL, TrialState.WAITING]
    second = run("resume.py", "--trials", "3", "--epochs", "1", "--store", str(store))
    assert second.returncode == 0, second.stderr
    assert "study 'resume' has 3 trials" in second.stdout
    assert "trial 2 finished" in second.stdout and "trial 3 finished" in second.stdout
    after = hpdeco.load_study("resume", store=str(store)).trials
    assert [t.number for t in after] == [0, 1, 2, 3]
    assert after[:2] == before[:2]  # the first run's trials are untouched
    assert after[2].params == before[1].params  # the interrupted one ran again first


def test_from_kerastuner(tmp_path: Path) -> None:
    store = tmp_path / "kt.db"
    done = run("from_kerastuner.py", *tiny(store))
    assert done.returncode == 0, done.stderr
    assert "units_{i}" in done.stdout and "num_layers" in done.stdout
    study = hpdeco.load_study("from_kerastuner", store=str(store))
    best = study.best
    assert f"best hyperparameters: {dict(best.params)!r}" in done.stdout
    layers = best.params["num_layers"]
    assert {f"units_{i}" for i in range(layers)} <= set(best.params)
    assert "Total params" in done.stdout  # result.best_model() rebuilt the best network


def test_parallel_workers(tmp_path: Path) -> None:
    store = tmp_path / "p.db"
    done = run("parallel_workers.py", "--workers", "2", *tiny(store))
    assert done.returncode == 0, done.stderr
    assert "best: trial" in done.stdout
    study = hpdeco.load_study("parallel_workers", store=str(store))
    assert [t.number for t in study.trials] == [0, 1]
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
