"""The Gaussian-process model behind :class:`~hpdeco.samplers.gp.GPSampler`: a Matérn 5/2
kernel over numbers (one length scale each) and unordered choices (a Hamming distance over
the choice's own length scale), its hyperparameters by maximum likelihood, and expected
improvement (plain, log, and its gradient) to rank candidates."""

from __future__ import annotations

import contextlib
import math
import warnings
from typing import Any

import numpy as np
from scipy.linalg import cho_solve, solve_triangular
from scipy.linalg.lapack import dpotrf, dpotri, dpotrs, dtrtrs
from scipy.optimize import minimize
from scipy.special import erfcx, ndtr

_SQRT5 = math.sqrt(5.0)
# Bounds of the log hyperparameters: length scales (inputs live on [0, 1]), signal variance
# and noise variance (of the standardised values).
_LOG_LENGTH = (math.log(0.01), math.log(20.0))
_LOG_SIGNAL = (math.log(0.05), math.log(20.0))
_LOG_NOISE = (math.log(1e-6), math.log(0.5))
# How far apart two different values of a choice are (before its length scale): as far as
# in a one-hot encoding, where two inputs change by 1. Measured on bench/samplers.py's
# ``mixed`` (tuning seeds): with 1 the GP closed in on the best branch's optimum more
# slowly (median regret at 50 trials 0.03 against 0.005); 2 did no better.
_CATEGORY_DISTANCE = math.sqrt(2.0)


def _matern(
    a: np.ndarray, b: np.ndarray, lengths: np.ndarray, cat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The Matérn 5/2 correlation between rows of ``a`` and ``b``, and their distance
    over the length scales. An unordered choice is one input holding the category's
    index: its difference is 0 when the categories are equal and ``_CATEGORY_DISTANCE``
    otherwise (a Hamming distance), whatever the indices. Summed one input at a time
    (the same values as through a (rows, rows, inputs) array of differences, 3x faster:
    1.4 ms against 4.4 for a proposal's 600 candidates against 100 trials)."""
    r2 = np.zeros((len(a), len(b)))
    for at in range(a.shape[1]):
        diff = a[:, at, None] - b[None, :, at]
        if cat[at]:
            diff = (diff != 0) * _CATEGORY_DISTANCE
        diff /= lengths[at]
        r2 += diff * diff
    r = np.sqrt(r2)
    return (1.0 + _SQRT5 * r + 5.0 / 3.0 * r * r) * np.exp(-_SQRT5 * r), r


def _one_blas_thread() -> Any:
    """The GP's matrices are small: a multi-threaded BLAS spends more time waking its
    threads than computing (measured: a 100-trial study 4x slower on 2 cores). Limit it to
    one thread while proposing, where threadpoolctl is installed (it comes with
    scikit-learn)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _pair_sq(x: np.ndarray, cat: np.ndarray) -> np.ndarray:
    """Squared differences between the rows of ``x`` per input, before the length scales
    (an unordered choice: the squared category distance where the categories differ)."""
    diff = x[:, None, :] - x[None, :, :]
    sq = diff * diff
    if cat.any():
        sq[:, :, cat] = (diff[:, :, cat] != 0) * _CATEGORY_DISTANCE**2
    return sq


def _fixed_starts(dims: int) -> list[np.ndarray]:
    """The likelihood's two fixed starts: smooth (length 0.5, little noise) and rough
    (length 0.2, more noise). Fixed, so that the fit depends only on the trials and a
    resumed study proposes what an uninterrupted one would. (Starting from the last
    trial's fit did as well on bench/samplers.py but broke that; starting from a fit every
    5 trials, which would not, was worse on levy4: see GPSampler._theta.)"""
    return [
        np.concatenate([np.full(dims, math.log(0.5)), [0.0, math.log(1e-3)]]),
        np.concatenate([np.full(dims, math.log(0.2)), [0.0, math.log(1e-2)]]),
    ]


class _GP:
    """A zero-mean GP on standardised values, hyperparameters by maximum likelihood
    (from the two fixed starts of :func:`_fixed_starts`, the better fit kept)."""

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        cat: np.ndarray,
        theta: np.ndarray | None = None,
    ) -> None:
        self.x = x
        self.y = y
        self.cat = cat
        if theta is not None:  # hyperparameters fitted earlier: no search
            self.theta = theta
            self._prepare(theta)
            return
        dims = x.shape[1]
        # The squared differences per input, unscaled, computed once for every evaluation
        # of the likelihood (they do not depend on the hyperparameters).
        self._pair_sq = _pair_sq(x, cat).reshape(len(x) * len(x), dims)
        bounds = [_LOG_LENGTH] * dims + [_LOG_SIGNAL, _LOG_NOISE]
        best = None
        for theta in _fixed_starts(dims):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = minimize(
                    self._nll,
                    theta,
                    jac=True,
                    method="L-BFGS-B",
                    bounds=bounds,
                    options={"maxiter": 50},
                )
            if best is None or result.fun < best.fun:
                best = result
        assert best is not None
        self.theta = best.x
        self._prepare(self.theta)

    def _nll(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log marginal likelihood and its gradient (one Cholesky factor and one
        inverse per evaluation, the distances precomputed: most of a fit's cost)."""
        y = self.y
        n = len(y)
        dims = len(theta) - 2
        inv_sq_lengths = np.exp(-2.0 * theta[:dims])
        signal, noise = math.exp(theta[dims]), math.exp(theta[dims + 1])
        r2 = (self._pair_sq @ inv_sq_lengths).reshape(n, n)
        r = np.sqrt(r2)
        decay = np.exp(-_SQRT5 * r)
        corr = (1.0 + _SQRT5 * r + 5.0 / 3.0 * r2) * decay
        k = signal * corr
        k.flat[:: n + 1] += noise + 1e-8
        chol, info = dpotrf(k, lower=1, clean=1)
        if info != 0:
            return 1e10, np.zeros_like(theta)
        alpha, _ = dpotrs(chol, y, lower=1)
        log_det = 2.0 * np.log(np.diag(chol)).sum()
        nll = 0.5 * (y @ alpha + log_det + n * math.log(2 * math.pi))
        inverse, info = dpotri(chol, lower=1)
        if info != 0:
            return 1e10, np.zeros_like(theta)
        inverse = np.tril(inverse) + np.tril(inverse, -1).T  # dpotri fills one triangle
        inner = np.outer(alpha, alpha) - inverse
        # d k / d log length_i = signal 5/3 (1 + sqrt5 r) e^(-sqrt5 r) (x_i - x'_i)^2 / l_i^2
        common = inner * (signal * 5.0 / 3.0 * (1.0 + _SQRT5 * r) * decay)
        grad = np.empty_like(theta)
        grad[:dims] = -0.5 * (common.reshape(-1) @ self._pair_sq) * inv_sq_lengths
        grad[dims] = -0.5 * signal * float(np.sum(inner * corr))
        grad[dims + 1] = -0.5 * noise * float(np.trace(inner))
        # A weak pull of the length scales towards 0.5 keeps a few trials from fitting
        # absurd scales (a log-normal prior, sd 1.5).
        pull = (theta[:dims] - math.log(0.5)) / 1.5**2
        nll += 0.5 * float(np.sum((theta[:dims] - math.log(0.5)) ** 2)) / 1.5**2
        grad[:dims] += pull
        return float(nll), grad

    def _prepare(self, theta: np.ndarray) -> None:
        dims = self.x.shape[1]
        self.lengths = np.exp(theta[:dims])
        self.signal = math.exp(theta[dims])
        noise = math.exp(theta[dims + 1])
        corr, _ = _matern(self.x, self.x, self.lengths, self.cat)
        k = self.signal * corr + (noise + 1e-8) * np.eye(len(self.x))
        jitter = 1e-8
        while True:
            try:
                self.chol = np.linalg.cholesky(k + jitter * np.eye(len(k)))
                break
            except np.linalg.LinAlgError:
                jitter *= 10
        self.alpha = cho_solve((self.chol, True), self.y)

    def predict(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        corr, _ = _matern(points, self.x, self.lengths, self.cat)
        cross = self.signal * corr
        mean = cross @ self.alpha
        v = solve_triangular(self.chol, cross.T, lower=True)
        var = np.maximum(self.signal - np.sum(v * v, axis=0), 1e-12)
        return mean, np.sqrt(var)


_ROOT_HALF_PI = math.sqrt(math.pi / 2.0)


def _log_h(z: np.ndarray) -> np.ndarray:
    """``log h(z)`` with ``h(z) = z Phi(z) + phi(z)`` (expected improvement over the
    standard deviation), without underflow far below the best value: there expected
    improvement itself rounds to 0 and candidates would tie, where its logarithm still
    orders them (after Ament et al., "Unexpected improvements to expected improvement for
    Bayesian optimization", NeurIPS 2023)."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    high = z > -1.0
    zh = z[high]
    out[high] = np.log(zh * ndtr(zh) + np.exp(-0.5 * zh * zh) / math.sqrt(2 * math.pi))
    zl = z[~high]
    # h / phi = 1 + z Phi / phi, with Phi(z) / phi(z) = sqrt(pi/2) erfcx(-z / sqrt 2)
    # (stable for z < 0); that sum cancels for very negative z: its series there.
    mills = _ROOT_HALF_PI * erfcx(-zl / math.sqrt(2.0))
    inv = 1.0 / (zl * zl)
    series = inv * (1.0 - 3.0 * inv + 15.0 * inv * inv - 105.0 * inv**3)
    bracket = np.where(zl < -25.0, series, 1.0 + zl * mills)
    out[~high] = -0.5 * zl * zl - 0.5 * math.log(2 * math.pi) + np.log(bracket)
    return out


def _log_ei(mean: np.ndarray, sd: np.ndarray, best: float) -> np.ndarray:
    """Log expected improvement below ``best`` (values are minimised)."""
    return np.log(sd) + _log_h((best - mean) / sd)


def _ei_and_gradient(gp: _GP, point: np.ndarray, best: float) -> tuple[float, np.ndarray]:
    """Expected improvement at one point and its gradient over the numeric inputs
    (analytic, Matérn 5/2; zero for the categorical ones, which are searched apart).
    Called some twenty times per polish: LAPACK's triangular solve directly, without
    scipy.linalg's checks (most of the time at a hundred trials)."""
    diff = point - gp.x  # (n, d)
    if gp.cat.any():
        diff[:, gp.cat] = (diff[:, gp.cat] != 0) * _CATEGORY_DISTANCE
    diff /= gp.lengths
    r = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    decay = np.exp(-_SQRT5 * r)
    cross = gp.signal * (1.0 + _SQRT5 * r + 5.0 / 3.0 * r * r) * decay  # (n,)
    # d cross_j / d x = -signal * 5/3 * (1 + sqrt5 r) e^(-sqrt5 r) * (x - x_j) / l^2
    jac = -(gp.signal * 5.0 / 3.0 * (1.0 + _SQRT5 * r) * decay)[:, None] * diff / gp.lengths
    jac[:, gp.cat] = 0.0
    mean = float(cross @ gp.alpha)
    v, _ = dtrtrs(gp.chol, cross, lower=1)
    solved, _ = dtrtrs(gp.chol, v, lower=1, trans=1)  # K^-1 k
    var = max(gp.signal - float(v @ v), 1e-12)
    sd = math.sqrt(var)
    d_mean = jac.T @ gp.alpha
    d_sd = -(jac.T @ solved) / sd
    z = (best - mean) / sd
    cdf, pdf = float(ndtr(z)), math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    ei = sd * (z * cdf + pdf)
    return ei, -cdf * d_mean + pdf * d_sd
