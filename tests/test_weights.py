"""Keeping the best trials' weights beside the store, and rebuilding the trained best model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import digit_model

import hpdeco
from hpdeco import TrialState, UsageError, hp
from hpdeco.weights import WeightKeeper, best_model, build_with

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras


@hpdeco.tunable
def build_model():
    return digit_model(
        hp.Int("units", 8, 24, step=8), hp.Float("lr", 3e-3, 3e-2, sampling="log"), eager=True
    )


class Script(keras.callbacks.Callback):
    """Sets the epoch's ``val_score`` to chosen values, so the ranking is known."""

    def __init__(self, values: list[float]) -> None:
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs["val_score"] = self.values[epoch]


def folder_of(store: str) -> Path:
    (folder,) = Path(store + ".weights").iterdir()
    return folder


def saved(store: str) -> list[str]:
    where = Path(store + ".weights")
    return sorted(f.name for d in where.iterdir() for f in d.iterdir()) if where.exists() else []


def test_tune_returns_the_trained_best_model_with_its_best_epochs_weights(
    digits, store: str
) -> None:
    (x, y), (xv, yv) = digits
    result = build_model.tune(
        x,
        y,
        validation_data=(xv, yv),
        epochs=4,
        max_trials=3,
        store=store,
        objective="val_accuracy",
        pruner="none",
        verbose=0,
        batch_size=32,
        seed=1,
    )
    best = result.best
    assert saved(store) == [f"trial-{best.number}.npz"]  # only the best trial's; losers gone
    model = result.best_model()
    assert model.layers[0].units == best.params["units"]
    _, accuracy = model.evaluate(xv, yv, verbose=0)
    assert accuracy == pytest.approx(best.value, abs=1e-6)  # the best epoch's, trained
    assert accuracy > 0.5
    untrained = build_with(build_model, best.params)
    assert untrained.evaluate(xv, yv, verbose=0)[1] < accuracy - 0.2
    # a later process: a new search on the same store, or the study opened read-only
    with hpdeco.search(
        store=store,
        study="build_model",
        objective="val_accuracy",
        verbose=0,
        max_trials=3,
        space=build_model,
    ) as again:
        reopened = again.best_model()
    for a, b in zip(model.get_weights(), reopened.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    study = hpdeco.load_study("build_model", store=store)
    assert best_model(study, build_model).evaluate(xv, yv, verbose=0)[1] == accuracy


def run_scripted(
    store: str, data, curves: list[list[float]], *, keep_best: int, pruner: Any = "none", **kw: Any
) -> list[list[str]]:
    """One trial per curve of val_score; the kept files seen as each trial starts."""
    (x, y), (xv, yv) = data
    seen = []
    with hpdeco.search(
        store=store,
        objective="val_score",
        max_trials=len(curves),
        verbose=0,
        keep_best=keep_best,
        pruner=pruner,
        **kw,
    ) as s:
        for trial, curve in zip(s, curves, strict=True):
            seen.append(saved(store))
            model = build_model()
            model.fit(
                x,
                y,
                validation_data=(xv, yv),
                epochs=len(curve),
                batch_size=64,
                verbose=0,
                callbacks=[Script(curve), *trial.callbacks()],
            )
    seen.append(saved(store))
    return seen


def test_keep_best_keeps_the_n_best_and_deletes_those_that_drop_out(digits, store) -> None:
    seen = run_scripted(store, digits, [[0.3], [0.5], [0.4], [0.9], [0.1]], keep_best=2)
    assert seen == [
        [],
        ["trial-0.npz"],
        ["trial-0.npz", "trial-1.npz"],
        ["trial-1.npz", "trial-2.npz"],
        ["trial-1.npz", "trial-3.npz"],
        ["trial-1.npz", "trial-3.npz"],
    ]
    with np.load(folder_of(store) / "trial-3.npz") as kept:
        assert int(kept["step"]) == 1


def test_pruned_and_failed_trials_keep_nothing(digits, store: str) -> None:
    def prune_trial_1(trial):
        return trial.number == 1

    (x, y), (xv, yv) = digits
    with hpdeco.search(
        store=store, objective="val_score", max_trials=3, verbose=0, pruner=prune_trial_1
    ) as s:
        for trial in s:
            with trial:
                model = build_model()
                curve = [[0.2, 0.3], [0.8, 0.9], [0.7, 0.95]][trial.number]
                model.fit(
                    x,
                    y,
                    validation_data=(xv, yv),
                    epochs=2,
                    verbose=0,
                    callbacks=[Script(curve), *trial.callbacks()],
                )
                if trial.number == 2:
                    raise RuntimeError("crashed after fit")
    assert [t.state for t in s.trials] == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL]
    assert saved(store) == ["trial-0.npz"]


def test_trial_value_last_keeps_the_last_epoch(digits, store: str) -> None:
    run_scripted(store, digits, [[0.2, 0.9, 0.5]], keep_best=1, trial_value="last")
    with np.load(folder_of(store) / "trial-0.npz") as kept:
        assert int(kept["step"]) == 3


def test_keep_best_0_writes_nothing(digits, store: str) -> None:
    run_scripted(store, digits, [[0.3, 0.4], [0.5, 0.6]], keep_best=0)
    assert not Path(store + ".weights").exists()
    assert Path(store).exists()


def test_a_store_in_memory_keeps_the_weights_in_memory(digits) -> None:
    (x, y), (xv, yv) = digits
    result = build_model.tune(
        x,
        y,
        validation_data=(xv, yv),
        epochs=2,
        max_trials=2,
        store=":memory:",
        objective="val_accuracy",
        verbose=0,
    )
    accuracy = result.best_model().evaluate(xv, yv, verbose=0)[1]
    assert accuracy == pytest.approx(result.best.value, abs=1e-6)


@hpdeco.tunable
def build_head(outputs: int, *, hidden: int = 8):
    """A tunable taking arguments, called in the loop form as build_head(10, hidden=...)."""
    model = keras.Sequential([keras.Input((64,))])
    model.add(keras.layers.Dense(hp.Int("width", hidden, hidden * 2, step=hidden)))
    model.add(keras.layers.Dense(outputs, activation="softmax"))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_loop_form_best_model_rebuilds_with_the_tunable_the_trials_called(digits, store) -> None:
    (x, y), (xv, yv) = digits
    with hpdeco.search(store=store, objective="val_accuracy", max_trials=2, verbose=0) as s:
        for trial in s:
            model = build_head(10, hidden=4)
            model.fit(
                x, y, validation_data=(xv, yv), epochs=2, verbose=0, callbacks=trial.callbacks()
            )
    model = s.best_model()  # no function passed: the one the trials called, same arguments
    assert model.layers[0].units == s.best.params["width"] in (4, 8)
    assert model.layers[-1].units == 10
    assert model.evaluate(xv, yv, verbose=0)[1] == pytest.approx(s.best.value, abs=1e-6)


def test_loop_form_best_model_uses_the_best_trials_own_tunable(digits, store) -> None:
    (x, y), (xv, yv) = digits

    @hpdeco.tunable
    def build_deeper():
        model = build_head(10, hidden=4)
        model.add(keras.layers.Dense(10, activation="softmax"))
        return model

    with hpdeco.search(store=store, objective="val_score", max_trials=2, verbose=0) as s:
        for trial in s:  # the best trial (0) is not the last one, and built differently
            model = build_deeper() if trial.number == 0 else build_head(10, hidden=4)
            model.compile("adam", "sparse_categorical_crossentropy")
            score = [0.9] if trial.number == 0 else [0.1]
            model.fit(
                x,
                y,
                validation_data=(xv, yv),
                epochs=1,
                verbose=0,
                callbacks=[Script(score), *trial.callbacks()],
            )
    assert s.best.number == 0
    assert len(s.best_model().layers) == 3  # build_deeper's, not the last trial's build_head
    with pytest.raises(UsageError, match="do not fit"):  # a function passed in comes first
        s.best_model(lambda: build_head(10))


def test_best_model_says_what_is_missing(digits, store: str) -> None:
    with hpdeco.search(store=store, objective="score", verbose=0, max_trials=1) as s:
        with pytest.raises(UsageError, match="no COMPLETE trial yet"):
            s.best_model(build_model)
        for trial in s:
            trial.report(0.5, 1)  # a loop without the Keras callback: no weights
    with pytest.raises(UsageError, match="needs the model-building function"):
        s.best_model()
    with pytest.raises(UsageError, match=r"trial 0 .* has no kept weights"):
        s.best_model(build_model)
    with pytest.raises(UsageError, match="rank must be an int from 0 to 0"):
        s.best_model(build_model, rank=1)


def test_weights_that_do_not_fit_the_rebuilt_model_are_a_clear_error(digits, store) -> None:
    run_scripted(store, digits, [[0.5]], keep_best=1, study="w")
    study = hpdeco.load_study("w", store=store)

    @hpdeco.tunable
    def changed():
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(3)])
        return model

    with pytest.raises(UsageError, match="do not fit the model"):
        best_model(study, changed)
    assert WeightKeeper(study, 0).saved() == [0]


def test_files_of_trials_not_known_to_have_finished_are_left_alone(store: str) -> None:
    # Another worker's trial may finish between our refresh and our clean-up: its file stays.
    with hpdeco.search(store=store, objective="score", max_trials=2, verbose=0) as s:
        for trial in s:
            if trial.number == 1:
                np.savez(folder_of(store) / "trial-99.npz", step=np.asarray(1))
            trial.report(0.5 + trial.number / 10, 1)
            trial._weights = (1, [np.full(2, trial.number)])  # what the Keras callback hands
    assert saved(store) == ["trial-1.npz", "trial-99.npz"]  # trial 0 dropped out
    assert WeightKeeper(s.study, 1).load(1)[1][0].tolist() == [1, 1]
