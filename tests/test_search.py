"""The search loop on a real SQLite file, without Keras: trials, failures, resume, samplers."""

from __future__ import annotations

import math
import sqlite3
import subprocess
import sys
import time

import pytest

import hpdeco
from hpdeco import ConfigError, ObjectiveError, SpaceError, TrialState, UsageError, hp


def quadratic() -> float:
    x = hp.Float("x", -5.0, 5.0)
    return (x - 1.0) ** 2


def run(store: str, max_trials: int, objective=quadratic, **options) -> hpdeco.Search:
    options.setdefault("verbose", 0)
    options.setdefault("study", "s")
    with hpdeco.search(objective="loss", max_trials=max_trials, store=store, **options) as s:
        for trial in s:
            trial.report(objective(), step=1)
    return s


def test_loop_runs_max_trials_and_keeps_every_trial(store: str) -> None:
    s = run(store, 6, seed=0)
    records = s.trials
    assert [r.number for r in records] == list(range(6))
    assert all(r.state is TrialState.COMPLETE for r in records)
    for r in records:
        assert r.value == pytest.approx((r.params["x"] - 1.0) ** 2)
        assert r.intermediate_values == {1: r.value}
        assert r.duration is not None and r.duration >= 0
    assert s.best.value == min(r.value for r in records)
    assert s.stopped_because == "max_trials"
    assert "COMPLETE 6" in s.summary()


def test_hp_works_anywhere_in_a_trial_and_draws_once_per_name(store: str) -> None:
    def helper() -> int:
        return hp.Int("units", 1, 1000)

    with hpdeco.search(objective="loss", max_trials=3, store=store, verbose=0) as s:
        for trial in s:
            first, second = helper(), hp.Int("units", 1, 1000)
            assert first == second == trial.params["units"]
            trial.report(float(first))
    assert hp.Int("units", 1, 1000) == 1  # outside the search again: the default


def test_only_parameters_reached_belong_to_the_trial(store: str) -> None:
    with hpdeco.search(objective="loss", max_trials=12, store=store, seed=3, verbose=0) as s:
        for trial in s:
            rate = hp.Float("rate", 0.1, 0.5) if hp.Boolean("dropout") else 0.0
            trial.report(rate)
    for record in s.trials:
        assert ("rate" in record.params) == record.params["dropout"]
    assert {r.params["dropout"] for r in s.trials} == {False, True}


def test_resume_continues_numbers_and_counts_earlier_trials(store: str) -> None:
    first = run(store, 3, seed=1)
    assert len(first.trials) == 3
    second = run(store, 5, seed=1)
    assert [r.number for r in second.trials] == [0, 1, 2, 3, 4]
    third = run(store, 5, seed=1)  # nothing left to do
    assert len(third.trials) == 5


def test_changed_space_warns_naming_each_parameter(store: str) -> None:
    run(store, 2, objective=lambda: hp.Int("u", 1, 10) + hp.Float("v", 0.0, 1.0))
    with pytest.warns(hpdeco.SpaceChangedWarning, match=r"'u': max_value 10 -> 20"):
        run(store, 3, objective=lambda: hp.Int("u", 1, 20) + hp.Float("v", 0.0, 1.0))
    study = hpdeco.load_study("s", store=store)
    assert study.space["u"].max_value == 20


def test_one_name_two_specifications_in_a_run_is_an_error(store: str) -> None:
    with pytest.raises(SpaceError, match=r"'u' is declared twice.*max_value 10 -> 5"):
        with hpdeco.search(objective="loss", store=store, study="s", verbose=0) as s:
            for trial in s:
                with trial:  # set-up mistakes are not swallowed by `with trial:`
                    trial.report(hp.Int("u", 1, 10) + hp.Int("u", 1, 5))
    (record,) = hpdeco.load_study("s", store=store).trials
    assert record.state is TrialState.FAIL
    assert record.reason.startswith("SpaceError")


def test_exception_in_with_trial_fails_that_trial_and_goes_on(store: str) -> None:
    with hpdeco.search(objective="loss", max_trials=4, store=store, verbose=0) as s:
        for trial in s:
            with trial:
                x = hp.Float("x", 0.0, 1.0)
                if trial.number == 1:
                    raise RuntimeError("out of memory, say")
                trial.report(x)
    states = [r.state for r in s.trials]
    assert states == [
        TrialState.COMPLETE,
        TrialState.FAIL,
        TrialState.COMPLETE,
        TrialState.COMPLETE,
    ]
    failed = s.trials[1]
    assert failed.reason == "RuntimeError: out of memory, say"
    assert "Traceback" in failed.traceback and "raise RuntimeError" in failed.traceback
    assert "x" in failed.params  # what it tried is kept


def test_exception_escaping_the_loop_body_fails_the_trial_and_propagates(store: str) -> None:
    with pytest.raises(ZeroDivisionError):
        with hpdeco.search(objective="loss", store=store, study="s", verbose=0) as s:
            for trial in s:
                trial.report(1.0 / 0)
    record = hpdeco.load_study("s", store=store).trials[0]
    assert record.state is TrialState.FAIL
    assert record.reason.startswith("ZeroDivisionError")


def test_keyboard_interrupt_leaves_a_consistent_store_and_propagates(store: str) -> None:
    with pytest.raises(KeyboardInterrupt):
        with hpdeco.search(objective="loss", max_trials=5, store=store, study="s", verbose=0) as s:
            for trial in s:
                with trial:
                    trial.report(quadratic(), step=1)
                    if trial.number == 2:
                        raise KeyboardInterrupt
    study = hpdeco.load_study("s", store=store)
    states = [r.state for r in study.trials]
    assert states == [TrialState.COMPLETE] * 2 + [TrialState.FAIL, TrialState.WAITING]
    assert study.trials[2].reason == "interrupted (KeyboardInterrupt)"
    assert study.trials[2].intermediate_values  # its reported step is kept
    assert study.trials[3].params == study.trials[2].params  # queued to run again
    resumed = run(store, 5)
    # The interrupted trial runs first and does not use up max_trials: 5 counted trials.
    assert resumed.trials[3].params == study.trials[2].params
    assert resumed.trials[3].state is TrialState.COMPLETE
    assert [r.number for r in resumed.trials] == [0, 1, 2, 3, 4, 5]
    assert not [r for r in resumed.trials if r.state is TrialState.RUNNING]


def test_nan_or_inf_fails_the_trial_with_a_reason(store: str) -> None:
    with hpdeco.search(objective="loss", max_trials=3, store=store, verbose=0) as s:
        for trial in s:
            value = [0.5, math.nan, math.inf][trial.number]
            for step in (1, 2):
                trial.report(value, step=step)
                if trial.should_prune():
                    break
    records = s.trials
    assert records[0].state is TrialState.COMPLETE
    assert records[1].state is TrialState.FAIL
    assert records[1].reason == "objective 'loss' was nan at step 1"
    assert records[1].last_step == 1 and math.isnan(records[1].intermediate_values[1])
    assert records[2].reason == "objective 'loss' was inf at step 1"
    assert s.best.number == 0


def test_a_trial_without_a_value_fails_saying_how_to_report(store: str) -> None:
    with hpdeco.search(objective="val_accuracy", max_trials=1, store=store, verbose=0) as s:
        for _trial in s:
            hp.Int("units", 1, 3)
    record = s.trials[0]
    assert record.state is TrialState.FAIL
    assert "no value for the objective 'val_accuracy'" in record.reason
    assert "callbacks=trial.callbacks()" in record.reason


def test_trial_value_best_last_and_explicit(store: str) -> None:
    curve = {1: 0.5, 2: 0.9, 3: 0.7}
    for mode, expected in (("best", 0.9), ("last", 0.7)):
        with hpdeco.search(
            objective="accuracy", max_trials=1, store=store, study=mode, trial_value=mode, verbose=0
        ) as s:
            for trial in s:
                for step, value in curve.items():
                    trial.report(value, step)
        assert s.best.value == expected
        assert s.best.intermediate_values == curve
    with hpdeco.search(
        objective="accuracy", max_trials=1, store=store, study="explicit", verbose=0
    ) as s:
        for trial in s:
            trial.report(0.5, 1)
            trial.value = 0.25
    assert s.best.value == 0.25


def test_reporting_a_step_twice_keeps_the_first_and_warns(store: str) -> None:
    with hpdeco.search(objective="loss", max_trials=1, store=store, verbose=0) as s:
        for trial in s:
            trial.report(0.5, step=1)
            with pytest.warns(UserWarning, match="reported step 1 twice"):
                trial.report(0.1, step=1)
    assert s.best.intermediate_values == {1: 0.5}


def test_report_takes_a_mapping_of_metrics_and_stores_them_all(store: str) -> None:
    with hpdeco.search(objective="val_loss", max_trials=1, store=store, verbose=0) as s:
        for trial in s:
            trial.report({"loss": 0.4, "val_loss": 0.6, "accuracy": 0.8}, step=1)
    record = s.best
    assert record.value == 0.6
    assert record.metrics == {"accuracy": {1: 0.8}, "loss": {1: 0.4}, "val_loss": {1: 0.6}}


def test_grid_enumerates_conditional_space_without_repeats_and_ends(store: str) -> None:
    def objective() -> float:
        layers = hp.Int("layers", 1, 2)
        units = [hp.Choice(f"units_{i}", [8, 16]) for i in range(layers)]
        return float(sum(units))

    s = run(store, 100, objective=objective, sampler="grid")
    configs = [tuple(sorted(r.params.items())) for r in s.trials]
    assert len(configs) == len(set(configs)) == 2 + 4  # 1 layer: 2 configs; 2 layers: 4
    assert s.stopped_because == "the sampler has no configuration left"


def test_grid_never_repeats_across_resumes(store: str) -> None:
    def objective() -> float:
        return hp.Choice("a", [1, 2, 3]) * hp.Float("b", 0.0, 1.0, step=0.5)

    run(store, 4, objective=objective, sampler="grid")
    s = run(store, 100, objective=objective, sampler="grid")
    configs = [(r.params["a"], r.params["b"]) for r in s.trials]
    assert sorted(configs) == sorted({(a, b) for a in (1, 2, 3) for b in (0.0, 0.5, 1.0)})


def test_grid_rejects_a_float_without_step(store: str) -> None:
    with pytest.raises(SpaceError, match=r"'lr'.*without a step has no grid"):
        run(store, 3, objective=lambda: hp.Float("lr", 0.0, 1.0), sampler="grid")


def test_random_is_reproducible_and_avoids_repeats(store: str, tmp_path) -> None:
    a = run(str(tmp_path / "a.db"), 8, seed=42)
    b = run(str(tmp_path / "b.db"), 8, seed=42)
    assert [r.params for r in a.trials] == [r.params for r in b.trials]
    c = run(str(tmp_path / "c.db"), 8, seed=43)
    assert [r.params for r in a.trials] != [r.params for r in c.trials]
    small = run(store, 50, objective=lambda: float(hp.Int("k", 1, 6)), seed=0)
    assert sorted(r.params["k"] for r in small.trials) == [1, 2, 3, 4, 5, 6]
    assert small.stopped_because == "the sampler has no configuration left"


def test_timeout_stops_the_search(store: str) -> None:
    with hpdeco.search(objective="loss", max_trials=None, timeout=0.3, store=store, verbose=0) as s:
        for trial in s:
            time.sleep(0.05)
            trial.report(hp.Float("x", 0.0, 1.0))
    assert s.stopped_because == "timeout"
    assert 2 <= len(s.trials) <= 10


def test_a_function_can_be_the_sampler_and_bad_values_are_caught(store: str) -> None:
    s = run(store, 3, sampler=lambda param, trial: param.from_unit(0.5))
    assert {r.params["x"] for r in s.trials} == {0.0}
    with pytest.raises(UsageError, match=r"returned 99.*outside -5.0 .. 5.0"):
        run(store, 1, study="bad", sampler=lambda param, trial: 99)


def test_trial_pruned_inside_with_trial_records_pruned(store: str) -> None:
    with hpdeco.search(objective="loss", max_trials=2, store=store, verbose=0) as s:
        for trial in s:
            with trial:
                trial.report(3.0, step=1)
                trial.report(2.0, step=2)
                raise hpdeco.TrialPruned("hopeless")
    record = s.trials[0]
    assert record.state is TrialState.PRUNED
    assert (record.value, record.last_step, record.reason) == (2.0, 2, "hopeless")
    assert len(s.trials) == 2


def test_direction_is_inferred_or_demanded() -> None:
    assert hpdeco.search(objective="val_accuracy").direction == "max"
    assert hpdeco.search(objective="val_mean_squared_error").direction == "min"
    assert hpdeco.search(objective="reward", direction="min").direction == "min"
    with pytest.raises(ObjectiveError, match="pass direction='max' or direction='min'"):
        hpdeco.search(objective="banana")
    with pytest.raises(ObjectiveError, match="direction='up' must be 'max' or 'min'"):
        hpdeco.search(objective="loss", direction="up")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_trials": 0}, r"search\(max_trials=0\): max_trials must be an int >= 1 \(or None\)"),
        ({"timeout": -1}, r"timeout=-1\): timeout must be a finite number > 0"),
        ({"timeout": math.nan}, r"timeout=nan\): timeout must be a finite number > 0"),
        ({"timeout": math.inf}, r"timeout=inf\): timeout must be a finite number > 0"),
        ({"max_consecutive_failures": 0}, r"max_consecutive_failures must be an int >= 1"),
        ({"seed": -3}, r"seed=-3\): seed must be an int >= 0"),
        ({"sampler": "annealing"}, "sampler='annealing' is unknown"),
        ({"pruner": "sometimes"}, "pruner='sometimes' is unknown"),
        (
            {"trial_value": "mean"},
            r"trial_value='mean'\): trial_value must be one of 'best', 'last'",
        ),
        ({"verbose": 5}, r"verbose=5\): verbose must be one of 0, 1, 2; 0 quiet"),
        ({"study": ""}, r"study=''\): study must be a non-empty name"),
    ],
)
def test_bad_options_are_rejected_clearly(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        hpdeco.search(objective="loss", **options)


def test_resuming_with_another_objective_is_an_error(store: str) -> None:
    run(store, 1)
    with pytest.raises(ObjectiveError, match=r"optimises 'loss' \(min\), not objective='acc'"):
        with hpdeco.search(objective="acc", store=store, study="s", verbose=0):
            pass


def test_iterating_outside_the_with_block_is_a_clear_error() -> None:
    with pytest.raises(UsageError, match="inside its block"):
        for _ in hpdeco.search(objective="loss"):
            pass


def test_a_trial_left_running_by_a_dead_process_is_marked_lost(store: str) -> None:
    run(store, 1)
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(child.stdout)
    with sqlite3.connect(store) as conn:
        conn.execute(
            "INSERT INTO trials (study_id, number, state, started_at, host, pid)"
            " SELECT study_id, 1, 'RUNNING', 0, host, ? FROM trials LIMIT 1",
            (dead_pid,),
        )
    with pytest.warns(UserWarning, match=r"trials \[1\] were left RUNNING"):
        s = run(store, 3)
    # The lost trial belongs to an earlier run: it does not use up max_trials.
    assert [r.state for r in s.trials] == [
        TrialState.COMPLETE,
        TrialState.FAIL,
        TrialState.COMPLETE,
        TrialState.COMPLETE,
    ]
    assert s.trials[1].reason.startswith("worker lost")


def test_load_study_reads_and_errors_clearly(store: str, tmp_path) -> None:
    run(store, 2)
    study = hpdeco.load_study("s", store=store)
    assert len(study.trials) == 2 and study.best is not None
    assert "study 's'" in str(study)
    with pytest.raises(hpdeco.StudyNotFound, match=r"study='nope' is not in store.*'s'"):
        hpdeco.load_study("nope", store=store)
    missing = tmp_path / "missing.db"
    with pytest.raises(hpdeco.StoreError, match="does not exist"):
        hpdeco.load_study("s", store=str(missing))
    assert not missing.exists()  # reading never creates a store


def test_import_hpdeco_stays_light() -> None:
    # scipy: only the samplers that use it; numpy: kept weights and the model-based samplers
    heavy = ("keras", "tensorflow", "scipy", "numpy")
    code = f"import sys, hpdeco.cli; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_samplers_are_imported_when_first_used() -> None:
    code = (
        "import sys, hpdeco.samplers as s; a = 'scipy' in sys.modules; "
        "s.resolve_sampler('gp', seed=0); print(a, 'scipy' in sys.modules, s.TPESampler)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[:2] == ["False", "True"]
    assert "TPESampler" in out.stdout


def test_a_pruned_trials_value_step_is_where_it_stopped_even_on_a_tie(store: str) -> None:
    with hpdeco.search(objective="loss", max_trials=1, store=store, verbose=0) as s:
        for trial in s:
            with trial:
                trial.report(0.5, step=1)
                trial.report(0.5, step=2)  # the same number again, then pruned here
                raise hpdeco.TrialPruned()
    (record,) = s.trials
    assert record.state is TrialState.PRUNED
    assert record.best_step == record.value_step() == 2
