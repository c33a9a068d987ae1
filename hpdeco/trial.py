"""The live handle a search hands out for each trial (``Trial``). The frozen row it leaves
behind (``TrialRecord``) and the states live in :mod:`hpdeco.records`, which the store
imports without depending on this module."""

from __future__ import annotations

import functools
import math
import traceback as tb
from collections.abc import Iterator, Mapping
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any

from hpdeco.errors import TrialPruned, UsageError, warn
from hpdeco.records import (
    DIVERGED_REASONS,
    INTERRUPTED,
    RETRYABLE_REASONS,
    TERMINATED,
    WORKER_LOST,
    TrialRecord,
    TrialState,
)
from hpdeco.space import Param

__all__ = [
    "DIVERGED_REASONS",
    "INTERRUPTED",
    "RETRYABLE_REASONS",
    "TERMINATED",
    "WORKER_LOST",
    "Terminated",
    "Trial",
    "TrialRecord",
    "TrialState",
]

if TYPE_CHECKING:
    from hpdeco.runs import Run
    from hpdeco.study import Study


class Terminated(KeyboardInterrupt):
    """Raised in the main thread by the SIGTERM handler a search installs, so the running
    trial is recorded as interrupted (and queued again) instead of lost."""


def _finite(value: float) -> bool:
    return math.isfinite(value)


class Trial:
    """One configuration being trained. Handed out by ``for trial in search``.

    >>> with hpdeco.search(objective="score", store=":memory:", verbose=0) as search:
    ...     for trial in search:
    ...         trial.report(hp.Float("x", 0, 1) ** 2, step=1)
    """

    def __init__(
        self, study: Study, trial_id: int, number: int, fixed: Mapping[str, Any] | None = None
    ) -> None:
        self.study = study
        self.number = number
        self._id = trial_id
        self._fixed = dict(fixed or {})  # values given by enqueue() or a retry
        self._params: dict[str, Any] = {}
        self._specs: dict[str, Param] = {}
        self._intermediate: dict[int, float] = {}
        self._value: float | None = None
        self._pruned_step: int | None = None
        self._failure: str | None = None
        self._last_step = 0
        self.state = TrialState.RUNNING
        self.uses_keras = False
        # Steps a full run takes (fit's epochs; set by the Keras callback, or by hand):
        # HyperbandPruner reads it when not given max_resource.
        self.max_steps: int | None = None
        self._stop_reason: str | None = None  # why a COMPLETE trial stopped (early stopping)
        self.error: BaseException | None = None  # the exception that ended it, if any
        self._weights: tuple[int, list[Any]] | None = None  # (step, weights) for keep_best
        # Several runs (executions or folds; hpdeco.runs): the current one (whose curve is
        # _intermediate; the others' are in the store), each run's value, and the best
        # run's kept weights.
        self._run = 0
        self._runs_total: int | None = None
        self._run_values: dict[int, float | None] = {}
        self._best_run_weights: tuple[int, list[Any]] | None = None
        self._prune_reason: str | None = None
        # Several objectives or constraints (hpdeco.multi): values set by name, the current
        # run's curves of the other followed names, and each ended run's values.
        self._given: dict[str, float] = {}
        self._curves: dict[str, dict[int, float]] = {}
        self._run_named: dict[int, dict[str, float | None]] = {}
        # The first @tunable call of the trial, arguments bound: best_model() rebuilds with
        # it. The first, not the last, so a tunable calling other tunables is the one kept.
        self.built_by: functools.partial[Any] | None = None

    # -- what the trial tried ---------------------------------------------------------------

    @property
    def id(self) -> int:
        """The trial's row id in the store (its ``number`` is what people read)."""
        return self._id

    @property
    def fixed(self) -> dict[str, Any]:
        """The values this trial was handed when it started (queued, or a retry's)."""
        return dict(self._fixed)

    @property
    def params(self) -> Mapping[str, Any]:
        """The parameters this trial has reached so far, in the order they were drawn."""
        return MappingProxyType(self._params)

    @property
    def intermediate_values(self) -> Mapping[int, float]:
        """Objective value per reported step."""
        return MappingProxyType(self._intermediate)

    def _suggest(self, param: Param) -> Any:
        if self.state is not TrialState.RUNNING:
            raise UsageError(
                f"hp.{type(param).__name__}({param.name!r}) was called on trial {self.number}, "
                f"which is {self.state.value}; draw parameters inside the loop body"
            )
        known = self._specs.get(param.name)
        if known is not None:
            if known != param:
                self.study.declare(param)  # raises the conflict with both specifications
            return self._params[param.name]
        self.study.declare(param)
        if param.kind == "fixed":
            value = param.default
        elif param.name in self._fixed and param.contains(self._fixed[param.name]):
            value = self._fixed[param.name]
        else:
            if param.name in self._fixed:
                warn(
                    f"trial {self.number}: the queued value {self._fixed[param.name]!r} of "
                    f"{param.name!r} is not a value of {param.describe()} (the space changed "
                    "since it was queued?); a new value is drawn"
                )
            sampler = self.study.sampler
            if sampler is None:  # a study opened for reading has no sampler
                raise UsageError(f"study {self.study.name!r} was opened to read: it draws nothing")
            value = sampler.suggest(param, self)
            if not param.contains(value):
                raise UsageError(
                    f"sampler {self.study.sampler!r} returned {value!r} for {param.name!r}, "
                    f"outside {param.describe()}; a sampler must return a value of the parameter"
                )
        self._specs[param.name] = param
        self._params[param.name] = value
        self.study.store.set_param(self._id, len(self._params) - 1, param.name, value)
        return value

    # -- reporting and pruning --------------------------------------------------------------

    def report(self, value: float | Mapping[str, float], step: int | None = None) -> None:
        """Record the objective's ``value`` at ``step`` (default: the next step).

        ``value`` may also be a mapping of several metrics (such as Keras' ``logs``); the
        objective is then read from it. All of them are stored. Reporting a step twice
        keeps the first value and warns. A NaN or infinite objective fails the trial (its
        ``should_prune()`` then answers True so the training loop stops).
        """
        self._require_running("report")
        if step is None:
            step = self._last_step + 1
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise UsageError(f"report(step={step!r}): step must be an int >= 0, e.g. the epoch")
        objective = self.study.objective
        metrics = dict(value) if isinstance(value, Mapping) else {objective: value}
        try:
            metrics = {str(k): float(v) for k, v in metrics.items()}
        except (TypeError, ValueError) as exc:
            raise UsageError(f"report(value={value!r}): values must be numbers ({exc})") from None
        if step in self._intermediate:
            warn(
                f"trial {self.number} reported step {step} twice; the first value is kept",
            )
            return
        self.study.store.record(self._id, self.study.id, step, metrics, self._run)
        self._last_step = max(self._last_step, step)
        for name in self.study.followed.intersection(metrics):
            self._curves.setdefault(name, {})[step] = metrics[name]
        if objective not in metrics:
            return
        objective_value = metrics[objective]
        self._intermediate[step] = objective_value
        if not _finite(objective_value) and self._failure is None:
            self._failure = f"objective {objective!r} was {objective_value} at step {step}"

    def _fail_soon(self, reason: str) -> None:
        """Mark the trial to end as FAIL once the training loop stops (NaN loss)."""
        if self._failure is None:
            self._failure = reason

    def should_prune(self) -> bool:
        """Whether the pruner wants this trial stopped now. True sticks: the trial will be
        recorded PRUNED at the step it was answered."""
        self._require_running("should_prune")
        if self._failure is not None:
            return True
        if self._pruned_step is not None:
            return True
        if not self._intermediate:
            return False
        from hpdeco.multi import for_pruner

        if self.study.pruner.should_prune(for_pruner(self, self._given)):
            self._pruned_step = max(self._intermediate)
            return True
        return False

    @property
    def value(self) -> float | None:
        """The trial's value: set explicitly, else the best (or last) reported objective;
        with several runs, the mean of the runs' values."""
        if self._value is not None:
            return self._value
        if self._runs_total is not None:
            values = [v for v in self._run_values.values() if v is not None and _finite(v)]
            return sum(values) / len(values) if values else None
        return self._curve_value(self._intermediate)

    @value.setter
    def value(self, value: float) -> None:
        self._require_running("value =")
        value = float(value)
        if not _finite(value):
            self._fail_soon(f"value was set to {value}")
        self._value = value

    def set_value(self, name: str, value: float) -> None:
        """Set the trial's value of ``name``: one of the study's objectives, or a value its
        constraints read. Setting the first objective is ``trial.value = value``.

        >>> trial.set_value("latency_ms", measured)
        """
        self._require_running("set_value")
        if not isinstance(name, str) or not name:
            raise UsageError(f"set_value(name={name!r}): name must be an objective's name")
        if name == self.study.objective:
            self.value = value
            return
        known = self.study.followed
        # A constraint function may read any value set by name.
        if name not in known and self.study.constraints.function is None:
            raise UsageError(
                f"set_value(name={name!r}): not an objective or a constrained value of study "
                f"{self.study.name!r}; it has "
                + ", ".join(map(repr, [self.study.objective, *sorted(known)]))
            )
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise UsageError(
                f"set_value({name!r}, {value!r}): the value must be a number"
            ) from None
        self._given[name] = number

    def _value_step(self, curve: Mapping[int, float]) -> int | None:
        """The step whose value is the run's value: the first that reached the best finite
        value, or the last finite one with ``trial_value="last"``; None when none is."""
        finite = {s: v for s, v in curve.items() if _finite(v)}
        if not finite:
            return None
        if self.study.settings.get("trial_value") == "last":
            return max(finite)
        target = self.study.best_of(finite.values())
        return min(s for s, v in finite.items() if v == target)

    def _named_values(self, first: float | None) -> dict[str, float | None]:
        """The current run's value of the first objective and every followed name, all
        read at the step that gave the run its value (where it was pruned, if it was)."""
        from hpdeco.multi import values_at

        curve = self._intermediate
        pruned = self._pruned_step
        step = pruned if pruned is not None and pruned in curve else self._value_step(curve)
        return values_at(self.study, first, self._curves, self._given, step)

    def _curve_value(self, curve: Mapping[int, float]) -> float | None:
        step = self._value_step(curve)
        return None if step is None else curve[step]

    def runs(
        self,
        executions: int | None = None,
        *,
        cv: Any = None,
        x: Any = None,
        y: Any = None,
        prune: bool | None = None,
    ) -> Iterator[Run]:
        """Run the configuration several times: ``executions`` times on the same data, or
        once per fold of ``cv`` (an int: stratified K-fold for class labels, plain K-fold
        otherwise, shuffled with the search's seed; or a scikit-learn splitter) over
        ``x``, ``y``. The trial's value is the mean of the runs' values.

        ``prune`` (default: on unless the pruner is ``"none"``) stops the trial between
        runs when those done cannot reach the best trial's on the same runs.

        >>> for run in trial.runs(cv=5, x=x, y=y):
        ...     model = build_model()
        ...     model.fit(run.x, run.y, validation_data=run.validation_data,
        ...               callbacks=run.callbacks())
        """
        from hpdeco.runs import check_not_started, runs

        check_not_started(self)
        return runs(self, executions, cv=cv, x=x, y=y, prune=prune)

    def _begin_run(self, index: int, total: int) -> None:
        self._runs_total = total
        self._run = index
        if index > 0:
            self._intermediate = {}
            self._curves = {}
        self._last_step = 0
        self._weights = None

    def _end_run(self, fold: int | None) -> None:
        """Record the run that just ended: its value, and its weights if it is the best."""
        index = self._run
        value = self._curve_value(self._intermediate)
        self._run_values[index] = value
        if self.study.followed or self.study.constraints:
            self._run_named[index] = self._named_values(value)
        step = max(self._intermediate) if self._intermediate else None
        self.study.store.finish_run(self._id, self.study.id, index, fold, value, step)
        if self._weights is not None and value is not None:
            others = [v for k, v in self._run_values.items() if k != index and v is not None]
            if not others or all(not self.study.is_better(v, value) for v in others):
                self._best_run_weights = self._weights
        self._weights = self._best_run_weights

    def _stopping(self) -> bool:
        """Whether the trial is ending (pruned, failed), so no further run should start."""
        return self._pruned_step is not None or self._failure is not None

    def _prune_between_runs(self, reason: str) -> None:
        self._prune_reason = reason
        self._pruned_step = max(self._intermediate) if self._intermediate else 0

    def callbacks(self, **options: Any) -> list[Any]:
        """The Keras callbacks for ``model.fit``: record every epoch's logs, prune, stop on NaN.

        ``options`` go to :class:`hpdeco.callbacks.TrialCallback`.
        """
        from hpdeco.callbacks import TrialCallback  # keras is imported only here

        self.uses_keras = True
        return [TrialCallback(self, **options)]

    def _require_running(self, what: str) -> None:
        if self.state is not TrialState.RUNNING:
            raise UsageError(
                f"trial {self.number}.{what}: the trial is already {self.state.value}; "
                "call it inside the loop body, before the next trial starts"
            )

    # -- ending -----------------------------------------------------------------------------

    def _finish(self, error: BaseException | None = None) -> None:
        """Write the trial's final state; does nothing when it already ended."""
        if self.state is not TrialState.RUNNING:
            return
        reason = trace = None
        value = self.value
        if isinstance(error, TrialPruned) or (error is None and self._pruned_step is not None):
            if self._failure is not None:
                state, reason = TrialState.FAIL, self._failure
            else:
                state = TrialState.PRUNED
                reason = str(error) if error is not None and str(error) else None
                reason = reason or self._prune_reason
        elif error is not None:
            state = TrialState.FAIL
            if isinstance(error, KeyboardInterrupt):
                reason = TERMINATED if isinstance(error, Terminated) else INTERRUPTED
            else:
                reason = f"{type(error).__name__}: {error}"
            trace = "".join(tb.format_exception(type(error), error, error.__traceback__))
        elif self._failure is not None:
            state, reason = TrialState.FAIL, self._failure
        elif value is None:
            state = TrialState.FAIL
            reason = (
                f"no value for the objective {self.study.objective!r}: pass "
                "callbacks=trial.callbacks() to model.fit(), call trial.report(value, step), "
                "or set trial.value"
            )
        else:
            state, reason = TrialState.COMPLETE, self._stop_reason
        step = max(self._intermediate) if self._intermediate else None
        if state is TrialState.PRUNED and self._runs_total is not None:
            pass  # the mean of the runs it did (the last one up to where it was stopped)
        elif state is TrialState.PRUNED:
            # A pruned trial's value is its last reported value, at the step it was stopped.
            step = self._pruned_step if self._pruned_step is not None else step
            last = self._intermediate.get(step) if step is not None else None
            value = last if last is not None and _finite(last) else None
        elif state is TrialState.FAIL:
            value = None
        values: tuple[float | None, ...] = ()
        violation = None
        if state is not TrialState.FAIL and (self.study.followed or self.study.constraints):
            from hpdeco import multi

            named = (
                multi.mean_values(list(self._run_named.values()))
                if self._run_named
                else self._named_values(None)
            )
            named[self.study.objective] = value
            values = multi.objective_values(self.study, named)
            violation = multi.violation(self.study, named)
        self.state = state
        self.error = error
        self.study.finish(self._id, state, value, step, reason, trace, values, violation)

    def _adopt(self, record: TrialRecord) -> None:
        """Take the end another process wrote for this trial (``isolate=True``)."""
        self.state = record.state
        self._intermediate = dict(record.intermediate_values)
        self._params = dict(record.params)
        self._value = record.value

    def __enter__(self) -> Trial:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        """An exception inside ``with trial:`` ends this trial (FAIL, or PRUNED for
        ``TrialPruned``) and the search goes on; set-up mistakes and interrupts propagate."""
        if exc is None:
            return False
        self._finish(exc)
        if isinstance(exc, UsageError) or not isinstance(exc, Exception):
            return False
        return True

    def __repr__(self) -> str:
        return f"<Trial {self.number} {self.state.value} {dict(self._params)!r}>"
