"""The Keras callbacks. This is the only module that imports keras."""

from __future__ import annotations

import math
from typing import Any

import keras

from hpdeco.errors import ObjectiveError, UsageError
from hpdeco.space import current_trial
from hpdeco.trial import Trial


def _scalars(logs: dict[str, Any] | None) -> dict[str, float]:
    out = {}
    for name, value in (logs or {}).items():
        try:
            out[name] = float(value)
        except (TypeError, ValueError):
            continue  # Keras may log non-scalars (e.g. a learning-rate schedule object)
    return out


class TrialCallback(keras.callbacks.Callback):
    """Records every epoch's ``logs`` in the store, reports the objective, and stops ``fit``
    when the trial is pruned or its loss turns NaN or infinite.

    Steps are epochs completed: the first epoch is step 1.

    >>> model.fit(x, y, validation_data=(xv, yv), callbacks=[TrialCallback(trial)])
    """

    def __init__(self, trial: Trial | None = None) -> None:
        super().__init__()
        if trial is None:
            trial = current_trial.get()  # type: ignore[assignment]
            if trial is None:
                raise UsageError(
                    "TrialCallback() outside a trial: pass trial=, or create it inside "
                    "`for trial in search:`"
                )
        self.trial = trial
        self.objective = trial.study.objective
        self._seen_objective = False

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        metrics = _scalars(logs)
        step = epoch + 1
        if self.objective in metrics:
            self._seen_objective = True
        elif any(name.startswith("val_") for name in metrics) or not self.objective.startswith(
            "val_"
        ):
            # Validation ran (or is not involved) and the objective is still not there.
            raise self._missing(metrics)
        self.trial.report(metrics, step)
        loss = metrics.get("loss")
        if loss is not None and not math.isfinite(loss):
            self.trial._fail_soon(f"loss was {loss} at epoch {step}")
        if self.trial.should_prune():
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if not self._seen_objective:
            raise self._missing(_scalars(logs))

    def _missing(self, metrics: dict[str, float]) -> ObjectiveError:
        found = ", ".join(sorted(metrics)) or "none"
        hint = (
            "pass validation_data= (or validation_split=) to fit()"
            if self.objective.startswith("val_")
            else "compile the model with that metric"
        )
        return ObjectiveError(
            f"objective={self.objective!r} is not in Keras' logs (they hold: {found}); "
            f"{hint}, or choose one of those as objective"
        )
