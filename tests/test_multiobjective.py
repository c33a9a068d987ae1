"""Several objectives and constraints: parsing, the Pareto front on hand-made cases, what the
store keeps (resume, several workers, both backends), pruning against peers, the command
line, exports and plots. The Keras part (built-in costs) is in test_keras_multiobjective."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import hpdeco
from hpdeco import hp
from hpdeco.constraints import Constraints
from hpdeco.errors import ConfigError, ObjectiveError, UsageError
from hpdeco.objective import Objective, parse_objectives
from hpdeco.pareto import dominates, hypervolume, nondominated_ranks, pareto_front
from hpdeco.records import TrialRecord, TrialState
from tests.conftest import run_cli
from tests.mo_worker import size_search

# -- parsing ------------------------------------------------------------------------------------


def test_objectives_are_parsed_with_their_directions() -> None:
    assert parse_objectives("val_accuracy") == (Objective("val_accuracy", "max"),)
    assert parse_objectives(["val_accuracy", ("params", "min"), "latency_ms"]) == (
        Objective("val_accuracy", "max"),
        Objective("params", "min"),
        Objective("latency_ms", "min"),
    )
    assert parse_objectives(["a", "b"], ["max", "min"]) == (
        Objective("a", "max"),
        Objective("b", "min"),
    )
    assert parse_objectives(["model_bytes"])[0].direction == "min"


@pytest.mark.parametrize(
    ("objective", "direction", "match"),
    [
        ([], None, "names no objective"),
        (["a", "a"], ["max", "max"], "twice"),
        (["val_accuracy", "x"], None, "cannot tell"),
        (["a", "b"], "max", "one direction for 2 objectives"),
        (["a", "b"], ["max"], "one direction per objective"),
        ([("a", "up")], None, "'max' or 'min'"),
        ([("a", "max", 1)], None, "pair"),
        ("val_loss", ["min"], "one objective takes one direction"),
        (3, None, "must be a metric name"),
    ],
)
def test_bad_objectives_are_refused(objective: Any, direction: Any, match: str) -> None:
    with pytest.raises(ObjectiveError, match=match):
        parse_objectives(objective, direction)


@pytest.mark.parametrize(
    "constraints",
    [{"params": ("<", 3)}, {"params": 3}, {"params": ("<=", math.nan)}, {}, [("a", 1)]],
)
def test_bad_constraints_are_refused(constraints: Any) -> None:
    with pytest.raises(ConfigError, match="constraint"):
        Constraints(constraints)


def test_constraint_violations() -> None:
    bounds = Constraints({"params": ("<=", 100), "acc": (">=", 0.5)})
    assert bounds.violation({"params": 90, "acc": 0.7}) == 0.0
    assert bounds.violation({"params": 110, "acc": 0.4}) == pytest.approx(10.1)
    assert bounds.violation({"acc": 0.7}) == math.inf  # a constrained value never produced
    assert Constraints(lambda v: v["x"] < 1).violation({"x": 2}) == 1.0
    assert Constraints(lambda v: v["x"] - 1).violation({"x": 0.5}) == 0.0
    assert Constraints(lambda v: v["x"] - 1).violation({"x": 3}) == 2.0
    assert Constraints(None).violation({"x": 3}) is None
    with pytest.raises(ConfigError, match="returned 'no'"):
        Constraints(lambda v: "no").violation({})


# -- the front on hand-made cases ---------------------------------------------------------------


def record(number: int, *values: float | None, **kw: Any) -> TrialRecord:
    state = kw.pop("state", TrialState.COMPLETE)
    return TrialRecord(
        number=number,
        state=state,
        params={},
        value=values[0] if values else None,
        intermediate_values={},
        metrics={},
        values=tuple(values),
        **kw,
    )


def numbers(records: list[TrialRecord]) -> list[int]:
    return [r.number for r in records]


def test_the_front_keeps_only_the_non_dominated() -> None:
    # max accuracy, min size
    trials = [
        record(0, 0.90, 10),
        record(1, 0.80, 5),
        record(2, 0.85, 12),  # dominated by 0
        record(3, 0.95, 20),
        record(4, 0.80, 6),  # dominated by 1 (equal accuracy, bigger)
        record(5, 0.70, 1),
    ]
    assert numbers(pareto_front(trials, ["max", "min"])) == [3, 0, 1, 5]


def test_equal_values_keep_the_lowest_number_only() -> None:
    trials = [record(4, 0.9, 10), record(2, 0.9, 10), record(7, 0.8, 1)]
    assert numbers(pareto_front(trials, ["max", "min"])) == [2, 7]


def test_infeasible_pruned_failed_and_nan_trials_are_never_on_the_front() -> None:
    trials = [
        record(0, 0.99, 1, violation=0.5),  # dominates everything, but infeasible
        record(1, 0.99, 1, state=TrialState.PRUNED),
        record(2, None, state=TrialState.FAIL),
        record(3, math.nan, 0.5),
        record(4, 0.5, 5, violation=0.0),
        record(5, 0.6, 6),
    ]
    assert numbers(pareto_front(trials, ["max", "min"])) == [5, 4]


def test_three_objectives_and_dominance() -> None:
    assert dominates((1, 2, 3), (1, 2, 4))
    assert not dominates((1, 2, 3), (1, 2, 3))
    assert not dominates((0, 2, 3), (1, 1, 3))
    trials = [record(0, 1, 1, 1), record(1, 0, 2, 2), record(2, 2, 2, 2), record(3, 1, 1, 1)]
    assert numbers(pareto_front(trials, ["min", "min", "min"])) == [1, 0]


def test_nondominated_ranks_and_hypervolume_by_hand() -> None:
    assert nondominated_ranks([(1, 3), (2, 1), (2, 3), (3, 4), (0, 5)]) == [0, 0, 1, 2, 0]
    # Union of [1,4]x[3,4] and [2,4]x[1,4]: 3 + 6 - 2 = 7.
    assert hypervolume([(1, 3), (2, 1)], (4, 4)) == pytest.approx(7.0)
    assert hypervolume([(1, 3), (2, 1), (3, 3)], (4, 4)) == pytest.approx(7.0)  # dominated
    assert hypervolume([(5, 5)], (4, 4)) == 0.0
    # 3-D: [0,2]x[0,2]x[1,2] (4) and [1,2]x[1,2]x[0,2] (2) overlap in [1,2]^3 (1).
    assert hypervolume([(0, 0, 1), (1, 1, 0)], (2, 2, 2)) == pytest.approx(4 + 2 - 1)
    assert hypervolume([(0, 0, 0)], (1, 2, 3)) == pytest.approx(6.0)


# -- searches -------------------------------------------------------------------------------------


def brute_front(trials: list[TrialRecord]) -> list[int]:
    """The front by its definition, pair by pair."""
    pool = [t for t in trials if t.state is TrialState.COMPLETE and t.feasible]
    points = {t.number: (-t.values[0], t.values[1]) for t in pool}
    kept = [
        n
        for n, p in points.items()
        if not any(dominates(q, p) or (q == p and m < n) for m, q in points.items() if m != n)
    ]
    return sorted(kept, key=lambda n: (points[n], n))


def test_values_are_stored_and_the_front_survives_a_restart(any_store: str) -> None:
    search = size_search(any_store, 12, constraints={"size": ("<=", 8)})
    front = [r.number for r in search.best_trials]
    assert front and search.best is not None and search.best.number == front[0]
    with hpdeco.load_study("sizes", store=any_store) as study:
        trials = study.trials
        assert [o.name for o in study.objectives] == ["score", "size"]
        assert all(len(t.values) == 2 and t.values[1] == t.params["n"] for t in trials)
        assert all(t.values[0] == t.value for t in trials)
        assert all((t.violation == 0.0) == (t.params["n"] <= 8) for t in trials)
        assert [r.number for r in study.best_trials] == front == brute_front(trials)
        assert all(t.params["n"] <= 8 for t in study.best_trials)
    resumed = size_search(any_store, 20, constraints={"size": ("<=", 8)})
    assert len(resumed.trials) == 20
    assert [r.number for r in resumed.best_trials] == brute_front(resumed.trials)


def test_resuming_with_other_objectives_is_refused(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    size_search(store, 2)
    with pytest.raises(ObjectiveError, match=r"optimises 'score' \(max\), 'size' \(min\)"):
        with hpdeco.search(objective="score", store=store, study="sizes", verbose=0):
            pass
    with pytest.raises(ObjectiveError, match="not objective='score' \\(max\\), 'size' \\(max\\)"):
        with hpdeco.search(
            objective=["score", ("size", "max")], store=store, study="sizes", verbose=0
        ):
            pass


def test_an_infeasible_trial_is_never_best_even_with_one_objective(tmp_path: Path) -> None:
    with hpdeco.search(
        objective="score",
        constraints=lambda values: values["score"] < 0.5,
        store=str(tmp_path / "s.db"),
        verbose=0,
        seed=1,
        max_trials=12,
    ) as search:
        for trial in search:
            trial.report(hp.Float("x", 0.0, 1.0), 1)
    scores = [t.value for t in search.trials]
    assert max(scores) >= 0.5  # the constraint did bite
    assert search.best is not None and search.best.value == max(s for s in scores if s < 0.5)
    assert all(not t.feasible for t in search.trials if t.value >= 0.5)


def test_set_value_rejects_unknown_names_and_non_numbers(tmp_path: Path) -> None:
    with hpdeco.search(
        objective=["score", ("size", "min")], store=":memory:", verbose=0, max_trials=1
    ) as search:
        for trial in search:
            with pytest.raises(UsageError, match=r"'latency'.*it has 'score', 'size'"):
                trial.set_value("latency", 3)
            with pytest.raises(UsageError, match="must be a number"):
                trial.set_value("size", "big")
            trial.set_value("score", 0.5)  # the first objective: trial.value
            trial.set_value("size", 2)
    assert search.trials[0].values == (0.5, 2.0)


def test_values_of_other_objectives_come_from_the_step_that_gave_the_value() -> None:
    with hpdeco.search(
        objective=["acc", ("loss", "min")], store=":memory:", verbose=0, max_trials=1
    ) as search:
        for trial in search:
            trial.report({"acc": 0.5, "loss": 0.9}, 1)
            trial.report({"acc": 0.8, "loss": 0.4}, 2)  # the best accuracy: its loss is taken
            trial.report({"acc": 0.7, "loss": 0.2}, 3)
    assert search.trials[0].values == (0.8, 0.4)


def test_a_pruned_trial_keeps_its_known_values_and_is_recorded_pruned(tmp_path: Path) -> None:
    search = size_search(str(tmp_path / "s.db"), 30, pruner="median")
    pruned = [t for t in search.trials if t.state is TrialState.PRUNED]
    assert pruned, "the median pruner pruned nothing"
    assert all(t.values[1] == t.params["n"] for t in pruned)
    assert all(t.number not in {r.number for r in search.best_trials} for t in pruned)


def peers_study(store: str, last_size: int) -> hpdeco.Search:
    """Five big, good trials finish, then one of size ``last_size`` with a poor curve."""
    with hpdeco.search(
        objective=["score", ("size", "min")],
        store=store,
        study=f"peers{last_size}",
        pruner=hpdeco.pruners.MedianPruner(n_startup_trials=5),
        verbose=0,
        max_trials=6,
    ) as search:
        for trial in search:
            small = trial.number == 5
            trial.set_value("size", last_size if small else 10)
            for step in (1, 2, 3):
                trial.report(0.1 * step if small else 0.5 + 0.1 * step, step)
                if trial.should_prune():
                    break
    return search


def test_pruning_compares_only_with_trials_no_better_on_known_objectives(
    tmp_path: Path,
) -> None:
    # The small model is worse than every big one, yet no finished trial is as small:
    # it may be on the front, so it is not pruned.
    small = peers_study(str(tmp_path / "s.db"), last_size=1)
    assert small.trials[5].state is TrialState.COMPLETE
    assert 5 in [r.number for r in small.best_trials]
    # As big as the others and worse than all of them: pruned at its first step.
    big = peers_study(str(tmp_path / "b.db"), last_size=10)
    assert big.trials[5].state is TrialState.PRUNED
    assert big.trials[5].last_step == 1


def test_several_workers_share_one_front(any_store: str) -> None:
    store = any_store
    script = str(Path(__file__).parent / "mo_worker.py")
    workers = [subprocess.Popen([sys.executable, script, store, "24"]) for _ in range(3)]
    assert [w.wait(timeout=120) for w in workers] == [0, 0, 0]
    with hpdeco.load_study("sizes", store=store) as study:
        trials = study.trials
        assert len(trials) == 24 and all(t.state is TrialState.COMPLETE for t in trials)
        assert [r.number for r in study.best_trials] == brute_front(trials)


# -- reading: command line, exports, plots --------------------------------------------------------


def test_the_command_line_shows_every_objective_and_the_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "s.db")
    search = size_search(store, 10, constraints={"size": ("<=", 8)})
    front = [r.number for r in search.best_trials]
    code, out, _ = run_cli(capsys, "pareto", "sizes", "--store", store)
    assert code == 0
    assert f"Pareto front: {len(front)} of" in out
    lines = out.splitlines()[2:]
    assert [int(line.split()[0]) for line in lines] == front
    code, out, _ = run_cli(capsys, "trials", "sizes", "--store", store)
    assert "score" in out.splitlines()[1] and "size" in out.splitlines()[1]
    marked = [int(line.split()[0]) for line in out.splitlines()[2:] if " * " in line]
    assert marked == sorted(front)
    code, out, _ = run_cli(capsys, "best", "sizes", "--store", store)
    assert f"trial {front[0]}:" in out and "Pareto front of" in out
    code, out, _ = run_cli(capsys, "export", "sizes", "--store", store, "--format", "json")
    data = json.loads(out)
    assert data["objectives"] == [
        {"name": "score", "direction": "max"},
        {"name": "size", "direction": "min"},
    ]
    first = data["trials"][0]
    assert set(first["values"]) == {"score", "size"} and "feasible" in first
    code, out, _ = run_cli(capsys, "export", "sizes", "--store", store)
    header = out.splitlines()[0].split(",")
    assert {"values_score", "values_size", "feasible", "violation"} <= set(header)


def test_pareto_plot_is_written_for_several_objectives_only(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from hpdeco import plots

    store = str(tmp_path / "s.db")
    size_search(store, 8)
    written, skipped = plots.save_plots(hpdeco.load_study("sizes", store=store), tmp_path / "f")
    assert tmp_path / "f" / "pareto.png" in written and "pareto" not in skipped
    with hpdeco.search(objective="loss", store=store, study="one", verbose=0, max_trials=2) as s:
        for trial in s:
            trial.report(hp.Float("x", 0.0, 1.0), 1)
    written, skipped = plots.save_plots(hpdeco.load_study("one", store=store), tmp_path / "g")
    assert "pareto" not in skipped and not (tmp_path / "g" / "pareto.png").exists()
    with pytest.raises(UsageError, match="one objective"):
        plots.plot_pareto(hpdeco.load_study("one", store=store))


def test_the_log_names_every_objective_and_the_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="hpdeco")
    size_search(str(tmp_path / "s.db"), 3, verbose=2, constraints={"size": ("<=", 3)})
    lines = [m for m in caplog.messages if "COMPLETE" in m]
    assert len(lines) == 3 and all(" score=" in line and " size=" in line for line in lines)
    assert "on the Pareto front" in caplog.text and "infeasible" in caplog.text
    err = capsys.readouterr().err
    assert "front=" in err and "best=" not in err


def test_pruning_may_start_once_the_study_has_its_startup_trials(tmp_path: Path) -> None:
    # Trials 0-3 are small and good, 4-5 big and good; trial 6 is mid-sized and poor. Only
    # 4 finished trials are at least as small as trial 6, but the study has 6 COMPLETE
    # trials: n_startup_trials=5 is met, and trial 6 trails its peers.
    sizes = [1, 1, 1, 1, 20, 20, 5]
    with hpdeco.search(
        objective=["score", ("size", "min")],
        store=str(tmp_path / "s.db"),
        pruner=hpdeco.pruners.MedianPruner(n_startup_trials=5),
        verbose=0,
        max_trials=len(sizes),
    ) as search:
        for trial in search:
            poor = trial.number == 6
            trial.set_value("size", sizes[trial.number])
            for step in (1, 2, 3):
                trial.report(0.1 * step if poor else 0.5 + 0.1 * step, step)
                if trial.should_prune():
                    break
    assert search.trials[6].state is TrialState.PRUNED and search.trials[6].last_step == 1


def test_the_default_sampler_with_several_objectives_is_the_multi_objective_one() -> None:
    from hpdeco.samplers.auto import AutoSampler
    from hpdeco.samplers.multi import MultiObjectiveSampler

    with hpdeco.search(objective=[("a", "max"), ("b", "min")], store=":memory:",
                       verbose=0, max_trials=1) as search:  # fmt: skip
        assert isinstance(search.study.sampler, MultiObjectiveSampler)
    with hpdeco.search(objective="loss", store=":memory:", verbose=0, max_trials=1) as search:
        assert isinstance(search.study.sampler, AutoSampler)


def test_single_objective_samplers_never_learn_from_infeasible_trials() -> None:
    from hpdeco.samplers._common import BAD, COMPLETE, History

    history = History()
    history.add(record(0, 0.99, violation=2.0), sign=-1.0)  # the best value, infeasible
    history.add(record(1, 0.5, violation=0.0), sign=-1.0)
    assert history.group == [BAD, COMPLETE]


def projection_study(store: str, pruner: Any, last: list[float], strong_load: float = 0.0) -> Any:
    """Four weak small models that stay flat, one strong small model that climbs to 0.95,
    then a bigger model reporting ``last``: ahead of the median of its smaller peers (the
    weak ones), but unable to catch up with the best of them."""
    curves = [[0.5, 0.5, 0.5, 0.5]] * 4 + [[0.6, 0.8, 0.9, 0.95], last]
    sizes = [100, 100, 100, 100, 200, 300]
    with hpdeco.search(
        objective=["score", ("size", "min")],
        constraints={"load": ("<=", 1.0)},
        store=store,
        pruner=pruner,
        verbose=0,
        max_trials=len(curves),
    ) as search:
        for trial in search:
            trial.set_value("size", sizes[trial.number])
            trial.set_value("load", strong_load if trial.number == 4 else 0.0)
            for step, value in enumerate(curves[trial.number], start=1):
                trial.report(value, step)
                if trial.should_prune():
                    break
    return search


def test_a_trial_projected_to_end_dominated_is_pruned(tmp_path: Path) -> None:
    # At step 1 the big model's 0.7 beats the median of its peers (0.5), and the COMPLETE
    # trials gained at most 0.35 after step 1 (90th percentile 0.21): 0.91 at best, behind
    # the strong small model's 0.95, so it would end dominated.
    behind = projection_study(str(tmp_path / "a.db"), "median", [0.7, 0.75, 0.76, 0.77])
    assert behind.trials[5].state is TrialState.PRUNED and behind.trials[5].last_step == 1
    # 0.8 then 0.9 could still pass 0.95 (1.01, 0.99 at best): it goes on, ends on the front.
    close = projection_study(str(tmp_path / "b.db"), "median", [0.8, 0.9, 0.94, 0.97])
    assert close.trials[5].state is TrialState.COMPLETE
    assert 5 in [r.number for r in close.best_trials]
    # The pruner's gates come first: with a warm-up step it is stopped at step 2 (0.84 at
    # best after 0.75) instead.
    warm = projection_study(
        str(tmp_path / "w.db"), hpdeco.pruners.MedianPruner(n_warmup_steps=1), [0.7, 0.75, 0.76]
    )
    assert warm.trials[5].state is TrialState.PRUNED and warm.trials[5].last_step == 2
    # pruner="none" never prunes, and a pruner of the user's own keeps its own rule.
    off = projection_study(str(tmp_path / "c.db"), "none", [0.7, 0.75, 0.76, 0.77])
    assert off.trials[5].state is TrialState.COMPLETE
    own = projection_study(str(tmp_path / "d.db"), lambda trial: False, [0.7, 0.75, 0.76, 0.77])
    assert own.trials[5].state is TrialState.COMPLETE


def test_an_infeasible_trial_dominates_nothing_in_the_projection(tmp_path: Path) -> None:
    # The strong small model breaks the constraint: it is never on the front, so the big
    # model behind it is not stopped for it (and ends on the front).
    search = projection_study(
        str(tmp_path / "s.db"), "median", [0.7, 0.75, 0.76, 0.77], strong_load=5.0
    )
    assert search.trials[4].feasible is False
    assert search.trials[5].state is TrialState.COMPLETE
    assert 5 in [r.number for r in search.best_trials]
