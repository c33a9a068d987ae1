"""The pruners' rules on hand-made curves, against real SQLite stores."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import pytest

import hpdeco
from hpdeco import ConfigError, TrialPruned, TrialState
from hpdeco.pruners import (
    DEFAULT_PRUNER,
    PRUNERS,
    AshaPruner,
    FunctionPruner,
    HyperbandPruner,
    MedianPruner,
    NoPruner,
    PatientPruner,
    PercentilePruner,
    ThresholdPruner,
    resolve_pruner,
)

Curve = Sequence[float]  # value at step 1, 2, 3, ...


def search(store: str, pruner: Any, *, objective: str = "score", study: str = "s", **kw: Any):
    return hpdeco.search(
        objective=objective,
        store=store,
        pruner=pruner,
        study=study,
        max_trials=kw.pop("max_trials", 100),
        verbose=0,
        keep_best=0,
        **kw,
    )


def play(trial: hpdeco.Trial, curve: Curve) -> int | None:
    """Report ``curve`` step by step; stop when pruned. The step it was pruned at, or None."""
    for step, value in enumerate(curve, start=1):
        trial.report(value, step)
        if trial.should_prune():
            return step
    return None


def history(store: str, pruner: Any, curves: list[Curve], **kw: Any) -> list[int | None]:
    """Run one trial per curve; the step each was pruned at (None: ran to the end)."""
    out = []
    with search(store, pruner, **kw) as s:
        for curve, trial in zip(curves, s, strict=False):  # curves first: no extra trial is started
            out.append(play(trial, curve))
    return out


def probe(store: str, pruner: Any, curve: Curve, **kw: Any) -> list[bool]:
    """The pruner's answer at every step of one more trial reporting ``curve`` (asked
    directly, so that an early True does not stick). The probe then ends FAIL, which no
    pruner compares against, so probes do not change each other's answers."""
    answers = []
    with search(store, pruner, **kw) as s:
        trial = next(iter(s))
        for step, value in enumerate(curve, start=1):
            trial.report(value, step)
            answers.append(s.study.pruner.should_prune(trial))
        trial._fail_soon("probe")
    return answers


FIVE = [[0.1, 0.2, 0.3], [0.2, 0.3, 0.4], [0.3, 0.4, 0.5], [0.4, 0.5, 0.6], [0.5, 0.6, 0.7]]


# -- the registry --------------------------------------------------------------------------------


def test_every_shorthand_resolves_and_median_is_the_default() -> None:
    assert DEFAULT_PRUNER == "median"
    assert isinstance(resolve_pruner(None), MedianPruner)
    kinds = {name: type(resolve_pruner(name)) for name in PRUNERS}
    assert kinds == {
        "asha": AshaPruner,
        "hyperband": HyperbandPruner,
        "median": MedianPruner,
        "none": NoPruner,
        "patient": PatientPruner,
        "percentile": PercentilePruner,
        "threshold": ThresholdPruner,
    }
    assert resolve_pruner("percentile").percentile == 25
    with pytest.raises(ConfigError, match="pruner='medain' is unknown; use one of asha"):
        resolve_pruner("medain")
    assert isinstance(resolve_pruner(lambda trial: True), FunctionPruner)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: PercentilePruner(101), "percentile must be a finite number >= 0"),
        (lambda: MedianPruner(n_startup_trials=-1), "n_startup_trials must be an int >= 0"),
        (lambda: MedianPruner(interval_steps=0), "interval_steps must be an int >= 1"),
        (lambda: MedianPruner(n_warmup_steps=1.5), "n_warmup_steps must be an int >= 0"),
        (lambda: AshaPruner(reduction_factor=1), "reduction_factor must be an int >= 2"),
        (lambda: HyperbandPruner(min_resource=5, max_resource=3), "max_resource must be >="),
        (lambda: ThresholdPruner(lower=2, upper=1), "lower must be <= upper"),
        (lambda: ThresholdPruner(lower=math.nan), "lower must be a finite number"),
        (lambda: PatientPruner("median", patience=-1), "patience must be an int >= 0"),
        (lambda: PatientPruner("nope", patience=1), "pruner='nope' is unknown"),
    ],
)
def test_bad_options_are_config_errors_naming_the_argument(
    make: Callable[[], Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        make()


# -- what a pruned trial records -----------------------------------------------------------------


def test_a_trial_pruned_by_should_prune_is_recorded_pruned_at_that_step(store: str) -> None:
    with search(store, lambda trial: max(trial.intermediate_values) == 3) as s:
        for trial in s:
            assert play(trial, [0.5, 0.6, 0.4, 0.9]) == 3
            break
    (record,) = s.trials
    assert (record.state, record.last_step, record.value) == (TrialState.PRUNED, 3, 0.4)


def test_raising_trial_pruned_records_pruned_and_the_search_goes_on(store: str) -> None:
    with search(store, "none", max_trials=2) as s:
        for trial in s:
            with trial:
                trial.report(0.3, 1)
                trial.report(0.2, 2)
                if trial.number == 0:
                    raise TrialPruned("hopeless")
    first, second = s.trials
    assert (first.state, first.last_step, first.value, first.reason) == (
        TrialState.PRUNED,
        2,
        0.2,
        "hopeless",
    )
    assert second.state is TrialState.COMPLETE


def test_a_nan_objective_fails_the_trial_instead_of_asking_the_pruner(store: str) -> None:
    asked = []
    with search(store, lambda t: asked.append(1) or False, max_trials=2) as s:
        for trial in s:
            play(trial, [0.5, math.nan, 0.7] if trial.number == 0 else [0.5, 0.6])
    first, second = s.trials
    assert first.state is TrialState.FAIL and "was nan at step 2" in first.reason
    assert first.last_step == 2  # it stopped at the NaN
    assert second.state is TrialState.COMPLETE
    assert len(asked) == 1 + 2  # trial 0 step 1, trial 1 steps 1-2


# -- median / percentile -------------------------------------------------------------------------


def test_median_prunes_below_the_median_and_keeps_ties_and_better(store: str) -> None:
    assert history(store, "median", FIVE) == [None] * 5  # the 5 startup trials
    # median at step 1 of the five: 0.3
    assert probe(store, MedianPruner(), [0.29]) == [True]
    assert probe(store, MedianPruner(), [0.3]) == [False]
    assert probe(store, MedianPruner(), [0.31, 0.35, 0.45]) == [False, True, True]


def test_median_compares_the_best_value_so_far(store: str) -> None:
    history(store, "median", FIVE)
    # medians 0.3, 0.4, 0.5: at step 2 it is at 0.1 but its best, 0.45, beats 0.4
    assert probe(store, MedianPruner(), [0.45, 0.1, 0.1]) == [False, False, True]


def test_median_compares_best_so_far_with_the_others_best_so_far(store: str) -> None:
    # Noisy finished trials: 0.9 at step 2, back to 0.5 at step 3. At step 3 their best so
    # far is still 0.9, so a trial whose best is 0.6 is worse than the median, not better
    # than their single value 0.5 at that step.
    history(store, "median", [[0.5, 0.9, 0.5]] * 5)
    assert probe(store, MedianPruner(), [0.6, 0.6, 0.6]) == [False, True, True]
    assert probe(store, MedianPruner(), [0.6, 0.9, 0.6]) == [False, False, False]
    assert probe(store, MedianPruner(), [0.6, 0.6, 0.9]) == [False, True, False]


def test_median_in_min_direction_prunes_the_higher_losses(store: str) -> None:
    losses = [[1 - v for v in c] for c in FIVE]  # medians 0.7, 0.6, 0.5
    history(store, "median", losses, objective="val_loss")
    assert probe(store, MedianPruner(), [0.69, 0.61, 0.4], objective="val_loss") == [
        False,
        True,
        False,
    ]


def test_median_waits_for_n_startup_complete_trials(store: str) -> None:
    history(store, "median", FIVE[:4])
    assert probe(store, MedianPruner(), [0.0, 0.0]) == [False, False]
    assert probe(store, MedianPruner(n_startup_trials=4), [0.0, 0.0]) == [True, True]


def test_pruned_and_failed_trials_do_not_count_as_startup(store: str) -> None:
    with search(store, "none") as s:
        for trial in s:
            with trial:
                trial.report(0.9, 1)
                if trial.number < 3:
                    raise TrialPruned()
                if trial.number < 6:
                    raise RuntimeError("crash")
                if trial.number == 7:
                    break
    assert [t.state.value[0] for t in s.trials] == list("PPPFFFCC")
    # 2 COMPLETE trials: not enough for n_startup_trials=3 ...
    assert probe(store, MedianPruner(n_startup_trials=3), [0.1]) == [False]
    # ... and with 2 enough, the COMPLETE ones are compared against.
    assert probe(store, MedianPruner(n_startup_trials=2), [0.1]) == [True]


def test_median_compares_with_complete_trials_only(store: str) -> None:
    # Three trials pruned low at step 1 (they were below the cutoff: that is why they were
    # stopped), a failed one, and two COMPLETE ones at 0.9. Counting the PRUNED ones would
    # put the median at 0.1 and let 0.5 go on; among the COMPLETE ones it is 0.9.
    with search(store, "none") as s:
        for trial in s:
            with trial:
                trial.report(0.1 if trial.number < 4 else 0.9, 1)
                trial.report(0.1 if trial.number < 4 else 0.9, 2)
                if trial.number < 3:
                    raise TrialPruned()
                if trial.number == 3:
                    raise RuntimeError("crash")
                if trial.number == 5:
                    break
    assert [t.state.value[0] for t in s.trials] == list("PPPFCC")
    assert probe(store, MedianPruner(n_startup_trials=2), [0.5, 0.5]) == [True, True]
    assert probe(store, MedianPruner(n_startup_trials=2), [0.9, 0.9]) == [False, False]


def test_median_does_not_grow_lenient_as_pruned_trials_pile_up(store: str) -> None:
    # Five COMPLETE trials at 0.5 .. 0.9 (median 0.7), then twenty bad trials the median
    # prunes at step 1. A trial at 0.6 is below the median of the trials that completed,
    # before and after the pile of pruned ones.
    history(store, "median", [[v / 10] * 3 for v in range(5, 10)])
    assert probe(store, MedianPruner(), [0.6, 0.6, 0.6]) == [True, True, True]
    assert history(store, "median", [[0.05] * 3] * 20) == [1] * 20
    assert probe(store, MedianPruner(), [0.6, 0.6, 0.6]) == [True, True, True]


def test_median_warm_up_steps_are_never_pruned(store: str) -> None:
    history(store, "median", FIVE)
    assert probe(store, MedianPruner(n_warmup_steps=2), [0.0, 0.0, 0.0]) == [False, False, True]


def test_median_interval_checks_every_kth_step_after_warm_up(store: str) -> None:
    history(store, "median", [[0.5] * 6] * 5)
    pruner = MedianPruner(n_warmup_steps=1, interval_steps=2)
    assert probe(store, pruner, [0.0] * 6) == [False, True, False, True, False, True]


def test_median_interval_with_sparse_steps_checks_each_checkpoint_passed(store: str) -> None:
    history(store, "median", [[0.5] * 8] * 5)
    answers = []
    with search(store, MedianPruner(interval_steps=3)) as s:
        for trial in s:
            for step in (2, 4, 6, 8):  # checkpoints 1, 4, 7: met at steps 2, 4, 8
                trial.report(0.0, step)
                answers.append(s.study.pruner.should_prune(trial))
            break
    assert answers == [True, True, False, True]


def test_median_needs_n_min_trials_at_the_step(store: str) -> None:
    history(store, "median", [[0.5, 0.5, 0.5]] * 5 + [[0.5] * 4] * 2)
    assert probe(store, MedianPruner(n_min_trials=3), [0.0] * 4) == [True, True, True, False]


def test_percentile_25_keeps_only_the_best_quarter(store: str) -> None:
    curves = [[v] for v in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)]
    history(store, "none", curves)
    # the 75th percentile of 0.1 .. 0.9 is 0.7
    assert probe(store, PercentilePruner(25), [0.69]) == [True]
    assert probe(store, PercentilePruner(25), [0.7]) == [False]
    assert probe(store, MedianPruner(), [0.69]) == [False]
    losses = [[1 - c[0]] for c in curves]
    history(store, "none", losses, objective="loss", study="min")
    assert probe(store, PercentilePruner(25), [0.31], objective="loss", study="min") == [True]
    assert probe(store, PercentilePruner(25), [0.3], objective="loss", study="min") == [False]


def test_median_with_nothing_finite_counts_as_the_worst(store: str) -> None:
    history(store, "median", FIVE)
    with search(store, "median") as s:
        fake = SimpleNamespace(number=99, intermediate_values={1: math.nan}, study=s.study)
        assert MedianPruner().should_prune(fake) is True
        fake.intermediate_values = {1: 0.5}
        assert MedianPruner().should_prune(fake) is False


def test_steps_out_of_order_decide_at_the_largest_step(store: str) -> None:
    history(store, "median", FIVE)
    with search(store, "median") as s:
        for trial in s:
            trial.report(0.45, 3)  # under the step-3 median 0.5
            assert s.study.pruner.should_prune(trial)
            trial.report(0.9, 1)  # an earlier step arriving late: best up to step 3 is 0.9
            assert not s.study.pruner.should_prune(trial)
            break


def test_a_repeated_step_keeps_its_first_value(store: str) -> None:
    history(store, "median", FIVE)
    with search(store, "median") as s:
        for trial in s:
            trial.report(0.1, 1)
            with pytest.warns(UserWarning, match="reported step 1 twice; the first value"):
                trial.report(0.9, 1)
            assert trial.intermediate_values == {1: 0.1}
            assert trial.should_prune()
            break


# -- ASHA ----------------------------------------------------------------------------------------


def test_asha_rungs() -> None:
    assert AshaPruner().rungs(30) == [1, 3, 9, 27]
    assert AshaPruner(min_resource=2, reduction_factor=2).rungs(20) == [2, 4, 8, 16]
    assert AshaPruner(min_early_stopping_rate=1).rungs(30) == [3, 9, 27]


def test_asha_keeps_the_top_third_at_each_rung(store: str) -> None:
    # 9 trials reach step 3 with values 0.1 .. 0.9 at every step
    history(store, "none", [[v / 10] * 3 for v in range(1, 10)])
    # at rungs 1 and 3, 10 values: the top max(1, 10 // 3) = 3 go on: 0.9, 0.8 and 0.7 (tied)
    assert probe(store, AshaPruner(), [0.7, 0.7, 0.7]) == [False, False, False]
    assert probe(store, AshaPruner(), [0.69]) == [True]
    # not at step 2 (between rungs), whatever the value
    assert probe(store, AshaPruner(), [0.9, 0.0, 0.0]) == [False, False, True]


def test_asha_lets_the_first_trial_at_a_rung_go_on_and_respects_min(store: str) -> None:
    assert history(store, "asha", [[5.0, 5.0, 5.0]], objective="loss") == [None]
    assert probe(store, AshaPruner(), [4.0, 6.0, 6.0], objective="loss") == [False, False, True]
    assert probe(store, AshaPruner(), [6.0], objective="loss") == [True]


def test_asha_counts_running_trials_and_ignores_failed_ones(store: str) -> None:
    with search(store, "asha") as a, search(store, "asha") as b:
        trial_a = next(iter(a))
        trial_a.report(0.9, 1)  # still running in worker a
        trial_b = next(iter(b))
        trial_b.report(0.5, 1)
        assert b.study.pruner.should_prune(trial_b)  # 2 values at rung 1, only the best goes on
        assert not a.study.pruner.should_prune(trial_a)
        trial_a._fail_soon("crashed")
    with search(store, "asha") as c:
        trial_c = next(iter(c))
        trial_c.report(0.6, 1)
        # trial a FAILED: the rung holds b's 0.5 and c's 0.6
        assert not c.study.pruner.should_prune(trial_c)


def test_asha_with_sparse_steps_judges_at_the_first_step_past_a_rung(store: str) -> None:
    def sparse(trial: hpdeco.Trial, values: dict[int, float]) -> list[bool]:
        out = []
        for step, value in values.items():
            trial.report(value, step)
            out.append(trial.study.pruner.should_prune(trial))
        return out

    with search(store, "asha") as s:
        first = next(iter(s))
        assert sparse(first, {2: 0.9, 4: 0.9}) == [False, False]
    with search(store, "asha") as s:
        second = next(iter(s))
        # rung 1 met at step 2 (against 0.9 there), rung 3 at step 4
        assert sparse(second, {2: 0.95, 4: 0.5, 6: 0.1}) == [False, True, False]


# -- Hyperband -----------------------------------------------------------------------------------


def test_hyperband_brackets_follow_the_paper_and_are_deterministic() -> None:
    pruner = HyperbandPruner()
    assert pruner.brackets(20) == 3  # s_max = floor(log3 20) = 2
    cycle = [pruner.bracket(n, 20) for n in range(17)]
    # bracket s gets ceil((s_max + 1) / (s + 1) * 3**s): 3, 5, 9 trials of 17
    assert [cycle.count(s) for s in range(3)] == [3, 5, 9]
    assert cycle == [HyperbandPruner().bracket(n + 17, 20) for n in range(17)]
    assert max(len(list(g)) for _, g in itertools.groupby(cycle)) <= 2
    # rungs from min_resource up, every eta-fold, below max_resource (Li et al. 2018's ASHA
    # brackets, as Optuna has them): bracket 0 judges once at 9 of 20 steps
    assert pruner.rungs(2, 20) == [1, 3, 9] and pruner.rungs(1, 20) == [3, 9]
    assert pruner.rungs(0, 20) == [9]
    # with max_resource a power of eta bracket 0 runs every trial to the end, as in the paper
    assert HyperbandPruner().rungs(0, 27) == [] and HyperbandPruner().rungs(3, 27) == [1, 3, 9]
    wide = HyperbandPruner(min_resource=3)
    assert wide.brackets(20) == 2 and wide.rungs(1, 20) == [3, 9] and wide.rungs(0, 20) == [9]


def test_hyperband_takes_max_resource_from_the_trial_or_says_how_to_give_it(store: str) -> None:
    with search(store, "hyperband") as s:
        trial = next(iter(s))
        trial.report(0.5, 1)
        with pytest.raises(ConfigError, match=r"max_resource=.*trial.max_steps"):
            s.study.pruner.should_prune(trial)
        trial.max_steps = 9
        assert s.study.pruner.should_prune(trial) is False


def test_hyperband_ranks_a_trial_only_within_its_bracket(store: str) -> None:
    pruner = HyperbandPruner(max_resource=9)  # brackets of 9, 5, 3 trials: rungs [1, 3], [3]
    aggressive = [n for n in range(40) if pruner.bracket(n, 9) == 2]
    first, second = aggressive[:2]
    assert second - first > 1  # other brackets' trials in between
    answers = {}
    with search(store, pruner) as s:
        for trial in s:
            value = {first: 0.3, second: 0.5}.get(trial.number, 0.99)
            trial.report(value, 1)
            answers[trial.number] = s.study.pruner.should_prune(trial)
            if trial.number == second:
                break
    # among all trials 0.5 would be far from the top third; in its bracket it beats 0.3
    assert answers[first] is False and answers[second] is False
    with search(store, pruner) as s:
        for trial in s:
            if pruner.bracket(trial.number, 9) == 2:
                trial.report(0.4, 1)
                assert s.study.pruner.should_prune(trial)  # 3 in the bracket: keep 1, 0.5
                break
            trial.report(0.1, 1)


def test_hyperband_judges_each_bracket_at_its_rungs_from_min_resource_up(store: str) -> None:
    # max_resource=20: brackets with rungs {1, 3, 9}, {3, 9} and {9}. Every trial reports 0.9
    # except, in each bracket, a probe at 0.5 once eight trials of that bracket are in.
    pruner = HyperbandPruner(max_resource=20)
    seen = {0: 0, 1: 0, 2: 0}
    pruned_at: dict[int, int | None] = {}
    with search(store, pruner, max_trials=200) as s:
        for trial in s:
            trial.max_steps = 20
            bracket = pruner.bracket(trial.number, 20)
            seen[bracket] += 1
            probing = seen[bracket] == 9
            step = play(trial, [0.5 if probing else 0.9] * 20)
            if probing:
                pruned_at[bracket] = step
            if len(pruned_at) == 3:
                break
    # judged, and pruned, at its bracket's first rung; bracket 0 too (it used to never prune)
    assert pruned_at == {2: 1, 1: 3, 0: 9}


def test_hyperband_bracket_zero_never_prunes(store: str) -> None:
    pruner = HyperbandPruner(max_resource=9)
    with search(store, pruner) as s:
        for trial in s:
            trial.report(0.0 if pruner.bracket(trial.number, 9) == 0 else 1.0, 1)
            trial.report(0.0 if pruner.bracket(trial.number, 9) == 0 else 1.0, 3)
            if pruner.bracket(trial.number, 9) == 0 and trial.number > 10:
                assert not s.study.pruner.should_prune(trial)
                break


# -- threshold and patient -----------------------------------------------------------------------


def test_threshold_prunes_outside_the_bounds_and_on_nan(store: str) -> None:
    with search(store, "none", objective="loss") as s:
        trial = next(iter(s))
        fake = SimpleNamespace(number=0, intermediate_values={}, study=s.study)

        def ask(pruner: ThresholdPruner, values: dict[int, float]) -> bool:
            fake.intermediate_values = values
            return pruner.should_prune(fake)

        assert ask(ThresholdPruner(upper=2.0), {1: 2.5})
        assert not ask(ThresholdPruner(upper=2.0), {1: 2.0})
        assert ask(ThresholdPruner(lower=0.5), {1: 0.4})
        assert not ask(ThresholdPruner(lower=0.5), {1: 0.6})
        assert ask(ThresholdPruner(), {1: math.nan}) and ask(ThresholdPruner(), {1: math.inf})
        assert not ask(ThresholdPruner(), {1: 1e300})
        assert not ask(ThresholdPruner(lower=0.5), {1: 0.1, 2: 0.6})  # the latest step counts
        assert not ask(ThresholdPruner(lower=0.5, n_warmup_steps=2), {2: 0.1})
        assert ask(ThresholdPruner(lower=0.5, n_warmup_steps=2), {3: 0.1})
        trial.report(3.0, 1)
        assert ThresholdPruner(upper=2.0).should_prune(trial)


def test_patient_asks_the_wrapped_pruner_only_after_patience_steps_without_improvement(
    store: str,
) -> None:
    always = PatientPruner(lambda trial: True, patience=2)
    with search(store, always) as s:
        trial = next(iter(s))
        answers = []
        for step, value in enumerate([0.1, 0.2, 0.3, 0.3, 0.3, 0.4], start=1):
            trial.report(value, step)
            answers.append(always.should_prune(trial))
    # steps 1-2: no earlier part yet; 3: improved; 4: 0.3 within the last 2 beats 0.2;
    # 5: best of steps 4-5 (0.3) does not beat best up to 3 (0.3); 6: improved again
    assert answers == [False, False, False, False, True, False]


def test_patient_min_delta_and_min_direction(store: str) -> None:
    pruner = PatientPruner(lambda trial: True, patience=1, min_delta=0.1)
    with search(store, pruner, objective="loss") as s:
        trial = next(iter(s))
        answers = []
        for step, value in enumerate([1.0, 0.8, 0.75, 0.9], start=1):
            trial.report(value, step)
            answers.append(pruner.should_prune(trial))
    assert answers == [False, False, True, True]  # 0.05 less is not an improvement of 0.1
    never = PatientPruner(lambda trial: False, patience=0)
    assert not never.should_prune(trial) and PatientPruner(lambda t: True, 0).should_prune(trial)


def test_none_never_prunes(store: str) -> None:
    history(store, "none", FIVE)
    assert probe(store, "none", [-1.0, -1.0]) == [False, False]


# -- decisions are rebuilt from the store --------------------------------------------------------


PRUNER_FACTORIES: dict[str, Callable[[], Any]] = {
    "median": MedianPruner,
    "percentile": lambda: PercentilePruner(25),
    "asha": AshaPruner,
    "hyperband": lambda: HyperbandPruner(max_resource=9),
    "patient": lambda: PatientPruner("median", patience=1),
    "threshold": lambda: ThresholdPruner(lower=0.79),
}
HISTORY = [[0.1 * ((i * 7) % 10) + 0.05 * s for s in range(1, 10)] for i in range(12)]
PROBE = [0.85, 0.8, 0.78, 0.8, 0.82, 0.8, 0.8, 0.8, 0.8]


class StoredTrial:
    """A trial as a fresh process sees it: only what the store holds."""

    def __init__(self, study: hpdeco.Study, number: int) -> None:
        (record,) = [t for t in study.trials if t.number == number]
        self.number = number
        self.study = study
        self.intermediate_values = dict(record.intermediate_values)
        self.max_steps = 9


@pytest.mark.parametrize("name", sorted(PRUNER_FACTORIES))
def test_another_process_decides_the_same_from_the_store_alone(store: str, name: str) -> None:
    make = PRUNER_FACTORIES[name]
    history(store, make(), HISTORY)
    here, elsewhere = [], []
    with search(store, make()) as s:
        trial = next(iter(s))
        trial.max_steps = 9
        for step, value in enumerate(PROBE, start=1):
            trial.report(value, step)
            here.append(s.study.pruner.should_prune(trial))
            # a second worker: its own connection, study and pruner; nothing shared
            with search(store, make()) as other:
                elsewhere.append(
                    other.study.pruner.should_prune(StoredTrial(other.study, trial.number))
                )
    assert here == elsewhere
    assert True in here and False in here  # the probe is judged both ways


@pytest.mark.parametrize("name", ["median", "asha", "hyperband"])
def test_a_restarted_search_decides_as_one_that_never_stopped(tmp_path, name: str) -> None:
    make = PRUNER_FACTORIES[name]
    one, two = str(tmp_path / "one.db"), str(tmp_path / "two.db")
    curves = [*HISTORY, PROBE, PROBE[::-1]]
    with search(one, make()) as s:
        for curve, trial in zip(curves, s, strict=False):
            trial.max_steps = 9
            play(trial, curve)
    for part in (curves[:6], curves[6:]):  # stopped and restarted half way
        with search(two, make()) as s:
            for curve, trial in zip(part, s, strict=False):
                trial.max_steps = 9
                play(trial, curve)
    with search(one, "none") as a, search(two, "none") as b:
        ends = [(t.state, t.last_step) for t in a.trials]
        assert ends == [(t.state, t.last_step) for t in b.trials]
    assert {TrialState.PRUNED, TrialState.COMPLETE} <= {state for state, _ in ends}
