"""One rule decides which trial is best, everywhere: among equal values the lower trial
number wins, whatever order the trials finished in."""

from __future__ import annotations

import pytest

import hpdeco
from hpdeco import TrialState
from hpdeco.cli import main
from hpdeco.records import best, ranked
from hpdeco.weights import ranked as kept_order


def tied_study(store: str) -> None:
    """Trials 0 and 1 both score 0.9, and trial 1 finishes first (a second search on the
    same study runs it while trial 0 is still going, as another worker would)."""
    with hpdeco.search(objective="acc", max_trials=3, store=store, study="t", verbose=0) as a:
        for trial in a:
            if trial.number == 0:
                with hpdeco.search(
                    objective="acc", max_trials=2, store=store, study="t", verbose=0
                ) as b:
                    for other in b:
                        other.report(0.9, step=1)
                trial.report(0.9, step=1)
            else:
                trial.report(0.5, step=1)


def test_every_reader_names_the_same_best_trial_on_a_tie(store: str, capsys) -> None:
    tied_study(store)
    study = hpdeco.load_study("t", store=store)
    finish_order = [r.number for r in study.finished]
    assert finish_order[:2] == [1, 0]  # the tie is between trials that finished out of order
    assert study.best is not None and study.best.number == 0
    assert kept_order(study)[0].number == 0  # whose weights best_model() loads
    assert ranked(study.trials, "max")[0].number == 0
    row = study.store.study("t")
    assert study.store.overview(row.id, "max").best == (0, 0.9)  # `hpdeco studies`
    assert main(["best", "t", "--store", store]) == 0
    assert "trial 0: acc = 0.9" in capsys.readouterr().out
    pytest.importorskip("matplotlib")
    from hpdeco.plots import plot_params

    figure = plot_params(study)
    assert "green ring: the best, trial 0" in figure._suptitle.get_text()


def test_ranked_keeps_complete_finite_values_best_first() -> None:
    from hpdeco.records import TrialRecord

    def record(number: int, value: float | None, state=TrialState.COMPLETE) -> TrialRecord:
        return TrialRecord(number, state, {}, value, {}, {})

    records = [
        record(0, 0.3),
        record(1, 0.7),
        record(2, 0.7),
        record(3, float("nan")),
        record(4, 0.9, TrialState.PRUNED),
        record(5, None, TrialState.FAIL),
    ]
    assert [r.number for r in ranked(records, "max")] == [1, 2, 0]
    assert [r.number for r in ranked(records, "min")] == [0, 1, 2]
    assert best(records, "max").number == 1
    assert best([], "max") is None
