"""What the GP costs per trial (issue 15): the default takes it for the first hundred
trials, and its proposals there must cost no more than a fifth over Optuna's TPE with its
SQLite storage. Most of a proposal was the fit of the kernel's hyperparameters: now each
fit from 50 trials on starts from the last anchor fit (every ``FRESH_EVERY`` trials, from
the fixed starts), and the likelihood and the kernel are cheaper per evaluation. The
proposals still depend only on the trials (a resumed study matches a straight one)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hpdeco
from hpdeco import hp
from hpdeco.samplers import _gp_model

# Hartmann-6 (as in bench/samplers.py): the costliest case for the GP, six inputs.
_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def _hartmann6(x: list[float]) -> float:
    inner = np.sum(_A * (np.array(x) - _P) ** 2, axis=1)
    return float(-np.sum(_ALPHA * np.exp(-inner)))


def _hpdeco_trials(trials: int, store: str, seed: int = 0) -> Iterator[float]:
    """Run the default sampler; yield the CPU clock after each trial."""
    with hpdeco.search(
        objective="loss",
        store=store,
        study="cost",
        max_trials=trials,
        seed=seed,
        verbose=0,
    ) as search:
        for trial in search:
            trial.report(_hartmann6([hp.Float(f"x{i}", 0.0, 1.0) for i in range(6)]), step=1)
            yield time.process_time()


def _count_likelihood(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the likelihood's evaluations (the real method, called through)."""
    calls = [0]
    real = _gp_model._GP._nll

    def counted(self: Any, theta: np.ndarray) -> tuple[float, np.ndarray]:
        calls[0] += 1
        return real(self, theta)

    monkeypatch.setattr(_gp_model._GP, "_nll", counted)
    return calls


def test_the_fit_of_the_kernel_takes_fewer_likelihood_evaluations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over trials 51-100 a proposal evaluates the likelihood some 17 times on average,
    where refitting from the two fixed starts at every trial took about 50 (measured on
    this search: 17.5 against 49.5). A count, so the same on any machine."""
    calls = _count_likelihood(monkeypatch)
    per_trial = []
    before = 0
    for _ in _hpdeco_trials(100, ":memory:"):
        per_trial.append(calls[0] - before)
        before = calls[0]
    window = per_trial[50:100]
    assert sum(window) / len(window) <= 30, window


@pytest.mark.slow
def test_gp_phase_costs_at_most_a_fifth_over_optuna_tpe_with_sqlite(tmp_path: Path) -> None:
    """The issue's bound, side by side in one process: CPU time per trial over trials
    51-100 (the GP's costliest window) of the default with its SQLite store against
    Optuna's default TPE with its SQLite storage, on Hartmann-6. CPU time, not wall time,
    so that another process on the machine does not tip it (measured on 2 shared cores:
    hpdeco 15 ms, Optuna 24 ms; before this change hpdeco took 57 ms against 30)."""
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    start = time.process_time()
    stamps = [start, *_hpdeco_trials(100, str(tmp_path / "hpdeco.db"))]
    ours = float(np.mean(np.diff(stamps)[50:100]))

    theirs_stamps = [time.process_time()]

    def objective(trial: Any) -> float:
        value = _hartmann6([trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(6)])
        theirs_stamps.append(time.process_time())
        return value

    study = optuna.create_study(
        storage=f"sqlite:///{tmp_path / 'optuna.db'}",
        study_name="cost",
        sampler=optuna.samplers.TPESampler(seed=0),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(objective, n_trials=100)
    theirs = float(np.mean(np.diff(theirs_stamps)[50:100]))
    assert ours <= 1.2 * theirs, (ours, theirs)


def test_a_gp_study_resumed_between_anchor_fits_continues_as_a_straight_run(
    tmp_path: Path,
) -> None:
    """From ``WARM_FROM`` (50) finished trials on, a fit starts from the anchor fit at the
    last multiple of ``FRESH_EVERY`` (5) finished trials, which a resumed study recomputes
    from its trials: stopped at 57 (between the anchors at 55 and 60) and resumed to 64,
    it proposes what a straight run does."""

    def run(path: Path, trials: int) -> list[dict[str, Any]]:
        with hpdeco.search(
            objective="loss",
            store=str(path),
            study="gp",
            max_trials=trials,
            sampler="gp",
            seed=4,
            verbose=0,
        ) as search:
            for trial in search:
                x = [hp.Float(f"x{i}", 0.0, 1.0) for i in range(6)]
                trial.report(_hartmann6(x), step=1)
        return [dict(r.params) for r in search.trials]

    run(tmp_path / "resumed.db", 57)
    resumed = run(tmp_path / "resumed.db", 64)
    straight = run(tmp_path / "straight.db", 64)
    assert len(straight) == 64 and resumed == straight
