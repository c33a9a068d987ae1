"""tune(isolate=True) runs each trial in a child process; tune(workers=N) runs N processes."""

from __future__ import annotations

import os

import pytest
from conftest import digit_model, digits_split

import hpdeco
from hpdeco import ConfigError, TrialState, hp

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras


@hpdeco.tunable
def build_small():
    model = digit_model(hp.Int("units", 8, 32, step=8))
    model.pid = os.getpid()
    return model


def tune_isolated(store: str, **options) -> hpdeco.Search:
    """build_small tuned on digits with every trial in a child process."""
    (x, y), val = digits_split(300, 150)
    return build_small.tune(
        x,
        y,
        validation_data=val,
        objective="val_accuracy",
        store=store,
        isolate=True,
        verbose=0,
        **options,
    )


def test_isolated_trials_run_in_child_processes_and_keep_everything(tmp_path) -> None:
    store = str(tmp_path / "iso.db")
    result = tune_isolated(store, epochs=2, max_trials=2, keep_best=1)
    records = result.trials
    assert [r.state for r in records] == [TrialState.COMPLETE] * 2
    assert all(sorted(r.intermediate_values) == [1, 2] for r in records)
    assert all(
        r.metrics.keys() == {"loss", "accuracy", "val_loss", "val_accuracy"} for r in records
    )
    model = result.best_model()  # the child saved the best trial's weights beside the store
    assert model.layers[0].units == result.best.params["units"]
    _, val = digits_split(300, 150)
    accuracy = model.evaluate(*val, verbose=0)[1]
    assert accuracy == pytest.approx(result.best.value, abs=0.02)


def test_workers_share_the_study(tmp_path) -> None:
    (x, y), val = digits_split(300, 150)
    store = str(tmp_path / "w.db")
    result = build_small.tune(
        x,
        y,
        validation_data=val,
        epochs=1,
        max_trials=4,
        objective="val_accuracy",
        store=store,
        workers=2,
        verbose=0,
    )
    records = result.trials
    assert [r.number for r in records] == [0, 1, 2, 3]
    assert all(r.state is TrialState.COMPLETE for r in records)


def test_a_private_store_cannot_be_shared() -> None:
    with pytest.raises(ConfigError, match="store=':memory:' is private"):
        build_small.tune(None, None, store=":memory:", workers=2)


def test_an_isolated_trial_takes_its_queued_values(tmp_path) -> None:
    store = str(tmp_path / "iso.db")
    with hpdeco.search(
        objective="val_accuracy", store=store, study="build_small", space=build_small, verbose=0
    ) as s:
        s.enqueue({"units": 24})
    result = tune_isolated(store, epochs=1, max_trials=1, keep_best=0, seed=0)
    (record,) = result.trials
    assert record.state is TrialState.COMPLETE
    assert record.params == {"units": 24}  # the child drew it afresh before
