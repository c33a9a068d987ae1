"""Repeated executions and k-fold cross-validation with real (tiny) Keras training."""

from __future__ import annotations

import pytest
from conftest import digit_model

import hpdeco
from hpdeco import ConfigError, TrialState, hp

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras


@hpdeco.tunable
def build() -> keras.Model:
    return digit_model(hp.Choice("units", [4, 16]), hp.Choice("lr", [1e-3, 1e-2]), eager=True)


def test_tune_with_cv_keeps_each_folds_curve_and_scores_the_mean(digits, store: str) -> None:
    (x, y), _ = digits
    result = build.tune(
        x,
        y,
        cv=3,
        epochs=2,
        max_trials=2,
        objective="val_accuracy",
        store=store,
        verbose=0,
        seed=1,
        prune_runs=False,
    )
    for record in result.trials:
        assert record.state is TrialState.COMPLETE
        assert sorted(record.run_metrics) == [0, 1, 2]  # every fold's curve, by fold
        for curves in record.run_metrics.values():
            assert sorted(curves["val_accuracy"]) == [1, 2]
            assert {"loss", "accuracy", "val_loss"} <= curves.keys()
        values = list(record.run_values.values())
        assert record.value == pytest.approx(sum(values) / 3)
        assert record.spread is not None
    model = result.best_model()  # the best fold's weights of the best trial
    assert model.layers[0].units == result.best.params["units"]


def test_tune_with_executions_runs_each_configuration_again(digits, store: str) -> None:
    (x, y), val = digits
    result = build.tune(
        x,
        y,
        validation_data=val,
        executions_per_trial=2,
        epochs=1,
        max_trials=1,
        objective="val_accuracy",
        store=store,
        verbose=0,
        prune_runs=False,
    )
    (record,) = result.trials
    assert sorted(record.run_values) == [0, 1]
    assert record.value == pytest.approx(sum(record.run_values.values()) / 2)


def test_cv_with_validation_data_is_refused(digits, store: str) -> None:
    (x, y), val = digits
    with pytest.raises(ConfigError, match=r"each fold holds out its own validation part"):
        build.tune(x, y, validation_data=val, cv=3, store=store)


def test_refit_trains_the_best_configuration_on_all_the_data_and_records_it(
    digits, store: str
) -> None:
    (x, y), _ = digits
    result = build.tune(
        x, y, cv=2, epochs=1, max_trials=2, objective="val_accuracy", store=store, verbose=0
    )
    model = result.refit(x, y, epochs=2)
    assert model.layers[0].units == result.best.params["units"]
    assert model.optimizer.learning_rate.numpy() == pytest.approx(result.best.params["lr"])
    best = hpdeco.load_study(result.study.name, store=store).best
    assert sorted(best.refit["loss"]) == [1, 2]  # the refit's curve, kept with the best trial
    assert "val_accuracy" not in best.refit  # trained on everything: nothing held out
    other = hpdeco.build(build, {"units": 4, "lr": 1e-2})  # any configuration, by hand
    assert other.layers[0].units == 4
