"""The trial lifecycle under mistakes and faults: failures, interrupts, empty trials, bad
input. Keras-free; real SQLite files and real processes."""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

import hpdeco
from hpdeco import ConfigError, ConsecutiveFailures, SpaceError, TrialState, UsageError, hp

ROOT = Path(__file__).resolve().parent.parent


def finishes(body, seconds: float = 30.0):
    """Run ``body`` in a thread; fail (instead of hanging the suite) if it does not end.
    ``body`` returns plain values: the store's connection stays in its thread."""
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = body()
        except BaseException as exc:  # handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: it hangs"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# -- trials that draw nothing ---------------------------------------------------------------


def test_a_grid_whose_trials_draw_nothing_ends_instead_of_waiting_forever(store: str) -> None:
    def body() -> tuple:
        with hpdeco.search(
            objective="loss", sampler="grid", max_trials=None, store=store, verbose=0
        ) as s:
            for trial in s:
                trial.report(1.0, step=1)
        return [r.state for r in s.trials], s.stopped_because

    states, because = finishes(body)
    assert states == [TrialState.COMPLETE]
    assert because == "the sampler has no configuration left"


@pytest.mark.parametrize("sampler", ["tpe", "random", "sobol", "gp", "grid"])
def test_a_trial_failing_before_its_first_draw_does_not_end_the_search(
    store: str, sampler: str
) -> None:
    def body() -> tuple:
        with hpdeco.search(
            objective="loss", sampler=sampler, max_trials=6, store=store, seed=1, verbose=0
        ) as s:
            for trial in s:
                with trial:
                    if trial.number == 0:
                        raise OSError("the data is not there yet")
                    trial.report(hp.Choice("x", list(range(20))) / 10, step=1)
        return [r.state for r in s.trials], s.stopped_because

    states, because = finishes(body)
    assert because == "max_trials"
    assert states == [TrialState.FAIL] + [TrialState.COMPLETE] * 5


def test_trials_from_before_the_code_drew_anything_do_not_exhaust_the_space(store: str) -> None:
    with hpdeco.search(objective="loss", max_trials=2, store=store, study="s", verbose=0) as s:
        for trial in s:
            trial.report(1.0, step=1)  # the script before it had any hp.* call
    with hpdeco.search(objective="loss", max_trials=6, store=store, study="s", verbose=0) as s:
        for trial in s:
            trial.report(hp.Float("x", 0, 1), step=1)
    assert s.stopped_because == "max_trials"
    assert len(s.trials) == 6


def test_a_trial_that_draws_nothing_from_a_listed_space_warns(store: str) -> None:
    @hpdeco.tunable
    def build() -> float:
        return hp.Float("lr", 1e-4, 1e-1, sampling="log")

    with pytest.warns(UserWarning, match=r"trial 0 drew no hyperparameter.*'lr'"):
        with hpdeco.search(
            objective="loss", max_trials=2, store=store, space=build, verbose=0
        ) as s:
            for trial in s:
                trial.report(1.0, step=1)  # forgot to call build()


# -- failures: stop early, do not use up the study ------------------------------------------


def failing_search(store: str, *, broken: bool, max_trials: int = 10, **options):
    with hpdeco.search(
        objective="loss", max_trials=max_trials, store=store, study="s", verbose=0, **options
    ) as s:
        for trial in s:
            with trial:
                x = hp.Choice("x", [1, 2, 3, 4, 5])
                if broken:
                    raise TypeError("fit() got an unexpected keyword argument 'execution'")
                trial.report(float(x), step=1)
    return s


def test_three_failures_in_a_row_stop_the_search_with_the_exception(store: str) -> None:
    with pytest.raises(
        ConsecutiveFailures, match=r"3 trials in a row failed \(trials 0, 1, 2\)"
    ) as info:
        failing_search(store, broken=True)
    assert isinstance(info.value.__cause__, TypeError)
    assert "unexpected keyword argument 'execution'" in str(info.value)
    study = hpdeco.load_study("s", store=store)
    assert [r.state for r in study.trials] == [TrialState.FAIL] * 3


def test_after_the_fix_the_same_command_runs_its_whole_budget(store: str) -> None:
    with pytest.raises(ConsecutiveFailures):
        failing_search(store, broken=True, max_trials=4)
    s = failing_search(store, broken=False, max_trials=4)
    states = [r.state for r in s.trials]
    assert states == [TrialState.FAIL] * 3 + [TrialState.COMPLETE] * 4
    assert s.stopped_because == "max_trials"


def test_a_grid_tries_the_configurations_that_failed_in_an_earlier_run_again(store: str) -> None:
    with pytest.raises(ConsecutiveFailures):
        failing_search(store, broken=True, sampler="grid")
    s = failing_search(store, broken=False, sampler="grid")
    done = [r.params["x"] for r in s.trials if r.state is TrialState.COMPLETE]
    assert sorted(done) == [1, 2, 3, 4, 5]  # 1, 2 and 3 failed before and ran again
    assert s.stopped_because == "the sampler has no configuration left"


def test_max_consecutive_failures_none_never_stops(store: str) -> None:
    s = failing_search(store, broken=True, max_trials=5, max_consecutive_failures=None)
    assert [r.state for r in s.trials] == [TrialState.FAIL] * 5


def test_diverged_trials_neither_stop_the_search_nor_get_another_chance(store: str) -> None:
    for _ in range(2):
        with hpdeco.search(objective="loss", max_trials=4, store=store, study="s", verbose=0) as s:
            for trial in s:
                trial.report(math.nan, step=1)
    assert [r.state for r in s.trials] == [TrialState.FAIL] * 4  # the second run: nothing to do
    assert s.stopped_because == "max_trials"


# -- why the search stopped -----------------------------------------------------------------


def said(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    """What the search told the user: printed to stderr, or logged where logging is set
    up (as pytest sets it up)."""
    text = capsys.readouterr().err + caplog.text
    caplog.clear()
    return text


def test_the_end_of_a_search_says_why_and_how_to_go_on(
    store: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hpdeco")
    for _ in range(2):
        with hpdeco.search(objective="loss", max_trials=3, store=store, study="q") as s:
            for trial in s:
                trial.report(hp.Float("x", 0, 1), step=1)
    err = said(capsys, caplog)
    assert "stopped after 3 trials this run: study 'q' has 3 of max_trials=3" in err
    assert "nothing to do: study 'q' already has 3 trials of max_trials=3; raise max_trials" in err
    assert s.stop_message is not None and s.stop_message.startswith("nothing to do")


def test_a_timeout_and_an_exhausted_grid_say_so(
    store: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hpdeco")
    with hpdeco.search(objective="loss", sampler="grid", store=store, study="g") as s:
        for trial in s:
            trial.report(float(hp.Boolean("b")), step=1)
    assert "no configuration left" in said(capsys, caplog)
    with hpdeco.search(objective="loss", timeout=0.2, max_trials=None, store=store) as s:
        for trial in s:
            time.sleep(0.05)
            trial.report(hp.Float("x", 0, 1), step=1)
    assert "timeout=0.2s reached" in said(capsys, caplog)


# -- bad input, refused before it costs anything ----------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: hp.Int("n", 0, 10**400), r"max_value=10+ is beyond \+-2\*\*53"),
        (lambda: hp.Float("f", -1e308, 1e308), "the width of the range overflows"),
        (lambda: hp.Choice("c", [0.5, math.nan]), r"hold nan, which equals no value"),
        (lambda: hp.Fixed("k", math.inf), "a finite number"),
    ],
)
def test_unusable_ranges_and_values_are_refused_at_declaration(make, message: str) -> None:
    with pytest.raises(SpaceError, match=message):
        make()


def test_a_grid_over_a_huge_integer_range_does_not_list_it(store: str) -> None:
    tracemalloc.start()
    try:
        with hpdeco.search(
            objective="loss", sampler="grid", max_trials=3, store=store, verbose=0
        ) as s:
            for trial in s:
                trial.report(float(hp.Int("n", 0, 10**6)), step=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [r.params["n"] for r in s.trials] == [0, 1, 2]
    assert peak < 5 * 2**20  # a tuple of 10**6 ints alone would take over 30 MiB


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"x": 7.5}, r"not a value of 'x', Float 0.0 .. 1.0"),
        ({"x": "high"}, r"not a value of 'x'"),
        ({"x": math.nan}, r"not a value of 'x'"),
        ({"units": 3}, r"no hyperparameter 'units' in the space \('x', 'k'\)"),
    ],
)
def test_enqueue_refuses_values_outside_the_space(store: str, params: dict, message: str) -> None:
    @hpdeco.tunable
    def space() -> float:
        return hp.Float("x", 0, 1) * hp.Int("k", 1, 3)

    with hpdeco.search(objective="loss", store=store, space=space, verbose=0) as s:
        with pytest.raises(ConfigError, match=message):
            s.enqueue(params)
        assert s.study.store.count(s.study.id) == {}  # nothing was queued


def test_enqueue_refuses_a_value_the_store_cannot_keep(store: str) -> None:
    with hpdeco.search(objective="loss", store=store, verbose=0) as s:
        with pytest.raises(ConfigError, match=r"must be an int, a finite float, a str or a bool"):
            s.enqueue({"model": object()})


def test_resuming_with_another_trial_value_is_refused(store: str) -> None:
    with hpdeco.search(objective="loss", max_trials=1, store=store, study="s", verbose=0) as s:
        for trial in s:
            trial.report(1.0, step=1)
    with pytest.raises(ConfigError, match=r"trial_value='last'.*scores its trials by their 'best'"):
        hpdeco.search(
            objective="loss", store=store, study="s", trial_value="last", verbose=0
        ).__enter__()


def test_hp_in_another_thread_is_an_error_and_fails_the_trial(store: str) -> None:
    seen: list[BaseException] = []

    def in_a_pipeline() -> None:
        try:
            hp.Int("shuffle_buffer", 1, 8)
        except BaseException as exc:
            seen.append(exc)

    with hpdeco.search(objective="loss", max_trials=1, store=store, verbose=0) as s:
        for trial in s:
            worker = threading.Thread(target=in_a_pipeline, name="loader")
            worker.start()
            worker.join()
            trial.report(1.0, step=1)
    assert isinstance(seen[0], UsageError)
    assert "thread 'loader', outside the trial's own thread" in str(seen[0])
    record = s.trials[0]
    assert record.state is TrialState.FAIL
    assert "outside the trial's own thread" in record.reason
    assert hp.Int("shuffle_buffer", 1, 8) == 1  # outside any search: the default, as ever


# -- interrupts -----------------------------------------------------------------------------


SIGTERM_SCRIPT = """
import sys, time
import hpdeco
from hpdeco import hp

with hpdeco.search(objective="loss", max_trials=5, store=sys.argv[1], study="t", verbose=0) as s:
    for trial in s:
        x = hp.Float("x", 0, 1)
        print("started", trial.number, flush=True)
        time.sleep(60)
"""


def test_sigterm_records_the_trial_as_interrupted_and_queues_it_again(tmp_path: Path) -> None:
    store = str(tmp_path / "t.db")
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent(SIGTERM_SCRIPT))
    proc = subprocess.Popen(
        [sys.executable, str(script), store],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("started 0")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, err
    study = hpdeco.load_study("t", store=store)
    first, queued = study.trials
    assert first.state is TrialState.FAIL and first.reason == "interrupted (SIGTERM)"
    assert queued.state is TrialState.WAITING and queued.params == first.params
    assert "Traceback" not in err
    assert json.dumps(first.params)  # the interrupted trial kept what it drew
