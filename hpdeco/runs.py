"""Several runs of one trial: repeated executions of a configuration, or the folds of k-fold
cross-validation. To the search they are the same thing: a trial owns runs 0..k-1, each with
its own per-epoch curve (stored with its run number) and its own value; the trial's value
is the mean of the run values, and their spread is kept.

>>> for trial in search:
...     for run in trial.runs(cv=5, x=x, y=y):
...         model = build_model()
...         model.fit(run.x, run.y, validation_data=run.validation_data,
...                   callbacks=run.callbacks())

Within a run the pruner works per epoch as in any trial (comparing with the other trials'
mean curves). Between runs, a trial stops when the runs it has done cannot reach the best
trial's on the same runs (see :func:`hopeless`).
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from hpdeco.errors import ConfigError, UsageError
from hpdeco.records import TrialState, ranked

if TYPE_CHECKING:
    from hpdeco.trial import Trial


@dataclasses.dataclass
class Run:
    """One execution or fold of a trial. With cross-validation ``x``, ``y`` are the fold's
    training data and ``validation_data`` its held-out part; with executions they are None
    (train on your own data)."""

    trial: Trial
    index: int
    fold: int | None = None
    x: Any = None
    y: Any = None
    validation_data: Any = None

    def callbacks(self, **options: Any) -> list[Any]:
        """The Keras callbacks for this run's ``model.fit`` (see ``Trial.callbacks``)."""
        return self.trial.callbacks(**options)

    def report(self, value: Any, step: int | None = None) -> None:
        """Report this run's objective at ``step`` (see ``Trial.report``)."""
        self.trial.report(value, step)

    def should_prune(self) -> bool:
        return self.trial.should_prune()


def runs(
    trial: Trial,
    executions: int | None,
    *,
    cv: Any = None,
    x: Any = None,
    y: Any = None,
    prune: bool | None = None,
) -> Iterator[Run]:
    """The runs of ``trial`` (see :meth:`hpdeco.Trial.runs`); bad options are refused at
    the call, before the loop starts."""
    plan = _plan(trial, executions, cv, x, y)
    if prune is None:
        prune = type(trial.study.pruner).__name__ != "NoPruner"
    return _iterate(trial, plan, x, y, prune)


def _iterate(
    trial: Trial, plan: list[tuple[int | None, Any, Any]], x: Any, y: Any, prune: bool
) -> Iterator[Run]:
    total = len(plan)
    for index, (fold, train, held_out) in enumerate(plan):
        trial._begin_run(index, total)
        if fold is None:
            yield Run(trial, index)
        else:
            yield Run(
                trial,
                index,
                fold,
                take(x, train),
                take(y, train),
                (take(x, held_out), take(y, held_out)),
            )
        trial._end_run(fold)
        if trial._stopping():
            return
        if prune and index < total - 1:
            reason = hopeless(trial, index + 1, total)
            if reason is not None:
                trial._prune_between_runs(reason)
                return


def _plan(
    trial: Trial, executions: int | None, cv: Any, x: Any, y: Any
) -> list[tuple[int | None, Any, Any]]:
    where = f"trial {trial.number}.runs"
    if (executions is None) == (cv is None):
        raise ConfigError(
            f"{where}(executions={executions!r}, cv={cv!r}): give one of them: a number of "
            "executions of the same configuration, or cv= folds (an int or a splitter)"
        )
    if executions is not None:
        if isinstance(executions, bool) or not isinstance(executions, int) or executions < 1:
            raise ConfigError(f"{where}(executions={executions!r}): must be an int >= 1")
        return [(None, None, None)] * executions
    if x is None or y is None:
        raise ConfigError(f"{where}(cv={cv!r}): pass x= and y=, the data to split into folds")
    seed = trial.study.settings.get("seed")
    if seed is None:  # every trial of a study must see the same folds
        seed = zlib.crc32(trial.study.name.encode("utf-8"))
    return [(i, a, b) for i, (a, b) in enumerate(split(cv, x, y, seed=seed))]


def split(cv: Any, x: Any, y: Any, *, seed: int) -> list[tuple[Any, Any]]:
    """``(train, held_out)`` index arrays of each fold: ``cv`` an int K (stratified K-fold
    when ``y`` holds class labels, plain K-fold otherwise, shuffled with ``seed``) or any
    object with scikit-learn's ``split(x, y)``."""
    import numpy as np

    if hasattr(cv, "split"):
        return [(np.asarray(a), np.asarray(b)) for a, b in cv.split(x, y)]
    n = _length(y)
    if isinstance(cv, bool) or not isinstance(cv, int) or not 2 <= cv <= n:
        raise ConfigError(
            f"cv={cv!r}: must be an int from 2 to the number of samples ({n}), or an object "
            "with split(x, y) such as sklearn.model_selection.KFold"
        )
    rng = np.random.default_rng(seed)
    labels = np.asarray(y)
    folds: list[list[int]] = [[] for _ in range(cv)]
    if _class_labels(labels):
        # Deal each class's shuffled samples round the folds: every fold gets its share.
        start = 0
        for label in np.unique(labels):
            members = rng.permutation(np.flatnonzero(labels == label))
            for i, sample in enumerate(members):
                folds[(start + i) % cv].append(int(sample))
            start += len(members)
    else:
        for i, chunk in enumerate(np.array_split(rng.permutation(n), cv)):
            folds[i] = [int(s) for s in chunk]
    everything = np.arange(n)
    out = []
    for fold in folds:
        held_out = np.sort(np.asarray(fold, dtype=int))
        out.append((np.setdiff1d(everything, held_out), held_out))
    return out


def _class_labels(labels: Any) -> bool:
    """Integer, boolean or string labels of one column: classes, so folds are stratified."""
    import numpy as np

    return labels.ndim == 1 and (
        labels.dtype.kind in "biuUSO" and not np.issubdtype(labels.dtype, np.floating)
    )


def _length(data: Any) -> int:
    if isinstance(data, dict):
        return _length(next(iter(data.values())))
    if isinstance(data, (list, tuple)) and data and hasattr(data[0], "shape"):
        return len(data[0])
    return len(data)


def take(data: Any, index: Sequence[int]) -> Any:
    """The rows ``index`` of ``data``: an array, a DataFrame, or a list or dict of arrays
    (a model with several inputs)."""
    import numpy as np

    if data is None:
        return None
    if hasattr(data, "iloc"):
        return data.iloc[index]
    if isinstance(data, dict):
        return {k: take(v, index) for k, v in data.items()}
    if isinstance(data, (list, tuple)) and data and hasattr(data[0], "shape"):
        return type(data)(take(v, index) for v in data)
    return np.asarray(data)[index]


def hopeless(trial: Trial, done: int, total: int) -> str | None:
    """Why ``trial`` should stop after its first ``done`` runs, or None.

    The rule: its mean over those runs is worse than the best COMPLETE trial's mean over
    the same runs (the same folds, with cross-validation) by more than the spread (standard
    deviation) of that trial's run values: the runs left could not plausibly lift it to
    the top.
    """
    study = trial.study
    mine = [trial._run_values.get(k) for k in range(done)]
    if any(v is None or not math.isfinite(v) for v in mine):
        return None
    study.refresh()
    others = [
        r
        for r in study.finished
        if r.state is TrialState.COMPLETE and all(_finite(r.run_values.get(k)) for k in range(done))
    ]
    if not others:
        return None
    leader = ranked(others, study.direction)[0]
    theirs = sum(leader.run_values[k] or 0.0 for k in range(done)) / done
    spread = leader.spread[0] if leader.spread is not None else 0.0
    ours = sum(v or 0.0 for v in mine) / done
    behind = theirs - ours if study.direction == "max" else ours - theirs
    if behind <= spread:
        return None
    return (
        f"pruned after {done} of {total} runs: mean {ours:.6g} over them, against "
        f"{theirs:.6g} for the best trial (#{leader.number}) on the same runs, whose runs "
        f"spread by {spread:.3g}"
    )


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def check_not_started(trial: Trial) -> None:
    if trial._runs_total is not None:
        raise UsageError(
            f"trial {trial.number}.runs(...) was called twice; call it once per trial, "
            "around the training"
        )
