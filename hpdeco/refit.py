"""Building any configuration outside a search, and refitting the best one on all the data.

>>> model = hpdeco.build(build_model, {"units": 64, "lr": 1e-3})   # any configuration
>>> model = search.refit(x, y, epochs=20)                          # the best, trained on all

A refit is recorded in the store with the best trial, as its run -1: each epoch's metrics
and the last value of the objective when the logs have it, so ``hpdeco best`` can say the
configuration was refit and how it went.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from hpdeco.errors import UsageError
from hpdeco.records import best

if TYPE_CHECKING:
    from hpdeco.study import Study

REFIT_RUN = -1


def build(fn: Callable[..., Any], params: Mapping[str, Any]) -> Any:
    """Call a model-building function with every ``hp.*`` returning ``params`` (its
    default for the rest), as during a trial that drew them: any configuration, outside
    a search.

    >>> model = hpdeco.build(build_model, search.best.params)
    """
    from hpdeco.weights import build_with

    return build_with(fn, dict(params))


def refit(
    study: Study,
    fn: Callable[..., Any],
    x: Any = None,
    y: Any = None,
    *,
    epochs: int = 10,
    callbacks: list[Any] | None = None,
    **fit_kwargs: Any,
) -> Any:
    """Build the study's best configuration with ``fn``, train it on ``x``, ``y`` (all the
    data) for ``epochs``, record the training in the store and return the model."""
    from hpdeco.store import open_store

    chosen = best(study.trials, study.direction)
    if chosen is None:
        raise UsageError(f"study {study.name!r} has no COMPLETE trial yet: nothing to refit")
    store = study.store if not study.store.read_only else open_store(study.store.locator())
    trial_id = store.trial_id(study.id, chosen.number)
    model = build(fn, chosen.params)
    fit_kwargs.setdefault("verbose", 0)
    recorder = _recorder(store, study.id, trial_id, study.objective)
    model.fit(x, y, epochs=epochs, callbacks=[*(callbacks or []), recorder], **fit_kwargs)
    return model


def _recorder(store: Any, study_id: int, trial_id: int, objective: str) -> Any:
    import keras

    from hpdeco.callbacks import _scalars

    class RefitRecorder(keras.callbacks.Callback):
        """Writes each epoch's logs as run -1 of the refit trial, and how it ended."""

        def __init__(self) -> None:
            super().__init__()
            self.last: tuple[int, float | None] = (0, None)

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            metrics = _scalars(logs)
            store.record(trial_id, study_id, epoch + 1, metrics, REFIT_RUN)
            value = metrics.get(objective)
            self.last = (epoch + 1, value if value is not None and math.isfinite(value) else None)

        def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
            step, value = self.last
            store.finish_run(trial_id, study_id, REFIT_RUN, None, value, step or None)

    return RefitRecorder()
