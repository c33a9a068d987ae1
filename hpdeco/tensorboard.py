"""TensorBoard logs of a study, for TensorBoard's HParams dashboard.

Opt-in, and an optional extra: ``pip install "hpdeco[tensorboard]"``. Nothing here is
imported by a search unless you ask for it. Two ways to get the logs:

- **while training**, next to the trial's callbacks::

      from hpdeco.tensorboard import HParamsCallback
      model.fit(..., callbacks=[*trial.callbacks(), HParamsCallback("tb/")])
      # or: build_model.tune(..., callbacks=[HParamsCallback("tb/")])

- **afterwards, from the store** (any training loop, any time, also while a search runs)::

      hpdeco.tensorboard.write_study(hpdeco.load_study("quickstart"), "tb/")
      # or, in a shell:  hpdeco tensorboard quickstart --logdir tb/

Then ``tensorboard --logdir tb/``: the HPARAMS tab has one row per trial (its parameters
and the last value of each metric, ``trial_value`` being the trial's value), parallel
coordinates and scatter plots; the SCALARS tab has every trial's curves.

Layout: one run per trial, ``<logdir>/trial-0007/``, holding the trial's parameters as its
hparams and every reported metric per epoch as scalars (the Keras names: ``loss``,
``val_accuracy``...), plus ``trial_value``. ``write_study`` also writes the experiment's
description (each parameter's domain, the metrics) in ``<logdir>`` itself, and each
trial's end (COMPLETE as success, PRUNED as aborted, FAIL as failure). The files this
module writes end in ``.hpdeco``; writing a study again replaces them (and only them), so
other logs in the same folder are left alone.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpdeco.analysis import as_study, param_names, select
from hpdeco.errors import MissingDependency, UsageError
from hpdeco.records import TrialRecord, TrialState

if TYPE_CHECKING:
    from hpdeco.search import Search
    from hpdeco.study import Study
    from hpdeco.trial import Trial

SUFFIX = ".hpdeco"
VALUE_TAG = "trial_value"
STATE_HPARAM = "trial_state"
# TensorBoard's session statuses: 1 success, 2 failure (it has none for "pruned").
_STATUS = {TrialState.COMPLETE: 1, TrialState.FAIL: 2}


def run_name(number: int) -> str:
    """The run (sub-folder of the log folder) of trial ``number``.

    >>> run_name(7)
    'trial-0007'
    """
    return f"trial-{number:04d}"


def _modules() -> tuple[Any, Any, Any]:
    """(tensorflow, tensorboard's hparams api, its v1 summary module), or a clear error."""
    try:
        from tensorboard.plugins.hparams import api
        from tensorboard.plugins.hparams import summary as v1
    except ImportError:
        raise MissingDependency(
            'TensorBoard logs need tensorboard: pip install "hpdeco[tensorboard]" '
            "(or pip install tensorboard)"
        ) from None
    import tensorflow as tf

    return tf, api, v1


def _hparam(value: Any) -> Any:
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _clear(folder: Path) -> None:
    """Remove the event files this module wrote in ``folder`` (not in its sub-folders)."""
    if folder.is_dir():
        for file in folder.iterdir():
            if file.is_file() and "tfevents" in file.name and file.name.endswith(SUFFIX):
                file.unlink()


def _domain(api: Any, spec: Any, values: list[Any]) -> Any:
    kind = getattr(spec, "kind", None)
    if kind == "float":
        return api.RealInterval(float(spec.min_value), float(spec.max_value))
    if kind == "int":
        return api.IntInterval(int(spec.min_value), int(spec.max_value))
    if kind == "categorical":
        return api.Discrete([_hparam(v) for v in spec.grid()])
    if kind == "fixed":
        return api.Discrete([_hparam(spec.value)])
    present = sorted({_hparam(v) for v in values if v is not None}, key=repr)
    families = {type(v) for v in present}
    if present and len(families) == 1:  # Discrete needs one type
        return api.Discrete(present)
    return None


def write_trial(record: TrialRecord, logdir: str | os.PathLike[str], *, objective: str) -> Path:
    """Write one stored trial as the run ``<logdir>/trial-NNNN`` (replacing what this module
    wrote there before); returns the run's folder.

    >>> write_trial(study.best, "tb/", objective=study.objective)
    PosixPath('tb/trial-0011')
    """
    tf, api, v1 = _modules()
    folder = Path(logdir) / run_name(record.number)
    _clear(folder)
    writer = tf.summary.create_file_writer(str(folder), filename_suffix=SUFFIX)
    try:
        with writer.as_default():
            hparams = {k: _hparam(v) for k, v in record.params.items()}
            hparams.setdefault(STATE_HPARAM, record.state.value)
            api.hparams(
                hparams, trial_id=run_name(record.number), start_time_secs=record.started_at
            )
            last = 0
            for name, curve in sorted(record.metrics.items()):
                for step, value in sorted(curve.items()):
                    tf.summary.scalar(name, value, step=step)
                    last = max(last, step)
            if record.value is not None and math.isfinite(record.value):
                tf.summary.scalar(VALUE_TAG, record.value, step=record.last_step or last)
            status = _STATUS.get(record.state)
            if status is not None:
                end = v1.session_end_pb(status, end_time_secs=record.finished_at)
                tf.summary.experimental.write_raw_pb(end.SerializeToString(), step=last)
    finally:
        writer.close()
    return folder


def write_study(
    source: Study | Search,
    logdir: str | os.PathLike[str],
    *,
    states: Iterable[TrialState | str] | None = None,
) -> int:
    """Write the study's finished trials (or those in ``states``) for TensorBoard, one run
    per trial, and the experiment's description (parameter domains, metrics) at the top of
    ``logdir``. Writing again replaces what this function wrote before. Returns how many
    trials were written.

    >>> hpdeco.tensorboard.write_study(hpdeco.load_study("quickstart"), "tb/")
    20
    """
    study = as_study(source)
    chosen = select(study, states)
    if states is None:
        chosen = [t for t in chosen if t.state.is_finished]
    tf, api, _ = _modules()
    root = Path(logdir)
    root.mkdir(parents=True, exist_ok=True)
    for record in chosen:
        write_trial(record, root, objective=study.objective)
    names = param_names(chosen)
    hparams = []
    for name in names:
        domain = _domain(api, study.space.get(name), [t.params.get(name) for t in chosen])
        hparams.append(api.HParam(name, domain))
    if STATE_HPARAM not in names:
        states_seen = sorted({t.state.value for t in chosen})
        hparams.append(api.HParam(STATE_HPARAM, api.Discrete(states_seen) if states_seen else None))
    metrics = sorted({m for t in chosen for m in t.metrics})
    described = [
        api.Metric(VALUE_TAG, display_name=f"trial value ({study.objective}, {study.direction})"),
        *(api.Metric(m) for m in metrics),
    ]
    _clear(root)
    writer = tf.summary.create_file_writer(str(root), filename_suffix=SUFFIX)
    try:
        with writer.as_default():
            api.hparams_config(hparams=hparams, metrics=described, time_created_secs=time.time())
    finally:
        writer.close()
    return len(chosen)


def _callback_class() -> type:
    import keras

    from hpdeco.callbacks import _scalars
    from hpdeco.space import current_trial
    from hpdeco.trial import Trial

    class HParamsCallback(keras.callbacks.Callback):
        """Writes the running trial's parameters (as TensorBoard hparams) and each epoch's
        metrics to ``<logdir>/trial-NNNN``, as the epochs end.

        Pass it to ``fit`` next to ``trial.callbacks()``, or in ``tune(callbacks=[...])``;
        the trial is the one running (or pass ``trial=``). Needs tensorboard
        (``pip install "hpdeco[tensorboard]"``).

        >>> model.fit(x, y, callbacks=[*trial.callbacks(), HParamsCallback("tb/")])
        """

        def __init__(self, logdir: str | os.PathLike[str], trial: Trial | None = None) -> None:
            super().__init__()
            _modules()  # fail now, at the call, if tensorboard is missing
            self.logdir = os.fspath(logdir)
            self.trial = trial
            self._writer: Any = None
            self._active: Any = None

        def __deepcopy__(self, memo: dict[int, Any]) -> HParamsCallback:
            return type(self)(self.logdir, self.trial)  # a fresh one for each trial

        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            running = current_trial.get()  # a Trial, or best_model()'s stand-in
            trial = self.trial if self.trial is not None else running
            if not isinstance(trial, Trial):
                raise UsageError(
                    "HParamsCallback is used outside a trial: pass it to fit() inside "
                    "`for trial in search:` (or tune(callbacks=[...])), or pass trial="
                )
            tf, api, _ = _modules()
            self._active = trial
            folder = Path(self.logdir) / run_name(trial.number)
            self._writer = tf.summary.create_file_writer(str(folder), filename_suffix=SUFFIX)
            with self._writer.as_default():
                api.hparams(
                    {k: _hparam(v) for k, v in trial.params.items()},
                    trial_id=run_name(trial.number),
                )
            self._writer.flush()

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if self._writer is None:
                return
            tf, _, _ = _modules()
            with self._writer.as_default():
                for name, value in _scalars(logs).items():
                    tf.summary.scalar(name, value, step=epoch + 1)
            self._writer.flush()

        def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
            if self._writer is None:
                return
            tf, _, _ = _modules()
            value = getattr(self._active, "value", None)
            steps = getattr(self._active, "intermediate_values", {}) or {0: None}
            if value is not None and math.isfinite(value):
                with self._writer.as_default():
                    tf.summary.scalar(VALUE_TAG, value, step=max(steps))
            self._writer.close()
            self._writer = None
            self._active = None

    return HParamsCallback


_CLASS: type | None = None


def __getattr__(name: str) -> Any:
    # HParamsCallback subclasses keras' Callback; defining it on first use keeps
    # ``import hpdeco.tensorboard`` free of keras.
    global _CLASS
    if name == "HParamsCallback":
        if _CLASS is None:
            _CLASS = _callback_class()
        return _CLASS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "STATE_HPARAM",
    "SUFFIX",
    "VALUE_TAG",
    "run_name",
    "write_study",
    "write_trial",
]
