"""The Keras callbacks. This is the only module that imports keras.

``trial.callbacks(**options)`` returns ``[TrialCallback(trial, **options)]``: pass it to
``model.fit``. It uses only the Keras 3 callback API (``on_train_begin``, ``on_epoch_end``,
``on_train_end``, ``self.model``, ``self.params``, ``model.stop_training``,
``model.get_weights``/``set_weights``), so it works on every Keras backend.

Callbacks that keep state between epochs (Keras' ``EarlyStopping``, ``ReduceLROnPlateau``,
``ModelCheckpoint(save_best_only=True)``...) must not carry one trial's state into the
next. ``tune(callbacks=[...])`` gives every trial fresh deep copies of them. In the loop
form, create them inside the loop body, or pass ``hpdeco.callbacks.fresh(my_callbacks)``::

    for trial in search:
        model.fit(..., callbacks=[*trial.callbacks(), *hpdeco.callbacks.fresh(mine)])
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from typing import Any

import keras

from hpdeco.errors import ConfigError, ObjectiveError, UsageError
from hpdeco.space import current_trial
from hpdeco.trial import Trial
from hpdeco.validate import check_int, check_number


def _scalars(logs: dict[str, Any] | None) -> dict[str, float]:
    out = {}
    for name, value in (logs or {}).items():
        try:
            out[name] = float(value)
        except (TypeError, ValueError):
            continue  # Keras may log non-scalars (e.g. a learning-rate schedule object)
    return out


def fresh(callbacks: Iterable[Any]) -> list[Any]:
    """Deep copies of ``callbacks``, so that a trial starts from their initial state.

    Copy them before their first ``fit`` (a callback that has been used holds its model).
    """
    out = []
    for callback in callbacks:
        try:
            out.append(copy.deepcopy(callback))
        except Exception as exc:
            raise ConfigError(
                f"callbacks: {callback!r} cannot be copied for each trial ({type(exc).__name__}:"
                f" {exc}); create it inside the loop body instead, so that no state leaks "
                "from one trial into the next"
            ) from None
    return out


def _check_options(interval: Any, patience: Any, min_delta: Any) -> None:
    where = "trial.callbacks"
    check_int(where, "interval", interval, minimum=1)
    check_int(
        where,
        "patience",
        patience,
        minimum=1,
        optional=True,
        fix="epochs without improvement before stopping; None stops no trial early",
    )
    check_number(where, "min_delta", min_delta, minimum=0)


class TrialCallback(keras.callbacks.Callback):
    """Records every epoch's ``logs``, reports the objective, prunes, stops early, stops on
    a NaN loss, and keeps the best epoch's weights.

    Steps are epochs completed: the first epoch is step 1.

    - **Recording**: every epoch's scalar ``logs`` go to the store (all metrics).
    - **Pruning**: after an epoch that reports the objective, the trial's pruner is asked
      (every epoch, or with ``interval=k`` at the first such epoch at or past every k-th;
      epochs without validation, with ``validation_freq > 1``, report no objective and are
      skipped). When it says prune, ``fit`` ends cleanly (``model.stop_training``) and the
      trial is recorded PRUNED at that epoch. No exception reaches the training loop.
    - **Early stopping** (``patience=``): when the objective has not improved by more than
      ``min_delta`` for ``patience`` epochs that report it, ``fit`` ends and the trial is
      recorded COMPLETE, with the reason in ``trial.reason``.
    - **Best weights**: with ``restore_best_weights=True`` the model ends ``fit`` holding
      the weights of its best epoch. The search's ``keep_best`` gets the same weights (or
      the last epoch's, with ``trial_value="last"``).
    - **NaN**: a NaN or infinite loss (or objective) ends ``fit`` after that epoch and the
      trial is recorded FAIL with the reason; the search goes on.
    - **Costs**: when the study optimises or constrains ``params``, ``model_bytes`` or
      ``latency_ms``, they are measured (see :mod:`hpdeco.model_cost`); ``latency_data`` is
      the batch inference is timed on (default: random inputs of the model's shape).

    ``fit(epochs=N)`` also tells the trial its planned length (``trial.max_steps``), which
    :class:`~hpdeco.pruners.HyperbandPruner` uses.

    >>> model.fit(x, y, validation_data=(xv, yv), callbacks=trial.callbacks(patience=3))
    """

    def __init__(
        self,
        trial: Trial | None = None,
        *,
        interval: int = 1,
        patience: int | None = None,
        min_delta: float = 0.0,
        restore_best_weights: bool = False,
        latency_data: Any = None,
    ) -> None:
        super().__init__()
        if trial is None:
            trial = current_trial.get()  # type: ignore[assignment]
            if trial is None:
                raise UsageError(
                    "TrialCallback() outside a trial: pass trial=, or create it inside "
                    "`for trial in search:`"
                )
        _check_options(interval, patience, min_delta)
        self.trial = trial
        self.objective = trial.study.objective
        self.interval = interval
        self.patience = patience
        self.min_delta = float(min_delta)
        self.restore_best_weights = bool(restore_best_weights)
        self.latency_data = latency_data  # a batch to time inference on (latency_ms)
        self._seen_objective = False
        self._last_objective_step = 0
        self._best: float | None = None  # best objective so far (for weights)
        self._best_weights: tuple[int, list[Any]] | None = None
        self._last_weights: tuple[int, list[Any]] | None = None
        self._stop_best: float | None = None  # reference of early stopping
        self._stop_best_step = 0
        self._wait = 0
        self._keep_bar: float | None = None
        self._keep = 0

    # -- hooks --------------------------------------------------------------------------------

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        epochs = (self.params or {}).get("epochs")
        if isinstance(epochs, int) and epochs >= 1:
            self.trial.max_steps = epochs
        study = self.trial.study
        if "params" in study.followed and "params" not in self.trial._given:
            from hpdeco.model_cost import count_params

            self.trial.set_value("params", count_params(self.model))
        self._keep = int(study.settings.get("keep_best") or 0)
        if self._keep:
            from hpdeco.weights import ranked

            leaders = ranked(study)
            # Weights are copied only while the trial can still enter the best `keep`.
            if len(leaders) >= self._keep:
                self._keep_bar = leaders[self._keep - 1].value

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
        trial = self.trial
        trial.report(metrics, step)
        loss = metrics.get("loss")
        if loss is not None and not math.isfinite(loss):
            trial._fail_soon(f"loss was {loss} at epoch {step}")
        value = metrics.get(self.objective)
        if value is not None and math.isfinite(value):
            self._track(step, value)
            if self._early_stop(step, value):
                self.model.stop_training = True
        if trial._failure is not None:
            self.model.stop_training = True
            return
        if value is None:
            return
        previous, self._last_objective_step = self._last_objective_step, step
        due = step // self.interval > previous // self.interval
        if due and trial.should_prune():
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if not self._seen_objective:
            raise self._missing(_scalars(logs))
        trial = self.trial
        if self.restore_best_weights and self._best_weights is not None:
            self.model.set_weights(self._best_weights[1])
        if self._keep and trial._failure is None and trial._pruned_step is None:
            last = trial.study.settings.get("trial_value") == "last"
            kept = self._last_weights if last else self._best_weights
            if kept is not None:
                trial._weights = kept
        if trial._failure is None and trial._pruned_step is None:
            self._measure_costs()

    def _measure_costs(self) -> None:
        """Set the built-in costs the study optimises or constrains (hpdeco.model_cost)."""
        from hpdeco import model_cost

        wanted = self.trial.study.followed
        if "model_bytes" in wanted and "model_bytes" not in self.trial._given:
            self.trial.set_value("model_bytes", model_cost.saved_bytes(self.model))
        if "latency_ms" in wanted and "latency_ms" not in self.trial._given:
            latency = model_cost.latency_ms(self.model, self.latency_data)
            self.trial.set_value("latency_ms", latency)

    # -- helpers ------------------------------------------------------------------------------

    def _better(self, a: float, b: float | None) -> bool:
        return b is None or self.trial.study.is_better(a, b)

    def _track(self, step: int, value: float) -> None:
        """Copy the weights of the best epoch (and of the last, for trial_value='last')
        when something needs them."""
        can_keep = self._keep and (self._keep_bar is None or self._better(value, self._keep_bar))
        if self._better(value, self._best):
            self._best = value
            if self.restore_best_weights or can_keep:
                self._best_weights = (step, self.model.get_weights())
        if can_keep and self.trial.study.settings.get("trial_value") == "last":
            self._last_weights = (step, self.model.get_weights())

    def _early_stop(self, step: int, value: float) -> bool:
        if self.patience is None:
            return False
        sign = 1.0 if self.trial.study.direction == "max" else -1.0
        if self._stop_best is None or sign * (value - self._stop_best) > self.min_delta:
            self._stop_best, self._stop_best_step, self._wait = value, step, 0
            return False
        self._wait += 1
        if self._wait < self.patience:
            return False
        self.trial._stop_reason = (
            f"early stopping at epoch {step}: {self.objective} did not improve by more than "
            f"{self.min_delta:g} for {self.patience} epochs (best {self._stop_best:.6g} at "
            f"epoch {self._stop_best_step})"
        )
        return True

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


__all__ = ["TrialCallback", "fresh"]
