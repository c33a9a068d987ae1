"""Keeping the trained weights of the best trials, and rebuilding the best model.

With ``keep_best=N`` (default 1) a search keeps, for its ``N`` best COMPLETE trials, the
weights of the epoch that gave each its value (the best epoch with ``trial_value="best"``,
the last with ``"last"``). The Keras callback copies them in memory when that epoch ends;
when the trial ends, they are written beside the store if the trial is among the ``N``
best, and the files of trials that dropped out of the ``N`` best are deleted::

    runs/hpdeco.db                               the store
    runs/hpdeco.db.weights/<id>-<study>-<tag>/trial-7.npz   weights of trial 7 (numpy
                                                 arrays, in the order of model.get_weights())

``<tag>`` is a digest of the study's id, name and creation time, so two stores holding a
study of the same name and id (two PostgreSQL databases used from one folder, whose
weights go to ``./hpdeco.weights/``; a store deleted and created again) never share a
folder. Each file also records the study and the trial (number and parameters) it belongs
to, and loading refuses a file recorded for another study or trial, a file that is not a
valid weights file, and a symbolic link. Files are read with ``allow_pickle=False``
always. Files kept by earlier versions (in ``<id>-<study>/`` folders, with
no record) are not loaded: nothing ties them to a store, which is how another study's
weights were loaded silently; ``best_model`` names them in its message.

A store in memory (``store=":memory:"``) keeps them in memory instead. ``keep_best=0``
writes and copies nothing. ``search.best_model()`` (and the search ``tune()`` returns)
rebuilds the best trial's model from the tunable function with the trial's parameters and
loads those weights. This module does not import keras.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpdeco.errors import StoreError, UsageError
from hpdeco.records import TrialRecord, TrialState
from hpdeco.records import ranked as rank
from hpdeco.space import Param, current_trial
from hpdeco.validate import check_int

if TYPE_CHECKING:
    import numpy as np

    from hpdeco.study import Study
    from hpdeco.trial import Trial

_FILE = re.compile(r"^trial-(\d+)\.npz$")
_FORMAT = "hpdeco-weights"


def check_keep_best(keep_best: Any) -> int:
    if keep_best is None:
        return 0
    return int(
        check_int(
            "hpdeco.search",
            "keep_best",
            keep_best,
            fix="how many of the best trials keep their trained weights (0 keeps none and "
            "writes nothing)",
        )
    )


def weights_folder(study: Study) -> Path | None:
    """Where the study's weights go: beside its store, or None for a store in memory."""
    path = str(study.store.path)
    if path == ":memory:":
        return None
    if "://" in path:
        return Path.cwd() / "hpdeco.weights" / _slug(study)
    store = Path(path).expanduser()
    return store.parent / f"{store.name}.weights" / _slug(study)


def legacy_folder(study: Study) -> Path | None:
    """Where earlier versions kept the study's weights (``<id>-<name>``, no identity tag)."""
    folder = weights_folder(study)
    return None if folder is None else folder.with_name(_slug(study, tag=False))


def _slug(study: Study, *, tag: bool = True) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", study.name).strip("._")[:60] or "study"
    return f"{study.id}-{name}-{study_tag(study)}" if tag else f"{study.id}-{name}"


def _created_at(study: Study) -> float | None:
    row = study.store.study(study.name)
    return None if row is None or row.id != study.id else float(row.created_at)


def study_tag(study: Study) -> str:
    """Eight hex digits that tell this study from any other of the same name and id: a
    digest of its id, name and creation time (as stored, to the microsecond). No part of
    the store's location goes in, so moving a SQLite store with its weights folder, or
    reaching a database by another host name, keeps the tag; no password can leak."""
    created = _created_at(study)
    identity = f"{study.id}\0{study.name}\0{created!r}"
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:8]


def _identity(study: Study) -> dict[str, Any]:
    return {"study": study.name, "study_id": study.id, "created_at": _created_at(study)}


def _meta(study: Study, number: int, step: int, params: Mapping[str, Any]) -> str:
    """The record each file carries: which study and trial its weights belong to."""
    return json.dumps(
        {
            "format": _FORMAT,
            "version": 1,
            **_identity(study),
            "trial": number,
            "step": step,
            "params": dict(params),
        },
        ensure_ascii=False,
    )


def ranked(study: Study) -> list[TrialRecord]:
    """Feasible COMPLETE trials with a value, best first (see :func:`hpdeco.records.ranked`).
    With several objectives the Pareto front comes first, in its order (so rank 0 is
    ``search.best``), then the others by the first objective."""
    study.refresh()
    ordered = rank(study.finished, study.direction)
    if len(study.objectives) < 2:
        return ordered
    from hpdeco.pareto import pareto_front

    front = pareto_front(study.finished, study.directions)
    on_front = {r.number for r in front}
    return front + [r for r in ordered if r.number not in on_front]


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
            self._save(trial.number, *snapshot, params=trial.params)
        # Only trials known to have finished outside the best are dropped: another worker's
        # trial that finished after our refresh keeps its file for it to judge.
        known = {r.number for r in self.study.finished}
        self._drop(known - best)

    def _save(
        self, number: int, step: int, weights: list[Any], *, params: Mapping[str, Any]
    ) -> None:
        import numpy as np  # numpy waits for the first kept weights: `hpdeco --version` is quick

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
                    arrays: dict[str, Any] = {
                        f"w{i:05d}": np.asarray(w) for i, w in enumerate(weights)
                    }
                    meta = np.asarray(_meta(self.study, number, step, params))
                    arrays.update(step=np.asarray(step), meta=meta)
                    np.savez(f, **arrays)
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

    def load(
        self, number: int, record: TrialRecord | None = None
    ) -> tuple[int, list[np.ndarray]] | None:
        """(step, weights) saved for trial ``number``, or None when nothing is kept.

        A file recorded for another study or trial (or, given its ``record``, for other
        parameters), a file that is not a valid weights file, and a symbolic link are
        refused with a :class:`StoreError`: weights are never loaded on trust.
        """
        if self.folder is None:
            return self._memory.get(number)
        path = self.path(number)
        if path is None or not os.path.lexists(path):
            return None
        meta, step, weights = read_file(path)
        self._check(path, meta, number, record)
        return step, weights

    def _check(
        self, path: Path, meta: dict[str, Any], number: int, record: TrialRecord | None
    ) -> None:
        expected = {**_identity(self.study), "trial": number}
        found = {k: meta.get(k) for k in expected}
        if found != expected:
            raise StoreError(
                f"weights file {path} belongs to trial {meta.get('trial')!r} of study "
                f"{meta.get('study')!r} (id {meta.get('study_id')!r}, created "
                f"{meta.get('created_at')!r}), not to trial {number} of study "
                f"{self.study.name!r} in {self.study.store.path!r} (id {self.study.id}, created "
                f"{expected['created_at']!r}); it was copied or moved here, so it is not "
                "loaded: delete it, or load the store it belongs to"
            )
        if record is not None and meta.get("params") != dict(record.params):
            raise StoreError(
                f"weights file {path} was kept for parameters {meta.get('params')!r}, but "
                f"trial {number} of study {self.study.name!r} has {dict(record.params)!r}; "
                "it is not loaded: delete it, or load the store it belongs to"
            )


def _invalid(path: Path, why: str) -> StoreError:
    return StoreError(
        f"{path} is not a valid hpdeco weights file ({why}); it is not loaded. Delete it "
        "(the trial's parameters are in the store: rebuild the model with "
        "hpdeco.weights.build_with(build, trial.params) and train it again)"
    )


def read_file(path: Path) -> tuple[dict[str, Any], int, list[np.ndarray]]:
    """(record, step, weights) of one kept weights file, read safely: a symbolic link is
    refused (it could point anywhere), arrays are read with ``allow_pickle=False``, and
    anything that is not what hpdeco writes is a :class:`StoreError`."""
    try:
        # O_NOFOLLOW: a link swapped in after a check cannot be followed either.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        if os.path.islink(path):
            raise _invalid(path, "it is a symbolic link; kept weights are plain files") from None
        raise StoreError(f"cannot read weights file {path}: {exc.strerror or exc}") from None
    import numpy as np

    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise _invalid(path, "it is not a regular file")
        try:
            with np.load(file, allow_pickle=False) as data:
                if "meta" not in data.files:
                    raise _invalid(
                        path,
                        "it records no study: an earlier version of hpdeco wrote it, or "
                        "something else did",
                    )
                meta = json.loads(str(data["meta"][()]))
                if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
                    raise _invalid(path, "its record is not hpdeco's")
                names = sorted(n for n in data.files if n.startswith("w"))
                return meta, int(data["step"]), [data[n] for n in names]
        except StoreError:
            raise
        except (
            OSError,
            ValueError,
            TypeError,
            KeyError,
            EOFError,
            IndexError,
            zipfile.BadZipFile,
        ) as exc:
            # numpy's own message may suggest allow_pickle=True: never pass that on.
            raise _invalid(path, type(exc).__name__) from None


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

    token = current_trial.set(_Replay(dict(params)))
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
    sample: Any = None,
) -> Any:
    """The model of the study's best COMPLETE trial (``rank=1`` the second best ...),
    rebuilt by ``build`` with that trial's parameters and its kept weights.

    A model that has no weights until it first sees data (a ``Sequential`` without
    ``keras.Input``, a subclassed ``keras.Model``) is built first: on ``sample`` (a batch of
    inputs, e.g. ``x[:1]``) when given; without one the error says so (before, it blamed a
    change of the model-building code)."""
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
    saved = keeper.load(record.number, record)
    if saved is None:
        legacy = legacy_folder(study)
        old = None if legacy is None else legacy / f"trial-{record.number}.npz"
        if old is not None and old.exists():
            raise UsageError(
                f"trial {record.number} (the best of study {study.name!r} at rank {rank}) "
                f"has weights kept by an earlier version of hpdeco at {old}, which records "
                "no study: nothing shows they belong to this store, so they are not loaded. "
                "Run the search again to keep checked weights, or, if you know they are "
                "this trial's, load the arrays w00000... yourself with numpy"
            )
        raise UsageError(
            f"trial {record.number} (the best of study {study.name!r} at rank {rank}) has no "
            "kept weights: they are saved when the search runs with keep_best >= "
            f"{rank + 1} and model.fit gets callbacks=trial.callbacks(); rebuild it with "
            "hpdeco.weights.build_with(build, trial.params) and train it again"
        )
    model = build_with(build, dict(record.params))
    _, weights = saved
    _ensure_built(model, weights, sample, build)
    try:
        model.set_weights(weights)
    except (ValueError, TypeError) as exc:
        raise UsageError(
            f"the weights kept for trial {record.number} do not fit the model that "
            f"{getattr(build, '__name__', build)!r} builds with its parameters ({exc}); "
            "did the model-building code change since the search?"
        ) from None
    return model


def _ensure_built(model: Any, weights: list[Any], sample: Any, build: Callable[..., Any]) -> None:
    """Give an unbuilt Keras model its variables before ``set_weights`` by calling it on
    ``sample``. The input shape cannot be read from the weights (a ``Flatten`` first hides
    it), so without a sample the error names what is missing."""
    if getattr(model, "built", True) or not weights:  # built (or not a Keras model)
        return
    name = getattr(build, "__name__", build)
    if sample is not None:
        try:
            model(_first(sample))
        except Exception as exc:  # Keras raises many types for a wrong input
            raise UsageError(
                f"the model {name!r} builds has no weights until it sees data, and calling "
                f"it on the sample given failed ({type(exc).__name__}: {exc}); pass a batch "
                "of the training inputs, e.g. sample=x[:1]"
            ) from None
        return
    raise UsageError(
        f"the model {name!r} builds has no weights until it first sees data (a Sequential "
        "without keras.Input, or a subclassed keras.Model), so the kept weights have "
        "nothing to load into: pass a batch of inputs to build it, e.g. "
        "best_model(sample=x[:1]), or start the model with keras.Input(shape=...)"
    )


def _first(sample: Any) -> Any:
    """One row of ``sample`` (arrays, or a list / dict of arrays): enough to build."""
    if isinstance(sample, dict):
        return {k: _first(v) for k, v in sample.items()}
    if isinstance(sample, (list, tuple)):
        return type(sample)(_first(v) for v in sample)
    return sample[:1] if hasattr(sample, "__getitem__") and hasattr(sample, "shape") else sample
