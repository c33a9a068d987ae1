"""The multi-objective TPE's good trials: chosen on the front that the split cuts by greedy
hypervolume subset selection, weighted in ``l`` by their hypervolume contribution; and the
hypervolume helpers behind them, on fronts computed by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats

import hpdeco
from hpdeco import hp, pareto
from hpdeco.pareto import (
    exclusive_volume,
    greedy_hypervolume_subset,
    hypervolume,
    hypervolume_contributions,
)
from hpdeco.samplers.motpe import MOTPESampler
from hpdeco.samplers.tpe import TPESampler

OBJECTIVES = [("f1", "min"), ("f2", "min")]

# -- the helpers ---------------------------------------------------------------------------------


@pytest.fixture(params=["grid", "one at a time"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Contributions both ways: on the cell grid, and point by point (large fronts)."""
    if request.param == "one at a time":
        monkeypatch.setattr(pareto, "GRID_CELLS", 0)
    return str(request.param)


def test_contributions_on_a_2d_front_by_hand(way: str) -> None:
    # Boxes up to (4, 4): (1, 3) alone covers [1, 2) x [3, 4] = 1; (2, 1.5) alone
    # [2, 3) x [1.5, 3) = 1.5; (3, 1) alone [3, 4] x [1, 1.5) = 0.5. (3, 3) is dominated,
    # (5, 0) is outside the reference box: both add nothing.
    points = [(1.0, 3.0), (2.0, 1.5), (3.0, 1.0), (3.0, 3.0), (5.0, 0.0)]
    got = hypervolume_contributions(points, (4.0, 4.0))
    assert got == pytest.approx([1.0, 1.5, 0.5, 0.0, 0.0])


def test_contributions_on_a_3d_front_by_hand(way: str) -> None:
    # Up to (3, 3, 3): (0, 2, 2) alone covers x < 2 of its box, 2 x 1 x 1 = 2; (2, 1, 2)
    # alone y < 2 of its box, 1 x 1 x 1; (2, 2, 1) alone z < 2, 1 x 1 x 1. A duplicate of a
    # point takes its share away from both.
    points = [(0.0, 2.0, 2.0), (2.0, 1.0, 2.0), (2.0, 2.0, 1.0)]
    reference = (3.0, 3.0, 3.0)
    assert hypervolume_contributions(points, reference) == pytest.approx([2.0, 1.0, 1.0])
    assert hypervolume(points, reference) == pytest.approx(5.0)  # 3 (first box) + 1 + 1
    twice = [*points, (2.0, 2.0, 1.0)]
    assert hypervolume_contributions(twice, reference) == pytest.approx([2.0, 1.0, 0.0, 0.0])


def test_contributions_agree_with_removing_each_point() -> None:
    rng = np.random.default_rng(3)
    for objectives in (2, 3, 4):
        points = rng.random((9, objectives))
        points /= np.linalg.norm(points, axis=1, keepdims=True)  # mostly one front
        points = np.vstack([points, points[:2] + 0.1])  # and two dominated
        reference = [1.2] * objectives
        whole = hypervolume(points.tolist(), reference)
        lost = [
            whole - hypervolume(np.delete(points, i, axis=0).tolist(), reference)
            for i in range(len(points))
        ]
        assert hypervolume_contributions(points.tolist(), reference) == pytest.approx(lost)


def test_exclusive_volume_by_hand() -> None:
    # (2, 1.5)'s box up to (4, 4) is 2 x 2.5 = 5; (1, 3) already covers [2, 4] x [3, 4].
    assert exclusive_volume((2.0, 1.5), [(1.0, 3.0)], (4.0, 4.0)) == pytest.approx(3.0)
    assert exclusive_volume((2.0, 1.5), [], (4.0, 4.0)) == pytest.approx(5.0)
    assert exclusive_volume((5.0, 1.0), [], (4.0, 4.0)) == 0.0


def test_greedy_subset_by_hand() -> None:
    # Boxes up to (4, 4): 3, 5 and 3, so (2, 1.5) first; then (1, 3) adds 1 and (3, 1)
    # 0.5. Crowding distance would have kept the two ends instead.
    points = [(1.0, 3.0), (2.0, 1.5), (3.0, 1.0)]
    assert greedy_hypervolume_subset(points, (4.0, 4.0), 2) == [1, 0]
    assert greedy_hypervolume_subset(points, (4.0, 4.0), 5) == [1, 0, 2]
    assert greedy_hypervolume_subset(points, (4.0, 4.0), 0) == []
    # Equal gains: the lower index.
    assert greedy_hypervolume_subset([(1.0, 2.0), (2.0, 1.0)], (3.0, 3.0), 1) == [0]


def test_greedy_subset_is_the_plain_greedy_one() -> None:
    """The lazy evaluation picks what recomputing every gain at every step picks."""
    rng = np.random.default_rng(5)
    points = rng.random((14, 3))
    points = (points / np.linalg.norm(points, axis=1, keepdims=True)).tolist()
    reference = [1.1, 1.1, 1.1]
    plain: list[int] = []
    for _ in range(6):
        rest = [i for i in range(len(points)) if i not in plain]
        plain.append(
            max(rest, key=lambda i: hypervolume([points[j] for j in [*plain, i]], reference))
        )
    assert greedy_hypervolume_subset(points, reference, 6) == plain


# -- the sampler's split -------------------------------------------------------------------------


def split_after(
    values: list[tuple[float, float]], loads: dict[int, float] | None = None, **options: Any
) -> tuple[list[int], Any]:
    """The good trials (numbers) and their weights (by number) that MOTPE's model takes
    for the trial after COMPLETE trials with ``values`` (feasible unless ``loads`` puts
    a trial's load above 1)."""
    sampler = MOTPESampler(seed=0, **{"n_startup_trials": len(values), **options})
    seen: dict[str, Any] = {}
    with hpdeco.search(
        objective=OBJECTIVES,
        constraints={"load": ("<=", 1.0)},
        store=":memory:",
        max_trials=len(values) + 1,
        sampler=sampler,
        verbose=0,
    ) as search:
        for trial in search:
            hp.Float("x", 0.0, 1.0)
            if trial.number == len(values):
                model, _ = sampler._model(trial)
                numbers = [r.number for r in trial.study.finished]
                seen["good"] = sorted(numbers[i] for i in np.flatnonzero(model.good))
                weights = model.weights
                seen["weights"] = (
                    None
                    if weights is None
                    else {numbers[i]: float(weights[i]) for i in np.flatnonzero(model.good)}
                )
            f1, f2 = values[trial.number] if trial.number < len(values) else (2.0, 2.0)
            trial.set_value("load", (loads or {}).get(trial.number, 0.0))
            trial.set_value("f2", f2)
            trial.value = f1
    return seen["good"], seen["weights"]


def test_the_cut_front_is_thinned_by_hypervolume_not_crowding() -> None:
    # Eight trials on the front f1 + f2 = 1, two of them good (gamma 0.25). Scaled to
    # [0, 1], reference 1.1 on both: the box of (t, 1 - t) is (1.1 - t)(0.1 + t), largest
    # at t = 0.5 (trial 2); then t < 0.5 adds (0.5 - t)(0.1 + t), t > 0.5 adds
    # (t - 0.5)(1.1 - t): 0.09 for t = 0.2 (trial 3), 0.0875 for 0.75, 0.0675 for 0.35 and
    # 0.65. Crowding distance took the two ends, t = 0 and 1 (trials 0 and 1).
    ts = [0.0, 1.0, 0.5, 0.2, 0.75, 0.35, 0.65, 0.9]
    good, _ = split_after([(t, 1.0 - t) for t in ts])
    assert good == [2, 3]


def test_good_trials_weigh_their_hypervolume_contribution() -> None:
    # Twelve trials, three good (gamma 0.25): exactly the front (0, 0.6), (0.2, 0.2),
    # (0.6, 0); the values already span [0, 1] on both, so scaling changes nothing. The
    # reference is the good trials' worst plus 0.1: (0.7, 0.7). Alone, (0, 0.6) covers
    # [0, 0.2) x [0.6, 0.7] = 0.02, (0.6, 0) as much, (0.2, 0.2) its box 0.25 less what
    # the others cover of it (0.05 + 0.05 - 0.01): 0.16. Weights: shares of the largest.
    front = [(0.0, 0.6), (0.2, 0.2), (0.6, 0.0)]
    dominated = [(1.0, 1.0), (0.5, 0.9), (0.9, 0.5), (0.3, 0.8), (0.8, 0.3)]
    dominated += [(1.0, 0.7), (0.7, 1.0), (0.4, 0.4), (0.6, 0.6)]
    good, weights = split_after(dominated[:4] + front + dominated[4:])
    assert good == [4, 5, 6]
    assert weights == pytest.approx({4: 0.125, 5: 1.0, 6: 0.125})


def test_an_infeasible_good_trial_weighs_as_the_lightest_feasible_one() -> None:
    # Two feasible trials, so the third good one (of twelve) is the infeasible trial with
    # the smallest violation, 2: trial 2 at (0.05, 0.05), which would dominate both.
    # Contributions among the feasible ones, reference (0.2, 0.5) + 0.1: (0, 0.5) covers
    # 0.3 x 0.1 less the 0.1 x 0.1 it shares with (0.2, 0.2), so 0.02; (0.2, 0.2) covers
    # 0.1 x 0.4 less the same, 0.03. Counted among the good trials, trial 2 would have
    # taken almost every weight.
    values = [(1.0, 0.0), (0.0, 0.5), (0.05, 0.05), (0.2, 0.2), (1.0, 1.0), (0.0, 1.0)]
    values += [(0.5, 0.5), (0.6, 0.3), (0.3, 0.6), (0.8, 0.8), (0.7, 0.1), (0.1, 0.7)]
    loads = {n: 5.0 for n in range(12) if n not in (1, 3)} | {2: 2.0}
    # TPE's start-up counts feasible trials only: two here.
    good, weights = split_after(values, loads, n_startup_trials=2)
    assert good == [1, 2, 3]
    assert weights == pytest.approx({1: 2 / 3, 2: 2 / 3, 3: 1.0})


# -- the hook in TPE -----------------------------------------------------------------------------


class WeightedTPE(TPESampler):
    """TPE with fixed weights on its good trials (the hook MOTPE uses)."""

    def __init__(self, weigh: Any, **options: Any) -> None:
        super().__init__(**options)
        self.weigh = weigh

    def _model(self, trial: Any) -> Any:
        model, rng = super()._model(trial)
        if model is not None and model.weights is None:
            model.weights = self.weigh(model)
        return model, rng


def quadratic(sampler: Any, trials: int) -> list[float]:
    with hpdeco.search(store=":memory:", max_trials=trials, sampler=sampler, verbose=0) as search:
        for trial in search:
            trial.value = sum((hp.Float(f"x{i}", 0.0, 1.0) - 0.3) ** 2 for i in range(2))
    return [r.params["x0"] for r in search.trials]


@pytest.mark.parametrize("multivariate", [True, False])
def test_weights_of_one_draw_what_no_weights_draw(multivariate: bool) -> None:
    plain = quadratic(TPESampler(seed=2, multivariate=multivariate), 25)
    ones = quadratic(
        WeightedTPE(lambda m: np.ones(len(m.good)), seed=2, multivariate=multivariate), 25
    )
    assert ones == plain


def test_the_good_density_is_the_weighted_mixture() -> None:
    """``l(x)`` with weights: sum of w_i times trial i's truncated Gaussian on [0, 1], plus
    the uniform prior weighing ``prior_weight``, over the sum of weights plus the prior."""
    sampler = TPESampler(seed=1, n_startup_trials=20, prior_weight=0.5)
    seen: dict[str, Any] = {}
    with hpdeco.search(store=":memory:", max_trials=21, sampler=sampler, verbose=0) as search:
        for trial in search:
            x = hp.Float("x", 0.0, 1.0)
            if trial.number == 20:
                model, _ = sampler._model(trial)
                encoding = sampler._history.encodings["x"]
                column, _, good, _, width = sampler._sets(model, "x", encoding)
                weights = np.linspace(0.1, 2.0, len(column))
                codes = np.linspace(0.0, 1.0, 11)
                seen["got"] = sampler._mixture(model, encoding, good, codes, weights)
                seen["unweighted"] = sampler._mixture(model, encoding, good, codes)
                seen["parts"] = (column[good], width[good], weights[good], codes)
            trial.value = (x - 0.3) ** 2
    mu, sigma, w, codes = seen["parts"]
    assert len(mu) == 3  # 15% of 20
    z = (codes[:, None] - mu[None, :]) / sigma[None, :]
    mass = stats.norm.cdf((1 - mu) / sigma) - stats.norm.cdf(-mu / sigma)
    kernels = stats.norm.pdf(z) / sigma[None, :] / mass[None, :]
    expected = np.log((kernels @ w + 0.5) / (w.sum() + 0.5))
    assert seen["got"] == pytest.approx(expected, rel=1e-9)
    flat = np.log((kernels.sum(axis=1) + 0.5) / (len(mu) + 0.5))
    assert seen["unweighted"] == pytest.approx(flat, rel=1e-9)
    assert not np.allclose(seen["got"], seen["unweighted"])
