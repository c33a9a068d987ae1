"""The Keras callbacks on real (tiny) models: pruning, intervals, early stopping with the
best weights, NaN losses, and user callbacks that must not leak state between trials."""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
import pytest
from conftest import digit_model

import hpdeco
from hpdeco import ConfigError, TrialState, hp

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras

from hpdeco.callbacks import TrialCallback, fresh  # noqa: E402


@hpdeco.tunable
def build_model():
    return digit_model(
        hp.Int("units", 8, 16, step=8), hp.Float("lr", 1e-3, 1e-2, sampling="log"), eager=True
    )


class Script(keras.callbacks.Callback):
    """Writes chosen values into the epoch's logs before the trial's callback reads them."""

    def __init__(self, **series: list[float]) -> None:
        super().__init__()
        self.series = series

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        for name, values in self.series.items():
            if epoch < len(values):
                logs[name] = values[epoch]


class Snapshots(keras.callbacks.Callback):
    """The model's weights at the end of every epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.weights: list[list[np.ndarray]] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.weights.append(self.model.get_weights())


def search(store: str, **kw: Any) -> hpdeco.Search:
    kw.setdefault("objective", "val_accuracy")
    kw.setdefault("max_trials", 1)
    return hpdeco.search(store=store, verbose=0, seed=0, keep_best=kw.pop("keep_best", 0), **kw)


def fit(model, data, trial_callbacks, *, epochs: int, extra=(), before=(), **kw):
    (x, y), (xv, yv) = data
    return model.fit(
        x,
        y,
        validation_data=(xv, yv),
        epochs=epochs,
        batch_size=64,
        callbacks=[*before, *trial_callbacks, *extra],
        verbose=0,
        **kw,
    )


def test_a_pruned_trial_stops_at_that_epoch_and_the_search_goes_on(digits, store: str) -> None:
    def prune_at_2(trial):
        return trial.number == 0 and max(trial.intermediate_values) >= 2

    histories = []
    with search(store, max_trials=2, pruner=prune_at_2) as s:
        for trial in s:
            history = fit(build_model(), digits, trial.callbacks(), epochs=5)
            histories.append(history.history["val_accuracy"])
            assert trial.max_steps == 5  # fit(epochs=) told the trial
    first, second = s.trials
    assert len(histories[0]) == 2  # fit ended after epoch 2, without an exception
    assert (first.state, first.last_step) == (TrialState.PRUNED, 2)
    assert first.value == pytest.approx(histories[0][1])
    assert sorted(first.metrics["loss"]) == [1, 2]
    assert (second.state, second.last_step, len(histories[1])) == (TrialState.COMPLETE, 5, 5)


def test_hyperband_learns_the_epochs_from_fit(digits, store: str) -> None:
    with search(store, max_trials=2, pruner="hyperband") as s:
        for trial in s:
            fit(build_model(), digits, trial.callbacks(), epochs=3)
    assert {t.state for t in s.trials} <= {TrialState.COMPLETE, TrialState.PRUNED}


def asked_steps(store: str, data, *, epochs: int, study: str, **fit_kw: Any) -> tuple:
    asked: list[int] = []

    def spy(trial):
        asked.append(max(trial.intermediate_values))
        return False

    interval = fit_kw.pop("interval", 1)
    with search(store, pruner=spy, study=study) as s:
        for trial in s:
            fit(build_model(), data, trial.callbacks(interval=interval), epochs=epochs, **fit_kw)
    (record,) = s.trials
    return asked, sorted(record.intermediate_values), sorted(record.metrics["loss"])


def test_interval_and_validation_freq_decide_when_the_pruner_is_asked(digits, store: str) -> None:
    assert asked_steps(store, digits, epochs=4, study="every") == (
        [1, 2, 3, 4],
        [1, 2, 3, 4],
        [1, 2, 3, 4],
    )
    assert asked_steps(store, digits, epochs=5, study="interval", interval=2)[0] == [2, 4]
    # validation every 2nd epoch: the objective exists at epochs 2, 4, 6 only; all epochs'
    # losses are still recorded
    assert asked_steps(store, digits, epochs=6, study="freq", validation_freq=2) == (
        [2, 4, 6],
        [2, 4, 6],
        [1, 2, 3, 4, 5, 6],
    )
    # both: asked at the first objective epoch at or past every 3rd epoch
    assert asked_steps(store, digits, epochs=6, study="both", validation_freq=2, interval=3)[0] == [
        4,
        6,
    ]


def test_early_stopping_completes_with_the_reason_and_restores_the_best_weights(
    digits, store: str
) -> None:
    script = Script(val_score=[0.1, 0.5, 0.53, 0.3, 0.9, 0.9])
    snapshots = Snapshots()
    with search(store, objective="val_score") as s:
        for trial in s:
            model = build_model()
            options = {"patience": 2, "min_delta": 0.05, "restore_best_weights": True}
            history = fit(
                model,
                digits,
                trial.callbacks(**options),
                epochs=6,
                before=[script],
                extra=[snapshots],
            )
    (record,) = s.trials
    # 0.53 at epoch 3 is not 0.05 better than 0.5: patience runs out at epoch 4
    assert len(history.history["loss"]) == 4
    assert (record.state, record.last_step, record.value) == (TrialState.COMPLETE, 4, 0.53)
    assert record.reason == (
        "early stopping at epoch 4: val_score did not improve by more than 0.05 for 2 epochs "
        "(best 0.5 at epoch 2)"
    )
    # the weights of the epoch that gave the trial its value (3) are back, not the last ones
    best, last = snapshots.weights[2], snapshots.weights[3]
    for got, want in zip(model.get_weights(), best, strict=True):
        np.testing.assert_array_equal(got, want)
    assert any(not np.array_equal(a, b) for a, b in zip(best, last, strict=True))


def test_restore_best_weights_without_early_stopping(digits, store: str) -> None:
    snapshots = Snapshots()
    with search(store, objective="val_loss") as s:
        for trial in s:
            model = build_model()
            fit(
                model,
                digits,
                trial.callbacks(restore_best_weights=True),
                epochs=4,
                before=[Script(val_loss=[0.9, 0.2, 0.5, 0.4])],
                extra=[snapshots],
            )
    for got, want in zip(model.get_weights(), snapshots.weights[1], strict=True):
        np.testing.assert_array_equal(got, want)
    assert s.trials[0].reason is None and s.trials[0].last_step == 4


def test_a_nan_loss_fails_only_that_trial_at_once(digits, store: str) -> None:
    lengths = []
    with search(store, max_trials=2, pruner="none") as s:
        for trial in s:
            poison = [Script(loss=[0.5, math.nan])] if trial.number == 0 else []
            history = fit(build_model(), digits, trial.callbacks(), epochs=4, before=poison)
            lengths.append(len(history.history["loss"]))
    first, second = s.trials
    assert lengths == [2, 4]
    assert (first.state, first.reason, first.value) == (
        TrialState.FAIL,
        "loss was nan at epoch 2",
        None,
    )
    assert second.state is TrialState.COMPLETE


class Counter(keras.callbacks.Callback):
    """A callback with state kept across epochs, set up once in __init__ (as many are)."""

    seen: list[int] = []  # noqa: RUF012 - shared on purpose: what every copy saw

    def __init__(self) -> None:
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epochs += 1

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        Counter.seen.append(self.epochs)


def test_tune_gives_every_trial_fresh_copies_of_the_users_callbacks(digits, store: str) -> None:
    (x, y), validation = digits
    counter = Counter()
    Counter.seen = []
    stopper = keras.callbacks.ModelCheckpoint(
        str(store) + ".keras", monitor="val_accuracy", save_best_only=True
    )
    best_before = stopper.best
    build_model.tune(
        x,
        y,
        validation_data=validation,
        epochs=2,
        max_trials=2,
        store=store,
        verbose=0,
        keep_best=0,
        objective="val_accuracy",
        pruner="none",
        batch_size=64,
        callbacks=[counter, stopper],
    )
    assert Counter.seen == [2, 2]  # the same object reused would have seen 2, then 4
    assert counter.epochs == 0 and stopper.best == best_before  # the originals are untouched


def test_fresh_copies_for_the_loop_form_and_says_what_cannot_be_copied(digits) -> None:
    counter = Counter()
    Counter.seen = []
    model = build_model()
    for _ in range(2):
        fit(model, digits, [], epochs=1, extra=fresh([counter]))
    assert Counter.seen == [1, 1] and counter.epochs == 0

    class Locked(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.lock = threading.Lock()

    with pytest.raises(ConfigError, match=r"cannot be copied for each trial.*inside the loop"):
        fresh([Locked()])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"interval": 0}, "interval must be an int >= 1"),
        ({"patience": 0}, "patience must be an int >= 1"),
        ({"min_delta": -1.0}, "min_delta must be a finite number >= 0"),
    ],
)
def test_bad_callback_options_are_config_errors(store: str, options, message) -> None:
    with search(store) as s:
        for trial in s:
            with pytest.raises(ConfigError, match=message):
                trial.callbacks(**options)
            trial.report(0.5, 1)


def test_a_callback_outside_a_trial_says_how_to_get_one() -> None:
    with pytest.raises(hpdeco.UsageError, match="outside a trial"):
        TrialCallback()
