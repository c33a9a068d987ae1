"""Several runs per trial: repeated executions and k-fold folds, their curves in the store,
the trial's value as the mean, and pruning between runs. Keras-free (report by hand)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import hpdeco
from hpdeco import ConfigError, TrialState, UsageError, hp
from hpdeco.runs import split


def search(store: str, **options) -> hpdeco.Search:
    options.setdefault("verbose", 0)
    options.setdefault("study", "r")
    return hpdeco.search(objective="acc", store=store, **options)


# -- executions -------------------------------------------------------------------------------


def test_executions_keep_every_curve_and_the_value_is_their_mean(store: str) -> None:
    curves = {0: [0.5, 0.7], 1: [0.6, 0.8], 2: [0.4, 0.9]}  # each run's accuracy per epoch
    with search(store, max_trials=1, pruner="none") as s:
        for trial in s:
            for run in trial.runs(3):
                for epoch, value in enumerate(curves[run.index], start=1):
                    run.report({"acc": value, "loss": 1 - value}, epoch)
    (record,) = s.trials
    assert record.state is TrialState.COMPLETE
    assert record.run_values == {0: 0.7, 1: 0.8, 2: 0.9}  # each run's best epoch
    assert record.value == pytest.approx(0.8)  # their mean, not the best of the mean curve
    assert record.run_metrics[2]["loss"] == {1: pytest.approx(0.6), 2: pytest.approx(0.1)}
    assert record.intermediate_values == {1: pytest.approx(0.5), 2: pytest.approx(0.8)}
    std, low, high = record.spread
    assert (std, low, high) == (pytest.approx(0.1), 0.7, 0.9)
    # pruners see each trial's mean over its runs at a step
    assert s.study.store.values_at(s.study.id, "acc", 2) == {0: pytest.approx(0.8)}


def test_one_trial_runs_once_per_call_and_options_are_checked(store: str) -> None:
    with search(store, max_trials=1) as s:
        for trial in s:
            with pytest.raises(ConfigError, match=r"give one of them"):
                trial.runs(2, cv=3)
            with pytest.raises(ConfigError, match=r"pass x= and y="):
                trial.runs(cv=3)
            for run in trial.runs(2):
                run.report(0.5, 1)
            with pytest.raises(UsageError, match=r"runs\(...\) was called twice"):
                trial.runs(2)


# -- folds ------------------------------------------------------------------------------------


def test_folds_are_disjoint_cover_the_data_and_are_stratified() -> None:
    y = np.array([0] * 50 + [1] * 30 + [2] * 20)
    x = np.arange(100).reshape(100, 1)
    folds = split(5, x, y, seed=3)
    held = np.concatenate([held for _, held in folds])
    assert sorted(held.tolist()) == list(range(100))  # every sample held out exactly once
    for train, held_out in folds:
        assert not set(train.tolist()) & set(held_out.tolist())
        assert len(train) + len(held_out) == 100
        counts = np.bincount(y[held_out], minlength=3)
        assert counts.tolist() == [10, 6, 4]  # each class in its share
    assert [h.tolist() for _, h in split(5, x, y, seed=3)] == [h.tolist() for _, h in folds]
    regression = split(4, x, np.linspace(0, 1, 100), seed=3)
    assert sorted(len(h) for _, h in regression) == [25, 25, 25, 25]


def test_a_scikit_learn_splitter_is_used_as_it_is() -> None:
    from sklearn.model_selection import KFold

    x, y = np.zeros((12, 2)), np.arange(12)
    folds = split(KFold(3), x, y, seed=0)
    assert [h.tolist() for _, h in folds] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    with pytest.raises(ConfigError, match=r"cv=1: must be an int from 2"):
        split(1, x, y, seed=0)


def test_each_fold_gets_its_slice_of_the_data(store: str) -> None:
    x = np.arange(30).reshape(30, 1).astype("float32")
    y = np.array([0, 1, 2] * 10)
    seen = []
    with search(store, max_trials=1, pruner="none") as s:
        for trial in s:
            for run in trial.runs(cv=3, x=x, y=y):
                seen.append(run.validation_data[0][:, 0].tolist())
                assert len(run.x) == 20 and len(run.y) == 20
                run.report(float(run.fold), 1)
    assert sorted(v for fold in seen for v in fold) == list(range(30))
    (record,) = s.trials
    assert record.run_values == {0: 0.0, 1: 1.0, 2: 2.0}
    assert record.value == pytest.approx(1.0)


# -- pruning between runs ---------------------------------------------------------------------

FOLDS = {"good": [0.88, 0.92, 0.90, 0.91, 0.89], "bad": [0.5] * 5, "close": [0.89] * 5}


def cv_search(store: str, kinds: list[str], **options) -> hpdeco.Search:
    x, y = np.zeros((10, 1)), np.array([0, 1] * 5)
    with search(store, max_trials=len(kinds), sampler="grid", **options) as s:
        for trial in s:
            kind = hp.Choice("kind", kinds)
            for run in trial.runs(cv=5, x=x, y=y):
                run.report(FOLDS[kind][run.fold], 1)
    return s


def test_a_hopeless_trial_stops_after_fewer_folds(store: str) -> None:
    s = cv_search(store, ["good", "bad", "close"])
    good, bad, close = s.trials
    assert good.state is TrialState.COMPLETE and len(good.run_values) == 5
    assert bad.state is TrialState.PRUNED and list(bad.run_values) == [0]  # one fold of 5
    assert bad.reason.startswith("pruned after 1 of 5 runs: mean 0.5")
    assert bad.value == pytest.approx(0.5)
    # within the best's fold-to-fold spread (0.016) of it: it goes on
    assert close.state is TrialState.COMPLETE and len(close.run_values) == 5
    assert close.value == pytest.approx(0.89)


def test_fold_pruning_can_be_turned_off(store: str) -> None:
    s = cv_search(store, ["good", "bad"], pruner="none")
    assert [len(r.run_values) for r in s.trials] == [5, 5]
    assert [r.state for r in s.trials] == [TrialState.COMPLETE] * 2


def test_a_trial_interrupted_mid_fold_runs_again_from_its_first_fold(store: str) -> None:
    x, y = np.zeros((10, 1)), np.array([0, 1] * 5)
    with pytest.raises(KeyboardInterrupt):
        with search(store, max_trials=2) as s:
            for trial in s:
                value = hp.Float("v", 0.1, 0.9)
                for run in trial.runs(cv=5, x=x, y=y):
                    if run.fold == 2:
                        raise KeyboardInterrupt
                    run.report(value, 1)
    with search(store, max_trials=2) as s:
        for trial in s:
            value = hp.Float("v", 0.1, 0.9)
            for run in trial.runs(cv=5, x=x, y=y):
                run.report(value, 1)
    first, again, *_ = s.trials
    assert first.state is TrialState.FAIL and first.reason.startswith("interrupted")
    assert again.params == first.params and again.state is TrialState.COMPLETE
    assert list(again.run_values) == [0, 1, 2, 3, 4]
    assert again.value == pytest.approx(first.params["v"])
    assert all(math.isfinite(v) for v in again.run_values.values())


def test_the_spread_is_shown_by_summary_the_command_and_the_exports(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from conftest import run_cli

    curves = {0: [0.5, 0.7], 1: [0.6, 0.8], 2: [0.4, 0.9]}
    with search(store, max_trials=1, pruner="none") as s:
        for trial in s:
            for run in trial.runs(3):
                for epoch, value in enumerate(curves[run.index], start=1):
                    run.report(value, epoch)
    assert "the mean of 3 runs (std 0.1, min 0.7, max 0.9)" in s.summary()
    code, out, _ = run_cli(capsys, "trials", "r", "--store", store)
    assert code == 0 and "± std" in out and " 3 " in out and "0.1" in out
    code, out, _ = run_cli(capsys, "best", "r", "--store", store)
    assert "the mean of its 3 runs" in out and "runs: 3 (0.7, 0.8, 0.9); std 0.1" in out
    code, out, _ = run_cli(capsys, "export", "r", "--store", store, "--format", "json", "--metrics")
    (row,) = json.loads(out)["trials"]
    assert (row["runs"], row["value_std"], row["value_min"], row["value_max"]) == (
        3,
        pytest.approx(0.1),
        0.7,
        0.9,
    )
    assert row["run_values"] == {"0": 0.7, "1": 0.8, "2": 0.9}
    assert [r["acc"] for r in row["run_history"]["2"]] == [0.4, 0.9]


def test_a_trial_pruned_after_its_first_run_keeps_that_runs_curve(store: str) -> None:
    with search(store, max_trials=2) as s:
        for trial in s:
            for run in trial.runs(3):
                run.report({"acc": 0.9 if trial.number == 0 else 0.1, "loss": 1.0}, 1)
    first, pruned = s.trials
    assert sorted(first.run_metrics) == [0, 1, 2]
    assert pruned.state is TrialState.PRUNED and pruned.run_values == {0: 0.1}
    assert sorted(pruned.run_metrics) == [0]
