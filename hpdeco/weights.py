"""Keeping the trained weights of the best trials, and rebuilding the best model.

With ``keep_best=N`` (default 1) a search keeps, for its ``N`` best COMPLETE trials, the
weights of the epoch that gave each its value (the best epoch with ``trial_value="best"``,
the last with ``"last"``). The Keras callback copies them in memory when that epoch ends;
when the trial ends, they are written beside the store if the trial is among the ``N``
best, and the files of trials that dropped out of the ``N`` best are deleted::

    runs/hpdeco.db                               the store
    runs/hpdeco.db.weights/<id>-<study>/trial-7.npz   weights of trial 7 (numpy arrays, in
                                                 the order of model.get_weights())

A store in memory (``store=":memory:"``) keeps them in memory instead. ``keep_best=0``
writes and copies nothing. ``search.best_model()`` (and the search ``tune()`` returns)
rebuilds the best trial's model from the tunable function with the trial's parameters and
loads those weights. This module does not import keras.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hpdeco.errors import ConfigError, StoreError, UsageError
from hpdeco.space import Param, current_trial
from hpdeco.trial import TrialRecord, TrialState

if TYPE_CHECKING:
    from hpdeco.study import Study
    from hpdeco.trial import Trial

_FILE = re.compile(r"^trial-(\d+)\.npz$")


def check_keep_best(keep_best: Any) -> int:
    if keep_best is None:
        return 0
    if isinstance(keep_best, bool) or not isinstance(keep_best, int) or keep_best < 0:
        raise ConfigError(
            f"keep_best={keep_best!r} must be an int >= 0: how many of the best trials keep "
            "their trained weights (0 keeps none and writes nothing)"
        )
    return keep_best


def weights_folder(study: Study) -> Path | None:
    """Where the study's weights go: beside its store, or None for a store in memory."""
    path = str(study.store.path)
    if path == ":memory:" or "://" in path:
        return None if path == ":memory:" else Path.cwd() / "hpdeco.weights" / _slug(study)
    store = Path(path)
    return store.parent / f"{store.name}.weights" / _slug(study)


def _slug(study: Study) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", study.name).strip("._")[:60] or "study"
    return f"{study.id}-{name}"


def ranked(study: Study) -> list[TrialRecord]:
    """COMPLETE trials with a value, best first (the earliest among equals, as ``best``)."""
    study.refresh()
    done = [r for r in study.finished if r.state is TrialState.COMPLETE and r.value is not None]
    sign = -1.0 if study.direction == "max" else 1.0
    return sorted(done, key=lambda r: (sign * r.value, r.number))  # type: ignore[operator]


class WeightKeeper:
    """The saved weights of one study's best ``keep`` trials (files, or memory)."""

    def __init__(self, study: Study, keep: int, folder: Path | None = None) -> None:
        self.study = study
        self.keep = check_keep_best(keep)
        self.folder = folder if folder is not None else weights_folder(study)
        self._memory: dict[int, tuple[int, list[np.ndarray]]] = {}

    def path(self, number: int) -> Path | None:
        return None if self.folder is None else self.folder / f"trial-{number}.npz"

    def trial_finished(self, trial: Trial) -> None:
        """Save ``trial``'s weights if it is among the best ``keep``; drop those that left."""
        snapshot, trial._weights = trial._weights, None
        if self.keep == 0:
            return
        best = {r.number for r in ranked(self.study)[: self.keep]}
        if snapshot is not None and trial.state is TrialState.COMPLETE and trial.number in best:
            self._save(trial.number, *snapshot)
        # Only trials known to have finished outside the best are dropped: another worker's
        # trial that finished after our refresh keeps its file for it to judge.
        known = {r.number for r in self.study.finished}
        self._drop(known - best)

    def _save(self, number: int, step: int, weights: list[Any]) -> None:
        if self.folder is None:
            self._memory[number] = (step, [np.array(w) for w in weights])
            return
        target = self.path(number)
        assert target is not None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".trial-{number}.", suffix=".tmp", dir=self.folder)
            try:
                with os.fdopen(fd, "wb") as f:
                    arrays = {f"w{i:05d}": np.asarray(w) for i, w in enumerate(weights)}
                    np.savez(f, step=np.asarray(step), **arrays)
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise StoreError(
                f"keep_best: cannot write the weights of trial {number} to {target} ({exc}); "
                "free disk space, fix the folder's permissions, or pass keep_best=0"
            ) from None

    def _drop(self, losers: set[int]) -> None:
        for number in [n for n in self._memory if n in losers]:
            del self._memory[number]
        if self.folder is None or not self.folder.is_dir():
            return
        for file in self.folder.iterdir():
            match = _FILE.match(file.name)
            if match and int(match.group(1)) in losers:
                with contextlib.suppress(FileNotFoundError):
                    file.unlink()

    def saved(self) -> list[int]:
        """Numbers of the trials whose weights are kept."""
        if self.folder is None:
            return sorted(self._memory)
        if not self.folder.is_dir():
            return []
        return sorted(int(m.group(1)) for f in self.folder.iterdir() if (m := _FILE.match(f.name)))

    def load(self, number: int) -> tuple[int, list[np.ndarray]] | None:
        """(step, weights) saved for trial ``number``, or None."""
        if self.folder is None:
            return self._memory.get(number)
        path = self.path(number)
        if path is None or not path.exists():
            return None
        with np.load(path) as data:
            names = sorted(n for n in data.files if n.startswith("w"))
            return int(data["step"]), [data[n] for n in names]


class _Replay:
    """Stands in for a running trial so that ``hp.*`` returns a stored trial's values."""

    class _NoStudy:
        def declare_many(self, params: Any) -> None:
            return None

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.study = self._NoStudy()

    def _suggest(self, param: Param) -> Any:
        return self.params.get(param.name, param.default)


def build_with(build: Callable[..., Any], params: dict[str, Any]) -> Any:
    """Call a model-building function with ``hp.*`` returning ``params`` (defaults for the
    rest), as during the trial that drew them."""
    from hpdeco.space import hp
    from hpdeco.tunable import _wants_hp

    token = current_trial.set(_Replay(dict(params)))  # type: ignore[arg-type]
    try:
        return build(hp) if _wants_hp(build) else build()
    finally:
        current_trial.reset(token)


def best_model(
    study: Study,
    build: Callable[..., Any] | None,
    keeper: WeightKeeper | None = None,
    *,
    rank: int = 0,
) -> Any:
    """The model of the study's best COMPLETE trial (``rank=1`` the second best ...),
    rebuilt by ``build`` with that trial's parameters and its kept weights."""
    if build is None or not callable(build):
        raise UsageError(
            "best_model() needs the model-building function: pass best_model(build_model), "
            "give the search space=build_model (tune() does), or build the trials' models "
            "with a @hpdeco.tunable function"
        )
    trials = ranked(study)
    if not trials:
        raise UsageError(f"study {study.name!r} has no COMPLETE trial yet: no best model")
    if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < len(trials):
        raise UsageError(
            f"best_model(rank={rank!r}): rank must be an int from 0 to {len(trials) - 1} "
            f"(the study has {len(trials)} COMPLETE trials)"
        )
    record = trials[rank]
    keeper = keeper if keeper is not None else WeightKeeper(study, 0)
    saved = keeper.load(record.number)
    if saved is None:
        raise UsageError(
            f"trial {record.number} (the best of study {study.name!r} at rank {rank}) has no "
            "kept weights: they are saved when the search runs with keep_best >= "
            f"{rank + 1} and model.fit gets callbacks=trial.callbacks(); rebuild it with "
            "hpdeco.weights.build_with(build, trial.params) and train it again"
        )
    model = build_with(build, dict(record.params))
    _, weights = saved
    try:
        model.set_weights(weights)
    except (ValueError, TypeError) as exc:
        raise UsageError(
            f"the weights kept for trial {record.number} do not fit the model that "
            f"{getattr(build, '__name__', build)!r} builds with its parameters ({exc}); "
            "did the model-building code change since the search?"
        ) from None
    return model
