"""The multi-objective samplers (NSGA-II, MOTPE, the default that chooses between them) on
cheap synthetic objectives, through real searches on real SQLite stores."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hpdeco
from hpdeco import hp
from hpdeco.errors import HpdecoError
from hpdeco.pareto import hypervolume, pareto_front, signed
from hpdeco.records import TrialState
from hpdeco.samplers._ranking import nondominated_fronts, rank_finished
from hpdeco.samplers.motpe import MOTPESampler
from hpdeco.samplers.multi import MultiObjectiveSampler
from hpdeco.samplers.nsga2 import NSGA2Sampler
from hpdeco.samplers.random import RandomSampler
from hpdeco.samplers.tpe import TPESampler

OBJECTIVES = [("f1", "min"), ("f2", "min")]


def zdt1(x: list[float]) -> tuple[float, float]:
    g = 1.0 + 9.0 * sum(x[1:]) / (len(x) - 1)
    return x[0], g * (1.0 - math.sqrt(x[0] / g))


def zdt1_search(sampler: Any, trials: int, store: str = ":memory:") -> list[Any]:
    with hpdeco.search(
        objective=OBJECTIVES, store=store, max_trials=trials, sampler=sampler, verbose=0
    ) as search:
        for trial in search:
            f1, f2 = zdt1([hp.Float(f"x{i}", 0.0, 1.0) for i in range(6)])
            trial.set_value("f2", f2)
            trial.value = f1
    return search.trials


def volume(records: list[Any]) -> float:
    front = pareto_front(records, ["min", "min"])
    return hypervolume([signed(r.values, ["min", "min"]) for r in front], (1.1, 11.0))


def every_kind() -> dict[str, Any]:
    """One parameter of each kind, and children that exist only on one branch."""
    params = {
        "i": hp.Int("i", 1, 9),
        "i_log": hp.Int("i_log", 1, 1024, sampling="log"),
        "i_step": hp.Int("i_step", 0, 100, step=10),
        "f": hp.Float("f", -2.0, 3.0),
        "f_log": hp.Float("f_log", 1e-5, 1e-1, sampling="log"),
        "f_step": hp.Float("f_step", 0.0, 1.0, step=0.25),
        "c": hp.Choice("c", ["relu", "tanh", "gelu"]),
        "c_num": hp.Choice("c_num", [16, 32, 64, 128]),
        "b": hp.Boolean("b"),
    }
    if params["c"] == "relu":
        params["relu_alpha"] = hp.Float("relu_alpha", 0.0, 0.3)
    elif params["c"] == "tanh":
        params["tanh_k"] = hp.Int("tanh_k", 2, 5)
    return params


def every_kind_search(sampler: Any, trials: int, store: str = ":memory:") -> Any:
    with hpdeco.search(
        objective=OBJECTIVES, store=store, max_trials=trials, sampler=sampler, verbose=0
    ) as search:
        for trial in search:
            p = every_kind()
            unit = math.log(p["i_log"]) / math.log(1024) + p["f_step"] + (p["c"] == "tanh")
            trial.set_value("f2", unit + 0.1 * p.get("tanh_k", 0) + p.get("relu_alpha", 0.0))
            trial.value = (p["f"] - 1.0) ** 2 + p["i"] / 9 + 0.1 * p["b"] - unit
    return search


MO_SAMPLERS = [
    pytest.param(lambda seed: NSGA2Sampler(seed=seed, n_startup_trials=6), id="nsga2"),
    pytest.param(lambda seed: MOTPESampler(seed=seed, n_startup_trials=6), id="motpe"),
    pytest.param(lambda seed: MultiObjectiveSampler(seed=seed, tpe_trials=20), id="default"),
]


@pytest.mark.parametrize("make", MO_SAMPLERS)
def test_every_value_is_in_its_declared_range_and_branches_hold(make: Any) -> None:
    search = every_kind_search(make(3), 60)
    trials = search.trials
    assert len(trials) == 60 and all(t.state is TrialState.COMPLETE for t in trials)
    space = search.study.space
    for record in trials:
        for name, value in record.params.items():
            assert space[name].contains(value), (record.number, name, value)
        assert ("relu_alpha" in record.params) == (record.params["c"] == "relu")
        assert ("tanh_k" in record.params) == (record.params["c"] == "tanh")
    # Past the start-up the children explore: more than a handful of distinct configurations,
    # each branch visited, and every choice of the unordered parameter taken.
    assert len({tuple(sorted(t.params.items())) for t in trials}) > 50
    assert {t.params["c"] for t in trials} == {"relu", "tanh", "gelu"}


@pytest.mark.parametrize("make", MO_SAMPLERS)
def test_the_same_seed_gives_the_same_trials_and_another_seed_others(make: Any) -> None:
    first = [t.params for t in every_kind_search(make(11), 30).trials]
    again = [t.params for t in every_kind_search(make(11), 30).trials]
    other = [t.params for t in every_kind_search(make(12), 30).trials]
    assert first == again
    assert first != other


@pytest.mark.parametrize("make", MO_SAMPLERS)
def test_a_resumed_study_with_a_new_sampler_continues_as_if_never_stopped(
    make: Any, tmp_path: Path
) -> None:
    # Nothing the sampler keeps in its process matters: another process (a worker, or a
    # resumed run) with the same seed and the same finished trials draws the same values.
    whole = [t.params for t in zdt1_search(make(5), 30, str(tmp_path / "whole.db"))]
    split = str(tmp_path / "split.db")
    zdt1_search(make(5), 18, split)
    resumed = [t.params for t in zdt1_search(make(5), 30, split)]
    assert resumed == whole


def test_infeasible_and_pruned_trials_are_never_parents_while_feasible_ones_exist() -> None:
    sampler = NSGA2Sampler(seed=2, population_size=6, n_startup_trials=8)
    chosen: list[tuple[int, int]] = []
    plan = sampler._plan

    def spy(trial: Any) -> Any:
        made = plan(trial)
        if made.parents is not None and made.number not in {n for n, _ in chosen}:
            chosen.extend((made.number, p.number) for p in made.parents)
        return made

    sampler._plan = spy  # type: ignore[method-assign]
    kinds: dict[int, str] = {}
    with hpdeco.search(
        objective=OBJECTIVES,
        constraints={"load": ("<=", 1.0)},
        store=":memory:",
        max_trials=60,
        sampler=sampler,
        pruner=lambda trial: trial.number % 5 == 1,
        verbose=0,
    ) as search:
        for trial in search:
            x = [hp.Float(f"x{i}", 0.0, 1.0) for i in range(4)]
            f1, f2 = zdt1(x)
            # Every third trial is infeasible, and far better than any feasible one on both
            # objectives: constrained domination still ranks it after every feasible trial.
            infeasible = trial.number % 3 == 0
            trial.set_value("load", 5.0 if infeasible else 0.0)
            trial.set_value("f2", f2 - 100.0 if infeasible else f2)
            trial.report(f1 - 100.0 if infeasible else f1, step=1)
            trial.should_prune()
            kinds[trial.number] = "infeasible" if infeasible else "feasible"
    states = {t.number: t.state for t in search.trials}
    pruned = {n for n, s in states.items() if s is TrialState.PRUNED}
    assert pruned and any(kinds[n] == "infeasible" for n in states if n not in pruned)
    assert len({n for n, _ in chosen}) >= 40  # most trials were children
    for child, parent in chosen:
        assert parent < child
        assert parent not in pruned, (child, parent)
        assert kinds[parent] == "feasible", (child, parent)


def test_with_only_infeasible_trials_the_least_violating_rank_first() -> None:
    with hpdeco.search(
        objective=OBJECTIVES,
        constraints={"load": ("<=", 0.0)},
        store=":memory:",
        max_trials=6,
        sampler=RandomSampler(seed=0),
        verbose=0,
    ) as search:
        for trial in search:
            hp.Float("x", 0.0, 1.0)
            trial.set_value("load", [3.0, 1.0, 2.0, 0.0, 5.0, 0.5][trial.number])
            trial.set_value("f2", float(trial.number))
            trial.value = -float(trial.number)
    ranking = rank_finished(search.study.finished, ["min", "min"])
    numbers = [search.study.finished[row].number for row in ranking.rows]
    assert numbers == [3, 5, 1, 2, 0, 4]
    assert ranking.fronts == [0, -1, -1, -1, -1, -1]


def test_fronts_match_the_reference_sort_and_crowding_puts_the_ends_first() -> None:
    from hpdeco.pareto import nondominated_ranks

    rng = np.random.default_rng(0)
    for m in (2, 3):
        points = rng.random((80, m))
        points[5] = points[6]  # a tie: both on the same front
        assert nondominated_fronts(points).tolist() == nondominated_ranks(points.tolist())
    with hpdeco.search(
        objective=OBJECTIVES, store=":memory:", max_trials=5, sampler=RandomSampler(seed=0)
    ) as search:
        for trial in search:
            hp.Float("x", 0.0, 1.0)
            f1 = [0.0, 0.5, 0.45, 1.0, 0.2][trial.number]
            trial.set_value("f2", 1.0 - f1)  # all five on the front
            trial.value = f1
    ranking = rank_finished(search.study.finished, ["min", "min"])
    numbers = [search.study.finished[row].number for row in ranking.rows]
    # The two ends first, then the widest gaps (0.2 and 0.5 straddle wide gaps, 0.45 not).
    assert numbers[:2] == [0, 3] and numbers[-1] == 2


def test_motpe_beats_random_and_single_objective_tpe_on_zdt1_at_60_trials() -> None:
    seeds = range(5)
    motpe = [volume(zdt1_search(MOTPESampler(seed=s), 60)) for s in seeds]
    random = [volume(zdt1_search(RandomSampler(seed=s), 60)) for s in seeds]
    # TPE on the first objective alone piles onto one end of the front.
    single = [volume(zdt1_search(TPESampler(seed=s), 60)) for s in seeds]
    assert statistics.median(motpe) > statistics.median(random) + 0.3, (motpe, random)
    assert statistics.median(motpe) > statistics.median(single), (motpe, single)


def test_nsga2_beats_random_on_zdt1_at_150_trials() -> None:
    seeds = range(3)
    nsga2 = [volume(zdt1_search(NSGA2Sampler(seed=s), 150)) for s in seeds]
    random = [volume(zdt1_search(RandomSampler(seed=s), 150)) for s in seeds]
    assert min(nsga2) > max(random), (nsga2, random)


def test_the_default_switches_to_nsga2_after_its_tpe_trials() -> None:
    sampler = MultiObjectiveSampler(seed=1, tpe_trials=12)
    used: list[str] = []
    choose = sampler._choose

    def spy(trial: Any) -> Any:
        chosen = choose(trial)
        if len(used) == trial.number:
            used.append(type(chosen).__name__)
        return chosen

    sampler._choose = spy  # type: ignore[method-assign]
    zdt1_search(sampler, 20)
    assert used == ["MOTPESampler"] * 12 + ["NSGA2Sampler"] * 8


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: NSGA2Sampler(population_size=1), ["population_size", "1"]),
        (lambda: NSGA2Sampler(crossover_prob=1.5), ["crossover_prob", "1.5"]),
        (lambda: NSGA2Sampler(mutation_prob=-0.1), ["mutation_prob", "-0.1"]),
        (lambda: MultiObjectiveSampler(tpe_trials=-1), ["tpe_trials", "-1"]),
        (lambda: MOTPESampler(gamma=0.0), ["gamma", "0"]),
    ],
)
def test_bad_options_are_hpdeco_errors_naming_the_option(make: Any, words: list[str]) -> None:
    with pytest.raises(HpdecoError) as caught:
        make()
    for word in words:
        assert word in str(caught.value)


def test_motpe_never_counts_pruned_or_infeasible_trials_as_good() -> None:
    sampler = MOTPESampler(seed=4, n_startup_trials=5)
    seen: list[tuple[int, list[int]]] = []
    split = sampler._split

    def spy(model: Any, trial: Any) -> None:
        split(model, trial)
        finished = trial.study.finished
        seen.append((trial.number, [finished[i].number for i in np.flatnonzero(model.good)]))

    sampler._split = spy  # type: ignore[method-assign]
    with hpdeco.search(
        objective=OBJECTIVES,
        constraints={"load": ("<=", 1.0)},
        store=":memory:",
        max_trials=40,
        sampler=sampler,
        pruner=lambda trial: trial.number % 4 == 1,
        verbose=0,
    ) as search:
        for trial in search:
            f1, f2 = zdt1([hp.Float(f"x{i}", 0.0, 1.0) for i in range(4)])
            infeasible = trial.number % 3 == 0
            trial.set_value("load", 5.0 if infeasible else 0.0)
            trial.set_value("f2", f2 - 100.0 if infeasible else f2)
            trial.report(f1 - 100.0 if infeasible else f1, step=1)
            trial.should_prune()
    states = {t.number: t.state for t in search.trials}
    assert len(seen) >= 30
    for _, good in seen:
        assert good
        assert all(states[n] is TrialState.COMPLETE and n % 3 != 0 for n in good), good
