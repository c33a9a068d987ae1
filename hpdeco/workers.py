"""Trials in child processes (``isolate=True``) and worker processes (``workers=N``) for
``tune()``.

Both use the ``spawn`` start method (TensorFlow does not survive ``fork``), so the build
function must be importable: defined at module level, and a script's work kept under
``if __name__ == "__main__":``. Each child talks to the store on its own connection; the
store is the only thing processes share.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from hpdeco.errors import ConfigError
from hpdeco.records import TrialState
from hpdeco.space import current_trial, hp

if TYPE_CHECKING:
    from hpdeco.search import Search
    from hpdeco.trial import Trial


@dataclasses.dataclass
class FitJob:
    """What one trial of ``tune()`` does: build the model and fit it. Picklable."""

    build: Callable[..., Any]
    pass_hp: bool
    x: Any
    y: Any
    validation_data: Any
    epochs: int
    callbacks: Sequence[Any]
    callback_options: dict[str, Any]
    fit_kwargs: dict[str, Any]
    executions: int = 1
    cv: Any = None
    prune_runs: bool | None = None

    def run(self, trial: Trial) -> None:
        if self.cv is None and self.executions == 1:
            self._fit(trial, self.x, self.y, self.validation_data)
            return
        if self.cv is None:
            for _ in trial.runs(self.executions, prune=self.prune_runs):
                self._fit(trial, self.x, self.y, self.validation_data)
            return
        for run in trial.runs(cv=self.cv, x=self.x, y=self.y, prune=self.prune_runs):
            self._fit(trial, run.x, run.y, run.validation_data)

    def _fit(self, trial: Trial, x: Any, y: Any, validation_data: Any) -> None:
        from hpdeco.callbacks import fresh  # keras is imported only here

        model = self.build(hp) if self.pass_hp else self.build()
        options = dict(self.callback_options)
        if "latency_ms" in trial.study.followed and validation_data is not None:
            # Inference is timed on real validation inputs (hpdeco.model_cost).
            options.setdefault("latency_data", _first_batch(validation_data))
        model.fit(
            x,
            y,
            validation_data=validation_data,
            epochs=self.epochs,
            callbacks=[*trial.callbacks(**options), *fresh(self.callbacks)],
            **self.fit_kwargs,
        )


def _first_batch(validation_data: Any) -> Any:
    """The first inputs of ``(x_val, y_val)`` for timing inference, or None when they are
    not plain arrays (a dataset: random inputs are timed instead)."""
    from hpdeco.model_cost import LATENCY_BATCH

    inputs = validation_data[0] if isinstance(validation_data, (tuple, list)) else None
    try:
        return inputs[:LATENCY_BATCH] if inputs is not None and len(inputs) else None
    except TypeError:
        return None


def _context() -> Any:
    return multiprocessing.get_context("spawn")


def check_shared_store(search_store: Any, what: str) -> None:
    if search_store is not None and str(search_store) == ":memory:":
        raise ConfigError(
            f"{what} needs a store other processes can open; store=':memory:' is private to "
            "this process: pass a file path or a postgresql:// URL"
        )


# -- isolate=True: one child process per trial ----------------------------------------------


def run_isolated(search: Search, trial: Trial, job: FitJob) -> None:
    """Run ``job`` for ``trial`` in a child process and wait for it; the child writes the
    trial's epochs and its end to the store. A child that dies fails the trial."""
    study = search.study
    child = _context().Process(
        target=_trial_child,
        args=(
            study.store.locator(),
            study.name,
            trial.id,
            trial.number,
            trial.fixed,
            study.sampler,
            study.pruner,
            dict(study.settings),
            job,
        ),
        name=f"hpdeco-trial-{trial.number}",
    )
    child.start()
    child.join()
    records = {r.number: r for r in study.trials}
    record = records[trial.number]
    if record.state is TrialState.RUNNING:
        study.finish(
            trial.id,
            TrialState.FAIL,
            None,
            None,
            f"the trial's process ended without finishing it (exit code {child.exitcode})",
            None,
        )
        record = {r.number: r for r in study.trials}[trial.number]
    trial._adopt(record)


def _trial_child(
    locator: str,
    study_name: str,
    trial_id: int,
    number: int,
    fixed: dict[str, Any],
    sampler: Any,
    pruner: Any,
    settings: dict[str, Any],
    job: FitJob,
) -> None:
    from hpdeco.store import open_store
    from hpdeco.study import Study
    from hpdeco.trial import Trial
    from hpdeco.weights import WeightKeeper

    store = open_store(locator)
    row = store.study(study_name)
    assert row is not None
    study = Study(store, row, sampler=sampler, pruner=pruner)
    study.settings.update(settings)  # this run's, not the ones stored by the first run
    trial = Trial(study, trial_id, number, fixed)  # queued or retried values, as in-process
    token = current_trial.set(trial)
    error: BaseException | None = None
    try:
        job.run(trial)
    except BaseException as exc:  # recorded in the store; the parent reads it from there
        error = exc
    finally:
        current_trial.reset(token)
    trial._finish(error)
    WeightKeeper(study, settings.get("keep_best", 1)).trial_finished(trial)
    store.close()


# -- workers=N: N processes running the same search -----------------------------------------


def start_workers(n: int, tune_args: dict[str, Any]) -> list[Any]:
    """Start ``n`` processes, each running ``tune(**tune_args)`` on the shared study."""
    context = _context()
    procs = [
        context.Process(target=_worker_child, args=(tune_args,), name=f"hpdeco-worker-{i}")
        for i in range(n)
    ]
    for proc in procs:
        proc.start()
    return procs


def _worker_child(tune_args: dict[str, Any]) -> None:
    from hpdeco.tunable import tune

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    tune(**tune_args)
