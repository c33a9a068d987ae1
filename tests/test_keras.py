"""Real (tiny) Keras training through hpdeco: the loop form, tune(), metrics, failures."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import digit_model, digits_split

import hpdeco
from hpdeco import ObjectiveError, TrialState, hp

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras


@pytest.fixture(scope="module")
def digits():
    return digits_split(400, 200)


@hpdeco.tunable
def build_model():
    return digit_model(hp.Int("units", 8, 32, step=8), hp.Float("lr", 1e-3, 3e-2, sampling="log"))


def test_outside_a_search_the_function_builds_the_default_model() -> None:
    model = build_model()
    assert model.layers[0].units == 8
    assert model.optimizer.learning_rate.numpy() == pytest.approx(1e-3)


def test_loop_form_records_every_epoch_of_every_metric(digits, store: str) -> None:
    (x, y), (xv, yv) = digits
    keras.utils.set_random_seed(0)
    layer_names = []
    with hpdeco.search(objective="val_accuracy", max_trials=2, store=store, seed=0, verbose=0) as s:
        for trial in s:
            model = build_model()
            layer_names.append(model.layers[0].name)
            model.fit(
                x,
                y,
                validation_data=(xv, yv),
                epochs=3,
                batch_size=hp.Choice("batch_size", [32, 64]),
                callbacks=trial.callbacks(),
                verbose=0,
            )
    records = s.trials
    assert [r.state for r in records] == [TrialState.COMPLETE] * 2
    for r in records:
        assert set(r.metrics) == {"loss", "accuracy", "val_loss", "val_accuracy"}
        assert sorted(r.intermediate_values) == [1, 2, 3]
        assert r.value == max(r.intermediate_values.values())
        assert set(r.params) == {"units", "lr", "batch_size"}
    assert s.best.value > 0.5  # it really learned (chance is 0.1)
    # clear_session() ran after the first trial: the second one's layer numbering starts over
    assert layer_names[1] == "dense"


def test_tune_one_liner_returns_best_params_and_value(digits, store: str) -> None:
    (x, y), (xv, yv) = digits
    result = build_model.tune(
        x,
        y,
        validation_data=(xv, yv),
        epochs=2,
        max_trials=2,
        objective="val_accuracy",
        store=store,
        seed=1,
        verbose=0,
        batch_size=64,
    )
    assert result.study.name == "build_model"
    assert len(result.trials) == 2
    assert set(result.best.params) == {"units", "lr"}
    assert 0.0 < result.best.value <= 1.0


def test_a_missing_objective_names_the_metrics_that_exist(digits, store: str) -> None:
    (x, y), _ = digits
    with pytest.raises(
        ObjectiveError,
        match=r"'val_accuracy' is not in Keras' logs \(they "
        r"hold: accuracy, loss\); pass validation_data",
    ):
        with hpdeco.search(objective="val_accuracy", store=store, study="m", verbose=0) as s:
            for trial in s:
                with trial:
                    build_model().fit(x, y, epochs=1, callbacks=trial.callbacks(), verbose=0)
    (record,) = hpdeco.load_study("m", store=store).trials
    assert record.state is TrialState.FAIL


def test_nan_loss_fails_only_that_trial(digits, store: str) -> None:
    (x, y), (xv, yv) = digits
    overflowing = x * np.float32(1e38)  # activations overflow to inf, the loss to NaN
    with hpdeco.search(objective="val_loss", max_trials=2, store=store, verbose=0) as s:
        for trial in s:
            model = build_model()
            data = overflowing if trial.number == 0 else x
            model.fit(
                data, y, validation_data=(xv, yv), epochs=3, callbacks=trial.callbacks(), verbose=0
            )
    first, second = s.trials
    assert first.state is TrialState.FAIL
    assert first.reason in ("loss was nan at epoch 1", "objective 'val_loss' was nan at step 1")
    assert sorted(first.intermediate_values) == [1]  # fit stopped after the first epoch
    assert second.state is TrialState.COMPLETE


def test_tune_passes_callback_options_for_early_stopping(digits, store: str) -> None:
    (x, y), (xv, yv) = digits
    result = build_model.tune(
        x,
        y,
        validation_data=(xv, yv),
        epochs=30,
        max_trials=1,
        objective="val_loss",
        store=store,
        verbose=0,
        pruner="none",
        callback_options=dict(patience=1, min_delta=10.0),
    )
    (record,) = result.trials
    # min_delta=10 means no epoch ever counts as an improvement: stop after patience+1
    assert record.state is TrialState.COMPLETE
    assert sorted(record.intermediate_values) == [1, 2]
    assert record.reason


def test_an_unknown_tune_option_is_refused_before_any_trial(digits, store: str) -> None:
    (x, y), val = digits
    with pytest.raises(hpdeco.ConfigError, match=r"tune\(n_jobs=4\): .* neither"):
        build_model.tune(x, y, validation_data=val, store=store, n_jobs=4)
    with pytest.raises(hpdeco.ConfigError, match=r"did you mean batch_size=\?"):
        build_model.tune(x, y, validation_data=val, store=store, batchsize=32)
    assert not __import__("os").path.exists(store)  # refused before the store was touched


def test_tune_takes_every_search_option_and_help_shows_them() -> None:
    import inspect

    from hpdeco.tunable import tune

    search_options = set(inspect.signature(hpdeco.Search.__init__).parameters) - {"self", "space"}
    assert search_options <= set(inspect.signature(tune).parameters)
    assert "max_consecutive_failures" in inspect.signature(build_model.tune).parameters
