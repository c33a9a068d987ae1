"""Gaussian-process Bayesian optimisation, for small budgets on mostly numeric spaces.

After Snoek, Larochelle and Adams, "Practical Bayesian optimization of machine learning
algorithms" (NeurIPS 2012): a Gaussian process with a Matérn 5/2 kernel (one length scale
per input, a signal variance and a noise variance, fitted by maximising the marginal
likelihood) models the objective, and each trial takes the point of largest expected
improvement over the best value so far.

Limits, by design:

* The model costs O(n^3) in the trials it is fitted to; at most ``max_modelled`` (200)
  trials are modelled (the most recent ones, and always the best), so a proposal takes
  tens of milliseconds at 100 trials and about a second at 200. Use ``tpe`` for long
  studies. The kernel's hyperparameters are refitted at every trial up to 20 finished
  trials and at every 5th after (most of a proposal's cost), always from the same two
  starting points, so the proposals depend only on the trials.
* Unordered choices are one-hot encoded, which works for a few choices with a few values
  each; many categorical parameters are better served by ``tpe``.
* Conditional parameters are modelled as present in every trial: where a trial did not
  draw one, its input is set to the middle of the range (or no category). This is crude;
  ``tpe`` models conditional spaces properly.
* The proposal covers the parameters known when a trial starts; a parameter first met
  during the trial is drawn at random.
* Pruned, failed and running trials count as the worst value seen, so the proposals stay
  away from them without distorting the model of complete trials much.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.linalg import cho_factor, cho_solve, solve_triangular
from scipy.optimize import minimize
from scipy.special import ndtr

from hpdeco.samplers._common import (
    COMPLETE,
    Encoding,
    History,
    Repeats,
    SobolPoints,
    new_seed,
    trial_rng,
)
from hpdeco.space import Param
from hpdeco.validate import check_int

if TYPE_CHECKING:
    from hpdeco.study import Study
    from hpdeco.trial import Trial

_SQRT5 = math.sqrt(5.0)
# The hyperparameters are refitted at every trial up to this many finished trials, then
# at every REFIT_EVERY-th (see GPSampler._theta).
REFIT_EVERY_FROM = 20
REFIT_EVERY = 5
# Bounds of the log hyperparameters: length scales (inputs live on [0, 1]), signal variance
# and noise variance (of the standardised values).
_LOG_LENGTH = (math.log(0.01), math.log(20.0))
_LOG_SIGNAL = (math.log(0.05), math.log(20.0))
_LOG_NOISE = (math.log(1e-6), math.log(0.5))


def _matern(a: np.ndarray, b: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Matérn 5/2 correlation between rows of ``a`` and ``b``, and the scaled squared
    differences per input (for the gradient)."""
    diff = (a[:, None, :] - b[None, :, :]) / lengths
    sq = diff * diff
    r = np.sqrt(np.maximum(sq.sum(axis=2), 0.0))
    return (1.0 + _SQRT5 * r + 5.0 / 3.0 * r * r) * np.exp(-_SQRT5 * r), sq


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


class _GP:
    """A zero-mean GP on standardised values, hyperparameters by maximum likelihood."""

    def __init__(self, x: np.ndarray, y: np.ndarray, theta: np.ndarray | None = None) -> None:
        self.x = x
        self.y = y
        if theta is not None:  # hyperparameters fitted earlier: no search
            self.theta = theta
            self._prepare(theta)
            return
        dims = x.shape[1]
        # Two fixed starts, the better fit kept: smooth (length 0.5, little noise) and rough
        # (length 0.2, more noise). Fixed, so that the fit depends only on the trials and a
        # resumed study proposes what an uninterrupted one would. (Starting from the last
        # trial's fit did as well on bench/samplers.py but broke that.)
        starts = [
            np.concatenate([np.full(dims, math.log(0.5)), [0.0, math.log(1e-3)]]),
            np.concatenate([np.full(dims, math.log(0.2)), [0.0, math.log(1e-2)]]),
        ]
        bounds = [_LOG_LENGTH] * dims + [_LOG_SIGNAL, _LOG_NOISE]
        best = None
        for theta in starts:
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
        """Negative log marginal likelihood and its gradient."""
        x, y = self.x, self.y
        n, dims = x.shape
        lengths = np.exp(theta[:dims])
        signal, noise = math.exp(theta[dims]), math.exp(theta[dims + 1])
        corr, sq = _matern(x, x, lengths)
        k = signal * corr + (noise + 1e-8) * np.eye(n)
        try:
            factor = cho_factor(k, lower=True)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros_like(theta)
        alpha = cho_solve(factor, y)
        log_det = 2.0 * np.log(np.diag(factor[0])).sum()
        nll = 0.5 * (y @ alpha + log_det + n * math.log(2 * math.pi))
        inner = np.outer(alpha, alpha) - cho_solve(factor, np.eye(n))
        r = np.sqrt(np.maximum(sq.sum(axis=2), 0.0))
        common = signal * 5.0 / 3.0 * (1.0 + _SQRT5 * r) * np.exp(-_SQRT5 * r)
        grad = np.empty_like(theta)
        for i in range(dims):
            grad[i] = -0.5 * np.sum(inner * common * sq[:, :, i])
        grad[dims] = -0.5 * np.sum(inner * signal * corr)
        grad[dims + 1] = -0.5 * noise * np.trace(inner)
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
        corr, _ = _matern(self.x, self.x, self.lengths)
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
        corr, _ = _matern(points, self.x, self.lengths)
        cross = self.signal * corr
        mean = cross @ self.alpha
        v = solve_triangular(self.chol, cross.T, lower=True)
        var = np.maximum(self.signal - np.sum(v * v, axis=0), 1e-12)
        return mean, np.sqrt(var)


def _ei_and_gradient(gp: _GP, point: np.ndarray, best: float) -> tuple[float, np.ndarray]:
    """Expected improvement at one point and its gradient (analytic, Matérn 5/2)."""
    diff = (point[None, :] - gp.x) / gp.lengths  # (n, d)
    r = np.sqrt(np.sum(diff * diff, axis=1))
    decay = np.exp(-_SQRT5 * r)
    cross = gp.signal * (1.0 + _SQRT5 * r + 5.0 / 3.0 * r * r) * decay  # (n,)
    # d cross_j / d x = -signal * 5/3 * (1 + sqrt5 r) e^(-sqrt5 r) * (x - x_j) / l^2
    jac = -(gp.signal * 5.0 / 3.0 * (1.0 + _SQRT5 * r) * decay)[:, None] * diff / gp.lengths
    mean = float(cross @ gp.alpha)
    v = solve_triangular(gp.chol, cross, lower=True)
    solved = solve_triangular(gp.chol.T, v, lower=False)  # K^-1 k
    var = max(gp.signal - float(v @ v), 1e-12)
    sd = math.sqrt(var)
    d_mean = jac.T @ gp.alpha
    d_sd = -(jac.T @ solved) / sd
    z = (best - mean) / sd
    cdf, pdf = float(ndtr(z)), math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    ei = sd * (z * cdf + pdf)
    return ei, -cdf * d_mean + pdf * d_sd


def _expected_improvement(mean: np.ndarray, sd: np.ndarray, best: float) -> np.ndarray:
    z = (best - mean) / sd
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return sd * (z * ndtr(z) + pdf)


class _Layout:
    """Where each parameter sits in the GP's input vector."""

    def __init__(self, encodings: dict[str, Encoding]) -> None:
        self.encodings = encodings
        self.slots: dict[str, tuple[int, int]] = {}
        at = 0
        for name, encoding in encodings.items():
            width = encoding.cells if encoding.kind == "categorical" else 1
            self.slots[name] = (at, width)
            at += width
        self.dims = at
        self.numeric = np.zeros(at, dtype=bool)
        for name, (start, _) in self.slots.items():
            if encodings[name].kind != "categorical":
                self.numeric[start] = True

    def features(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        n = len(next(iter(columns.values()))) if columns else 0
        out = np.zeros((n, self.dims))
        for name, (start, _) in self.slots.items():
            codes = columns[name]
            missing = np.isnan(codes)
            if self.encodings[name].kind == "categorical":
                rows = np.flatnonzero(~missing)
                out[rows, start + codes[rows].astype(int)] = 1.0
            else:
                out[:, start] = np.where(missing, 0.5, codes)
        return out

    def random(self, rng: Any, size: int) -> np.ndarray:
        out = np.zeros((size, self.dims))
        for name, (start, width) in self.slots.items():
            encoding = self.encodings[name]
            if encoding.kind == "categorical":
                out[np.arange(size), start + rng.integers(width, size=size)] = 1.0
            else:
                out[:, start] = rng.random(size)
        return out

    def snap(self, point: np.ndarray) -> dict[str, float]:
        """Codes (category index, or unit position of a valid value) of a feature vector."""
        codes = {}
        for name, (start, width) in self.slots.items():
            encoding = self.encodings[name]
            if encoding.kind == "categorical":
                codes[name] = float(np.argmax(point[start : start + width]))
            else:
                codes[name] = encoding.code(encoding.value(float(point[start])))
        return codes


class GPSampler:
    """Gaussian-process Bayesian optimisation with expected improvement (``sampler="gp"``).

    Options: ``n_startup_trials`` Sobol' trials before the model takes over (default 10);
    ``n_candidates`` random points scored by expected improvement (500), of which the
    best ``n_restarts`` (3) are polished by L-BFGS-B over the numeric inputs;
    ``max_modelled`` trials fitted at most (200). See the module's notes for its limits.

    >>> hpdeco.search(sampler=GPSampler(seed=7))   # or sampler="gp", seed=7
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        n_startup_trials: int = 10,
        n_candidates: int = 500,
        n_restarts: int = 3,
        max_modelled: int = 200,
    ) -> None:
        check_int("GPSampler", "n_startup_trials", n_startup_trials)
        check_int("GPSampler", "n_candidates", n_candidates, minimum=1)
        check_int("GPSampler", "n_restarts", n_restarts)
        check_int("GPSampler", "max_modelled", max_modelled, minimum=2)
        self.seed = new_seed(seed)
        self.n_startup_trials = n_startup_trials
        self.n_candidates = n_candidates
        self.n_restarts = n_restarts
        self.max_modelled = max_modelled
        self._history = History()
        self._sobol = SobolPoints(self.seed)
        self._repeats = Repeats()
        self._proposal_for: tuple[int, dict[str, float] | None, Any] | None = None
        self._fitted: tuple[tuple[int, tuple[str, ...]], np.ndarray] | None = None

    def suggest(self, param: Param, trial: Trial) -> Any:
        proposal, rng = self._proposal(trial)
        if proposal is None:
            u = self._sobol.point(trial).get(param.name)
            value = param.from_unit(float(rng.random()) if u is None else u)
        else:
            encoding = self._history.encodings.get(param.name)
            code = proposal.get(param.name)
            if encoding is None or code is None or encoding.param != param:
                value = param.from_unit(float(rng.random()))
            else:
                value = encoding.value(code)
        return self._repeats.steer(param, trial, value, lambda n: int(rng.integers(n)))

    def exhausted(self, study: Study) -> bool:
        return self._repeats.exhausted(study)

    def __repr__(self) -> str:
        return f"GPSampler(seed={self.seed})"

    def _proposal(self, trial: Trial) -> tuple[dict[str, float] | None, Any]:
        cached = self._proposal_for
        if cached is not None and cached[0] == trial.number:
            return cached[1], cached[2]
        rng = trial_rng(self.seed, trial.number)
        history = self._history
        history.update(trial.study)
        complete = history.group.count(COMPLETE)
        proposal = None
        if complete >= max(self.n_startup_trials, 2) and history.encodings:
            running = self._running(trial)
            with _one_blas_thread():
                proposal = self._optimise(history, running, rng)
        self._proposal_for = (trial.number, proposal, rng)
        return proposal, rng

    @staticmethod
    def _running(trial: Trial) -> list[dict[str, Any]]:
        read = getattr(trial.study.store, "running_params", None)
        if read is None:
            return []
        return [p for n, p in read(trial.study.id).items() if n != trial.number]

    def _data(
        self, history: History, layout: _Layout, count: int, running: list[dict[str, Any]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The first ``count`` finished trials (at most ``max_modelled`` of them) and the
        running ones as inputs and standardised values; the rows modelled and which of
        them are complete."""
        loss = np.array(history.loss[:count])
        complete = np.array(history.group[:count]) == COMPLETE
        worst = float(loss[complete].max())
        y = np.where(complete, loss, worst)  # pruned and failed: the worst value seen
        columns = {n: np.array(c[:count], dtype=float) for n, c in history.columns.items()}
        rows = np.arange(len(y))
        if len(rows) > self.max_modelled:  # the most recent, and always the best
            keep = set(rows[-(self.max_modelled - 1) :].tolist()) | {int(np.argmin(y))}
            rows = np.array(sorted(keep))
        x = layout.features({n: c[rows] for n, c in columns.items()})
        y = y[rows]
        if running:
            extra = {n: np.array([history.code(n, p) for p in running]) for n in columns}
            x = np.vstack([x, layout.features(extra)])
            y = np.append(y, [worst] * len(running))
        # Standardise; squash a long tail of bad values so it does not dominate the fit.
        median = float(np.median(y))
        spread = float(np.percentile(y, 75) - np.percentile(y, 25)) or float(y.std()) or 1.0
        cap = median + 3 * spread
        y = np.where(y > cap, cap + np.log1p(np.maximum(y - cap, 0) / spread) * spread, y)
        mean, sd = float(y.mean()), float(y.std()) or 1.0
        return x, (y - mean) / sd, rows, complete

    def _theta(self, history: History, layout: _Layout) -> np.ndarray:
        """The kernel's hyperparameters. Fitting them is most of a proposal's cost and they
        change slowly, so past ``REFIT_EVERY_FROM`` finished trials they are refitted only
        at every ``REFIT_EVERY``-th, on the finished trials up to there (no running ones),
        and kept in between. A function of the trials alone: a resumed study refits at the
        last such point and proposes what an uninterrupted one would."""
        n = len(history.loss)
        at = n if n < REFIT_EVERY_FROM else n - n % REFIT_EVERY
        if COMPLETE not in history.group[:at]:
            at = n
        key = (at, tuple(history.encodings))
        if self._fitted is None or self._fitted[0] != key:
            x, z, _, _ = self._data(history, layout, at, [])
            self._fitted = (key, _GP(x, z).theta)
        return self._fitted[1]

    def _optimise(self, history: History, running: list[dict[str, Any]], rng: Any) -> dict:
        layout = _Layout(history.encodings)
        theta = self._theta(history, layout)
        x, z, rows, complete = self._data(history, layout, len(history.loss), running)
        gp = _GP(x, z, theta)
        best = float(z[: len(rows)][complete[rows]].min())

        candidates = layout.random(rng, self.n_candidates)
        # Also look near the best trials: small moves of their numeric inputs.
        order = np.argsort(z[: len(rows)])[: min(5, len(rows))]
        local = np.repeat(x[order], 20, axis=0)
        local[:, layout.numeric] += rng.normal(0, 0.05, (len(local), int(layout.numeric.sum())))
        candidates = np.vstack([candidates, np.clip(local, 0, 1)])
        m, s = gp.predict(candidates)
        ei = _expected_improvement(m, s, best)
        top = np.argsort(-ei)[: max(self.n_restarts, 1)]
        best_point, best_ei = candidates[top[0]], float(ei[top[0]])
        numeric = layout.numeric
        if numeric.any():
            for start in candidates[top[: self.n_restarts]]:
                fixed = start.copy()

                def negative(u: np.ndarray, fixed: np.ndarray = fixed) -> tuple[float, Any]:
                    point = fixed.copy()
                    point[numeric] = u
                    ei, grad = _ei_and_gradient(gp, point, best)
                    return -ei, -grad[numeric]

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = minimize(
                        negative,
                        start[numeric],
                        jac=True,
                        method="L-BFGS-B",
                        bounds=[(0.0, 1.0)] * int(numeric.sum()),
                        options={"maxiter": 20},
                    )
                if -result.fun > best_ei:
                    best_ei = -float(result.fun)
                    best_point = fixed.copy()
                    best_point[numeric] = result.x
        return layout.snap(best_point)
