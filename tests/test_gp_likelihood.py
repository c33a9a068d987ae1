"""The GP's faster arithmetic (issue 15) computes what the textbook formulas do: the kernel
fit's likelihood precomputes the pairwise distances and calls LAPACK directly. Its cost is
measured side by side with Optuna's TPE by ``bench/samplers.py`` (timing part), not here."""

from __future__ import annotations

import math

import numpy as np

from hpdeco.samplers import _gp_model


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
