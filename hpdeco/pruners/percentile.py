"""The percentile and median pruners: stop a trial doing worse than most completed trials
did at the same step (the "median stopping rule" of Golovin et al., 2017, generalised to any
percentile)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpdeco.pruners._common import (
    best_upto,
    completed,
    crossed,
    current_step,
    reached,
    started,
)
from hpdeco.validate import check_int, check_number

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hpdeco.records import TrialRecord
    from hpdeco.study import Study
    from hpdeco.trial import Trial


def _percentile(sorted_values: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ascending values, interpolating linearly."""
    position = (len(sorted_values) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


class PercentilePruner:
    """Prune a trial whose best value so far is worse than the ``percentile``-th best percent
    of the COMPLETE trials' best values up to the same step.

    ``percentile=50`` is the median rule; ``percentile=25`` keeps only trials in the best
    quarter. The rule, at the trial's latest reported step ``s``:

    - never in the first ``n_warmup_steps`` steps (``s <= n_warmup_steps``);
    - only at steps ``n_warmup_steps + 1``, then every ``interval_steps`` steps (a trial that
      reports sparsely is checked at the first step at or past each of those);
    - never before ``n_startup_trials`` trials have COMPLETEd;
    - the trial's own value is its best finite value up to ``s``; with none (all NaN) it
      counts as the worst;
    - it is compared with the same figure, each one's best finite value up to ``s``, of
      the COMPLETE trials that reached step ``s`` (PRUNED and FAIL trials are left out);
      never with fewer than ``n_min_trials`` of them;
    - prune when the trial's value is strictly worse than the cutoff (ties go on).

    COMPLETE trials only, as in Golovin et al. and Optuna: a PRUNED trial was stopped
    because it was below the cutoff, so counting it pulls the median down, and more so the
    more trials have been pruned: the pruner grew lenient as the study went on.
    ``bench/pruning.py`` measured it: counting PRUNED trials used 21.7 % of the epochs of
    the recorded digits table where Optuna's MedianPruner used 19.4 %; without them 18.8 %,
    the best configuration found in as many orders (on its two other tables 24.6 % and
    25.1 % before, 21.1 % and 22.2 % now, Optuna 21.4 % and 22.9 %).

    Best against best, not best against one epoch: validation curves are noisy, and the
    best of a trial's ``s`` epochs beats a single epoch of an equally good trial most of
    the time, so comparing it with the others' values at ``s`` alone (as Golovin et al.
    and Optuna do) lets a run of equally good trials go on to the end and prunes almost
    nothing once a sampler has found a good region (``bench/headtohead.py`` measured this).

    The direction of the study (max or min) decides what "worse" and "best" mean.
    """

    def __init__(
        self,
        percentile: float,
        *,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        n_min_trials: int = 1,
    ) -> None:
        name = type(self).__name__
        self.percentile = check_number(name, "percentile", percentile, minimum=0, maximum=100)
        self.n_startup_trials = check_int(name, "n_startup_trials", n_startup_trials, minimum=0)
        self.n_warmup_steps = check_int(name, "n_warmup_steps", n_warmup_steps, minimum=0)
        self.interval_steps = check_int(name, "interval_steps", interval_steps, minimum=1)
        self.n_min_trials = check_int(name, "n_min_trials", n_min_trials, minimum=1)

    def _checkpoints(self, step: int) -> range:
        return range(self.n_warmup_steps + 1, step + 1, self.interval_steps)

    def should_prune(self, trial: Trial) -> bool:
        step = current_step(trial)
        if step is None or step <= self.n_warmup_steps:
            return False
        curve = trial.intermediate_values
        if crossed(curve, step, self._checkpoints(step)) is None:
            return False
        study = trial.study
        complete = completed(study)
        if started(study) < self.n_startup_trials:
            return False
        from hpdeco.multi import ends_dominated

        # With several objectives ``study`` holds the trial's peers (hpdeco.multi), and a
        # trial ahead of most of them may still be projected to end dominated.
        return self._behind(study, complete, curve, step) or ends_dominated(trial, complete, step)

    def _behind(
        self, study: Study, complete: list[TrialRecord], curve: Mapping[int, float], step: int
    ) -> bool:
        """Whether the trial's best so far is worse than the cutoff of ``complete``'s."""
        others = []
        for record in complete:
            if reached(record, step):
                value = best_upto(study, record.intermediate_values, step)
                if value is not None:
                    others.append(value)
        if len(others) < self.n_min_trials:
            return False
        mine = best_upto(study, curve, step)
        if mine is None:
            return True  # nothing finite reported: the worst possible value
        others.sort()
        if study.direction == "max":
            cutoff = _percentile(others, 100.0 - self.percentile)
        else:
            cutoff = _percentile(others, self.percentile)
        return study.is_better(cutoff, mine)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(percentile={self.percentile:g}, "
            f"n_startup_trials={self.n_startup_trials}, n_warmup_steps={self.n_warmup_steps}, "
            f"interval_steps={self.interval_steps}, n_min_trials={self.n_min_trials})"
        )


class MedianPruner(PercentilePruner):
    """The percentile pruner at 50: prune a trial whose best value so far is worse than the
    median of the COMPLETE trials' best values up to the same step. See
    :class:`PercentilePruner`."""

    def __init__(
        self,
        *,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        n_min_trials: int = 1,
    ) -> None:
        super().__init__(
            50.0,
            n_startup_trials=n_startup_trials,
            n_warmup_steps=n_warmup_steps,
            interval_steps=interval_steps,
            n_min_trials=n_min_trials,
        )

    def __repr__(self) -> str:
        return super().__repr__().replace("MedianPruner(percentile=50, ", "MedianPruner(")
