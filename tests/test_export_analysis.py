"""Reading a study back: records, the pandas dataframe, parameter importance."""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

import pytest
from conftest import demo_search, quality

import hpdeco
from hpdeco import MissingDependency, TrialState, UsageError, hp
from hpdeco.analysis import (
    COLUMNS,
    best_so_far,
    param_importance,
    to_records,
    trials_dataframe,
)


def build(store: str, trials: int = 8) -> hpdeco.Search:
    """Trial 2 fails, trial 4 is pruned at step 2, ``rate`` is conditional."""
    return demo_search(
        store,
        trials=trials,
        epochs=3,
        pruned=(4,),
        units=False,
        curve=lambda d, e: quality(d["lr"]) * e / 3,
    )


@pytest.fixture(scope="module")
def search(tmp_path_factory: pytest.TempPathFactory) -> hpdeco.Search:
    return build(str(tmp_path_factory.mktemp("analysis") / "h.db"))


def test_records_hold_every_trial_as_plain_data(search: hpdeco.Search) -> None:
    rows = to_records(search)
    assert [r["number"] for r in rows] == list(range(8))
    assert json.loads(json.dumps(rows)) == rows  # plain JSON types only
    assert list(rows[0]) == [*COLUMNS, "params"]
    failed, pruned, done = rows[2], rows[4], rows[0]
    assert (failed["state"], failed["value"], failed["reason"]) == (
        "FAIL",
        None,
        "RuntimeError: diverged",
    )
    assert (pruned["state"], pruned["epochs"], pruned["best_step"]) == ("PRUNED", 2, 2)
    assert done["state"] == "COMPLETE" and done["epochs"] == 3 and done["duration_s"] >= 0
    assert done["started_at"] <= done["finished_at"]  # ISO 8601 sorts as time
    assert set(done["params"]) >= {"lr", "activation", "dropout"}
    assert ("rate" in done["params"]) == done["params"]["dropout"]


def test_records_filter_by_state_and_add_history(search: hpdeco.Search) -> None:
    rows = to_records(search, states=["pruned", TrialState.FAIL], metrics=True)
    assert [(r["number"], r["state"]) for r in rows] == [(2, "FAIL"), (4, "PRUNED")]
    assert rows[0]["history"] == []
    assert [h["step"] for h in rows[1]["history"]] == [1, 2]
    assert rows[1]["history"][1]["loss"] == 0.5
    with pytest.raises(UsageError, match="state='DONE' is not a trial state; use one of"):
        to_records(search, states=["DONE"])


def test_the_study_and_the_search_both_offer_them(search: hpdeco.Search) -> None:
    pytest.importorskip("pandas")
    study = hpdeco.load_study("demo", store=search.study.store.path)
    assert study.to_records() == search.to_records() == to_records(study)
    assert study.trials_dataframe().equals(search.trials_dataframe())
    with pytest.raises(UsageError, match="is not a study"):
        to_records("demo")  # type: ignore[arg-type]


def test_dataframe_columns_types_and_missing_parameters(search: hpdeco.Search) -> None:
    pytest.importorskip("pandas")
    df = trials_dataframe(search)
    assert list(df.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert {"params_lr", "params_activation", "params_dropout", "params_rate"} <= set(df.columns)
    assert len(df) == 8 and list(df["number"]) == list(range(8))
    assert df["value"].dtype == float and math.isnan(df.loc[2, "value"])
    assert str(df["started_at"].dtype).startswith("datetime64")
    assert df["duration_s"].ge(0).all()
    without = df[df["params_dropout"] == False]  # noqa: E712
    assert without["params_rate"].isna().all()
    best = df[df.state == "COMPLETE"].sort_values("value").iloc[-1]
    assert int(best["number"]) == search.best.number
    only = trials_dataframe(search, states=["COMPLETE"])
    assert set(only["state"]) == {"COMPLETE"} and len(only) == 6


def test_dataframe_of_a_study_without_trials(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    store = str(tmp_path / "h.db")
    with hpdeco.search(objective="loss", max_trials=1, store=store, study="e", verbose=0):
        pass
    df = trials_dataframe(hpdeco.load_study("e", store=store))
    assert df.empty and list(df.columns) == list(COLUMNS)


def test_dataframe_without_pandas_says_how_to_install_it(
    search: hpdeco.Search, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependency, match=r'pip install "hpdeco\[pandas\]"') as exc:
        trials_dataframe(search)
    assert isinstance(exc.value, ImportError)
    assert to_records(search)  # needs nothing


def test_importance_finds_the_parameter_that_matters(tmp_path: Path) -> None:
    rng = random.Random(0)
    with hpdeco.search(
        objective="loss",
        max_trials=40,
        store=str(tmp_path / "i.db"),
        seed=1,
        verbose=0,
        sampler="random",
    ) as search:
        for trial in search:
            x = hp.Float("x", 1e-4, 1.0, sampling="log")
            hp.Choice("noise", ["a", "b", "c"])
            hp.Int("units", 1, 100)
            hp.Fixed("seed", 3)
            trial.report((math.log10(x) + 2) ** 2 + rng.gauss(0, 0.05), step=1)
    scores = param_importance(search)
    assert next(iter(scores)) == "x" and scores["x"] > 0.6
    assert scores["noise"] < 0.15 and scores["units"] < 0.15
    assert "seed" not in scores  # a constant explains nothing
    assert all(0.0 <= s <= 1.0 for s in scores.values())


def test_importance_of_a_choice_and_a_conditional_parameter(tmp_path: Path) -> None:
    with hpdeco.search(
        objective="score",
        max_trials=24,
        store=str(tmp_path / "c.db"),
        seed=2,
        verbose=0,
        sampler="random",
    ) as search:
        for trial in search:
            optimizer = hp.Choice("optimizer", ["adam", "sgd"])
            if optimizer == "sgd":
                hp.Float("momentum", 0.0, 0.9)
            hp.Float("other", 0.0, 1.0)
            trial.report(1.0 if optimizer == "adam" else 0.0, step=1)
    scores = param_importance(search)
    assert scores["optimizer"] == pytest.approx(1.0)
    assert scores["momentum"] > 0.9  # drawn only with sgd: present vs absent is the split
    assert scores["other"] < 0.2


def test_importance_needs_three_complete_trials(search: hpdeco.Search, tmp_path: Path) -> None:
    assert param_importance(search)  # 6 COMPLETE trials: fine
    small = build(str(tmp_path / "s.db"), trials=2)
    with pytest.raises(UsageError, match=r"has 2 COMPLETE trial\(s\); .* needs at least 3"):
        param_importance(small)


def test_best_so_far_follows_the_direction(search: hpdeco.Search) -> None:
    steps = best_so_far(search.trials, "max")
    complete = [t for t in search.trials if t.state is TrialState.COMPLETE]
    assert [n for n, _ in steps] == [t.number for t in complete]
    values = [v for _, v in steps]
    assert values == sorted(values) and values[-1] == search.best.value
    lowest = best_so_far(search.trials, "min")
    assert [v for _, v in lowest] == sorted((v for _, v in lowest), reverse=True)
    pd = pytest.importorskip("pandas")
    assert pd.Series([v for _, v in lowest]).is_monotonic_decreasing


def test_parameter_columns_follow_the_order_a_trial_draws_them(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    with hpdeco.search(
        objective="loss",
        max_trials=3,
        store=str(tmp_path / "o.db"),
        verbose=0,
        seed=0,
        sampler="random",
    ) as search:
        for trial in search:
            layers = trial.number + 1  # trial 2 is the first with units_2
            for i in range(layers):
                hp.Int(f"units_{i}", 1, 8)
            trial.report(hp.Float("lr", 0.1, 1.0), step=1)
    assert list(trials_dataframe(search).columns[len(COLUMNS) :]) == [
        "params_units_0",
        "params_units_1",
        "params_units_2",
        "params_lr",
    ]
