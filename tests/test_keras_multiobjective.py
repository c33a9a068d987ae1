"""Several objectives with real (tiny) Keras training: the built-in costs (``params``,
``model_bytes``, ``latency_ms``), constraints on them, pruning recorded, the Pareto front,
and the KerasTuner facade's list objectives."""

from __future__ import annotations

import pytest
from conftest import digit_model, digits_split

import hpdeco
from hpdeco import TrialState, hp

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras


@pytest.fixture(scope="module")
def digits():
    return digits_split(300, 150)


@hpdeco.tunable
def build_model():
    return digit_model(
        hp.Int("units", 4, 64, step=4), hp.Float("lr", 1e-3, 3e-2, sampling="log"), eager=True
    )


def test_tune_measures_size_and_latency_and_keeps_infeasible_trials(digits, store: str) -> None:
    (x, y), (xv, yv) = digits
    limit = digit_model(32).count_params()
    result = build_model.tune(
        x,
        y,
        validation_data=(xv, yv),
        epochs=3,
        max_trials=6,
        objective=["val_accuracy", "params", "model_bytes", "latency_ms"],
        constraints={"params": ("<=", limit)},
        pruner="none",
        store=store,
        seed=2,
        verbose=0,
        batch_size=64,
    )
    trials = result.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 6
    for t in trials:
        accuracy, params, size, latency = t.values
        assert accuracy == t.value
        assert params == digit_model(t.params["units"]).count_params()
        assert size > params  # float32 weights, 4 bytes each, plus the file's structure
        assert 0 < latency < 50  # milliseconds per sample
        assert t.feasible == (params <= limit)
    assert any(not t.feasible for t in trials) and any(t.feasible for t in trials)
    front = result.best_trials
    assert front and all(t.feasible for t in front)
    assert result.best.number == front[0].number
    model = result.best_model()
    assert model.count_params() == front[0].values[1]


def test_pruning_with_two_objectives_is_recorded(digits, store: str) -> None:
    (x, y), (xv, yv) = digits
    keras.utils.set_random_seed(0)
    with hpdeco.search(
        objective=["val_accuracy", ("params", "min")],
        pruner=hpdeco.pruners.MedianPruner(n_startup_trials=2),
        store=store,
        seed=4,
        max_trials=8,
        verbose=0,
    ) as search:
        for trial in search:
            model = digit_model(
                hp.Choice("units", [16, 32]), hp.Float("lr", 1e-4, 3e-2, sampling="log"), eager=True
            )
            model.fit(
                x,
                y,
                validation_data=(xv, yv),
                epochs=4,
                batch_size=64,
                callbacks=trial.callbacks(),
                verbose=0,
            )
    trials = search.trials
    pruned = [t for t in trials if t.state is TrialState.PRUNED]
    assert pruned, [(t.params, t.value) for t in trials]
    for t in trials:
        assert t.values[1] == digit_model(t.params["units"]).count_params()
    assert all(t.last_step < 4 for t in pruned)


def test_the_keras_tuner_facade_takes_a_list_of_objectives(digits, tmp_path) -> None:
    from hpdeco import keras_tuner as kt

    (x, y), (xv, yv) = digits

    def build(hp):
        return digit_model(hp.Int("units", 8, 32, step=8), eager=True)

    tuner = kt.RandomSearch(
        build,
        objective=["val_accuracy", kt.Objective("params", "min")],
        max_trials=3,
        directory=str(tmp_path),
        project_name="mo",
        seed=1,
    )
    tuner.search(x, y, validation_data=(xv, yv), epochs=2, batch_size=64, verbose=0)
    with hpdeco.load_study("mo", store=str(tmp_path / "hpdeco.db")) as study:
        assert [o.name for o in study.objectives] == ["val_accuracy", "params"]
        front = study.best_trials
    best = tuner.get_best_hyperparameters(1)[0]
    assert best.values["units"] == front[0].params["units"]
