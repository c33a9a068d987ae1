"""What the GP costs per trial (issue 15): the default takes it for the first hundred
trials, and its proposals there must cost no more than a fifth over Optuna's TPE with its
SQLite storage. Most of a proposal was the fit of the kernel's hyperparameters (some 45
evaluations of the likelihood) and the kernel over the candidates: both are cheaper per
evaluation now, with the same values, so the search is the one it was."""

from __future__ import annotations

import math
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


@pytest.mark.slow
def test_gp_phase_costs_at_most_a_fifth_over_optuna_tpe_with_sqlite(tmp_path: Path) -> None:
    """The issue's bound, side by side in one process: CPU time per trial over trials
    51-100 (the GP's costliest window) of the default with its SQLite store against
    Optuna's default TPE with its SQLite storage, on Hartmann-6. CPU time, not wall time,
    so that another process on the machine does not tip it (measured on 2 shared cores:
    hpdeco 22 ms, Optuna 24 ms; before this change hpdeco took 57 ms against 30)."""
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


def test_likelihood_matches_a_direct_computation_and_its_gradient() -> None:
    """The likelihood's fast path (distances precomputed, LAPACK directly, the length
    scales' gradient as one product) against the textbook formula through numpy's own
    solve and log-determinant, and its gradient against central differences; with a
    categorical input among the numbers."""
    rng = np.random.default_rng(3)
    x = rng.random((30, 4))
    cat = np.array([False, True, False, False])
    x[:, 1] = rng.integers(3, size=30)
    y = rng.normal(size=30)
    gp = _gp_model._GP(x, y, cat)
    theta = np.array([-0.7, 0.2, -1.5, 0.4, 0.3, -4.0])
    value, grad = gp._nll(theta)

    lengths, signal, noise = np.exp(theta[:4]), math.exp(theta[4]), math.exp(theta[5])
    corr, _ = _gp_model._matern(x, x, lengths, cat)
    k = signal * corr + (noise + 1e-8) * np.eye(30)
    _, log_det = np.linalg.slogdet(k)
    prior = 0.5 * float(np.sum((theta[:4] - math.log(0.5)) ** 2)) / 1.5**2
    direct = 0.5 * (y @ np.linalg.solve(k, y) + log_det + 30 * math.log(2 * math.pi))
    assert math.isclose(value, direct + prior, rel_tol=1e-10)

    for i in range(len(theta)):
        step = np.zeros_like(theta)
        step[i] = 1e-6
        numeric = (gp._nll(theta + step)[0] - gp._nll(theta - step)[0]) / 2e-6
        assert math.isclose(grad[i], numeric, rel_tol=1e-5, abs_tol=1e-6), (i, grad, numeric)
