"""The GP models its values through a power transform (issue 15): a long tail of bad
values squashed, then Yeo-Johnson with its exponent by maximum likelihood. What it does to
the search is measured by ``bench/samplers.py``; here, that it computes the transform."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import stats

import hpdeco
from hpdeco import hp
from hpdeco.samplers import GPSampler
from hpdeco.samplers import gp as gp_module
from hpdeco.samplers.gp import _LAMBDAS, _warp, _yeo_johnson


@pytest.mark.parametrize("seed", range(4))
def test_the_exponent_and_values_match_scipys_yeo_johnson(seed: int) -> None:
    """Skewed either way: the grid's exponent is scipy's maximum-likelihood one to the
    grid's step, and the values are scipy's transform with that exponent."""
    rng = np.random.default_rng(seed)
    y = rng.lognormal(sigma=0.8, size=60) * (1 if seed % 2 else -1)
    u = (y - y.mean()) / y.std()
    values, lam = _yeo_johnson(u)
    _, exact = stats.yeojohnson(u)
    assert abs(lam - exact) <= (_LAMBDAS[1] - _LAMBDAS[0]) / 2 + 1e-9
    np.testing.assert_allclose(values, stats.yeojohnson(u, lmbda=lam), rtol=1e-9, atol=1e-12)


def test_a_skewed_set_of_losses_is_modelled_nearly_symmetric() -> None:
    """Losses with a long right tail (most trials near the best, a few far worse): the
    modelled values are standardised and close to symmetric, so the good end, where the
    search is decided, is spread out rather than squeezed against the bad tail."""
    rng = np.random.default_rng(0)
    y = rng.lognormal(sigma=1.0, size=80)
    z = _warp(y)
    assert abs(float(z.mean())) < 1e-9 and abs(float(z.std()) - 1.0) < 1e-9
    assert abs(stats.skew(z)) < 0.3 < stats.skew((y - y.mean()) / y.std())
    best_two = np.sort(z)[:2]
    plain = np.sort((y - y.mean()) / y.std())[:2]
    assert best_two[1] - best_two[0] > 1.5 * (plain[1] - plain[0])
    assert np.array_equal(np.argsort(z, kind="stable"), np.argsort(y, kind="stable"))


@pytest.mark.parametrize(
    "y",
    [np.full(5, 3.0), np.array([1.0, 2.0, 1.0, 2.0]), np.array([0.0, 1e150, -1e150, 5.0, 7.0])],
)
def test_degenerate_values_stay_finite(y: np.ndarray) -> None:
    """All equal, two values, or values hundreds of orders of magnitude apart: finite
    values, never out of order (ties allowed: a huge spread swamps small gaps), and no
    warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = _warp(y)
    assert np.isfinite(z).all()
    assert (np.diff(z[np.argsort(y, kind="stable")]) >= 0).all()


def _flat(number: int) -> float:
    return float(np.exp(8 * (hp.Float("x", 0.0, 1.0) - 0.3) ** 2))


def _conditional(number: int) -> float:
    x = hp.Float("x", 0.0, 1.0)
    if hp.Choice("branch", ["a", "b"]) == "a":
        return float(np.exp(8 * (x - 0.3) ** 2) + hp.Float("a_y", 0.0, 1.0))
    return float(np.exp(8 * (x - 0.6) ** 2))


def _flat_but_trial_1_fails_early(number: int) -> float:
    x = hp.Float("x", 0.0, 1.0)
    if number == 1:
        raise RuntimeError("failed before drawing y")
    return float(np.exp(8 * (x - 0.3) ** 2) + hp.Float("y", 0.0, 1.0))


def _transform_used(
    monkeypatch: pytest.MonkeyPatch, loss: Callable[[int], float]
) -> tuple[set[bool], hpdeco.Search]:
    """A 10-trial GP search of ``loss`` (given the trial's number; it draws its own
    ``hp.*``): whether each of the GP's fits used the power transform, and the search."""
    used: list[bool] = []

    def spying(y: np.ndarray, *, power: bool = True, **options: Any) -> np.ndarray:
        used.append(power)
        return _warp(y, power=power, **options)

    monkeypatch.setattr(gp_module, "_warp", spying)
    sampler = GPSampler(seed=3, n_startup_trials=5)
    with hpdeco.search(
        objective="loss", store=":memory:", max_trials=10, sampler=sampler, verbose=0
    ) as search:
        for trial in search:
            with trial:
                trial.report(loss(trial.number), step=1)
    assert used, "the GP never fitted"
    return set(used), search


@pytest.mark.parametrize(("loss", "transformed"), [(_flat, True), (_conditional, False)])
def test_the_transform_is_used_only_where_every_trial_has_every_parameter(
    monkeypatch: pytest.MonkeyPatch, loss: Callable[[int], float], transformed: bool
) -> None:
    """In a conditional space the transform made the GP settle on a poorer branch more
    often (bench/samplers.py's mixed and optimiser tasks), so there it is left out."""
    used, _ = _transform_used(monkeypatch, loss)
    assert used == {transformed}


def test_a_failed_trial_that_drew_less_does_not_turn_the_transform_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A trial that fails before drawing every parameter lacks some: it says nothing
    about the space, which stays flat for the transform."""
    used, search = _transform_used(monkeypatch, _flat_but_trial_1_fails_early)
    assert search.trials[1].state.name == "FAIL"
    assert used == {True}


def test_stand_in_values_do_not_choose_the_exponent() -> None:
    """Pruned, failed and running trials stand in at the worst value. The exponent is
    fitted on the measured values alone, so a pile of stand-ins (two trials in three,
    as under the median pruner) does not pick one that squeezes the good end."""
    rng = np.random.default_rng(0)
    y = rng.lognormal(sigma=1.0, size=30)
    u = (y - y.mean()) / y.std()
    piled = np.append(u, np.full(60, u.max()))
    measured = np.arange(90) < 30
    _, alone = _yeo_johnson(u)
    _, fitted = _yeo_johnson(piled, measured)
    assert fitted == alone
    values = np.append(y, np.full(60, y.max()))
    with_pile = np.sort(_warp(values, measured=measured)[measured])
    plain = np.sort(_warp(values, power=False)[measured])
    # The best two measured values end up further apart than without the transform.
    assert with_pile[1] - with_pile[0] > plain[1] - plain[0]
