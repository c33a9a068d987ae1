"""The GP's start-up counts pruned trials as TPE's does: under a median pruner most trials
are pruned, and counting complete ones only kept the default sampler on Sobol' points
through whole searches (the head-to-head's Keras task: 8 of 12 seeds never modelled)."""

from __future__ import annotations

import pytest

import hpdeco
from hpdeco import hp
from hpdeco.samplers import GPSampler


def _draws(n_startup_trials: int, complete: set[int], trials: int = 9) -> list[dict]:
    """A search whose trials outside ``complete`` are pruned after one step; every trial's
    parameters."""
    with hpdeco.search(
        objective="loss",
        store=":memory:",
        max_trials=trials,
        sampler=GPSampler(seed=3, n_startup_trials=n_startup_trials),
        pruner="none",
        verbose=0,
    ) as search:
        for trial in search:
            with trial:
                x, y = hp.Float("x", -2.0, 2.0), hp.Float("y", -2.0, 2.0)
                trial.report((x - 0.5) ** 2 + (y + 0.3) ** 2, step=1)
                if trial.number not in complete:
                    raise hpdeco.TrialPruned()
                trial.report((x - 0.5) ** 2 + (y + 0.3) ** 2, step=2)
        return [dict(r.params) for r in sorted(search.trials, key=lambda r: r.number)]


def test_pruned_trials_count_towards_the_gps_start_up() -> None:
    # Two complete and six pruned trials: eight with a value, past a start-up of five.
    modelled = _draws(5, complete={0, 1})
    sobol_only = _draws(100, complete={0, 1})
    assert modelled[:5] == sobol_only[:5]  # the start-up itself: the same Sobol' points
    assert modelled[8] != sobol_only[8]  # the GP proposed trial 8


@pytest.mark.parametrize("complete", [set(), {4}])
def test_the_gp_waits_for_two_complete_trials(complete: set[int]) -> None:
    # Every trial but at most one pruned: no best and worst to model yet, Sobol' goes on.
    assert _draws(5, complete=complete) == _draws(100, complete=complete)
