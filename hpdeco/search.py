"""``hpdeco.search``: the context manager and loop that hands out trials."""

from __future__ import annotations

import functools
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from hpdeco.constraints import Constraints
from hpdeco.errors import (
    ConfigError,
    ObjectiveError,
    TrialPruned,
    UsageError,
    warn,
)
from hpdeco.failures import FailureStreak
from hpdeco.interrupts import EXIT_STATUS, SigtermAsInterrupt
from hpdeco.memory import KerasMemory
from hpdeco.objective import parse_objectives
from hpdeco.progress import Progress, stop_line
from hpdeco.pruners import Pruner, resolve_pruner
from hpdeco.records import TrialRecord, TrialState
from hpdeco.samplers import DEFAULT_MULTI_SAMPLER, Sampler, resolve_sampler
from hpdeco.space import Param, current_trial, in_flight
from hpdeco.static import StaticSpace
from hpdeco.store import Store, open_store
from hpdeco.store.heartbeat import Heartbeat
from hpdeco.store.sql import AllTaken, Claim
from hpdeco.study import Study
from hpdeco.trial import Terminated, Trial
from hpdeco.validate import check_choice, check_int, check_number, fail
from hpdeco.weights import WeightKeeper, best_model, check_keep_best, ranked

logger = logging.getLogger("hpdeco")

TRIAL_VALUES = ("best", "last")
WAIT_FOR_WORKERS_S = 0.2  # poll interval while other workers hold every configuration left


def default_study_name() -> str:
    """The running script's name, or 'default' in a notebook or REPL."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path:
        return "default"
    file = Path(path)
    return file.parent.name if file.stem == "__main__" else file.stem  # python -m package


class Search:
    """A search: ``with hpdeco.search(objective="val_accuracy") as s: for trial in s: ...``.

    Options (keyword only): ``objective`` (default ``"val_loss"``; or a list of several, each
    a name or a ``(name, "min"|"max")`` pair: see :attr:`best_trials`), ``direction`` ("max"
    or "min", inferred from the objective's name), ``constraints`` (a dict such as
    ``{"params": ("<=", 1_000_000)}`` or a function of the trial's values; trials that
    break them are kept, marked infeasible, never best), ``max_trials`` (default 10; finished trials
    of earlier runs count), ``timeout`` (seconds), ``sampler``, ``pruner``, ``store`` (a
    path; default ``hpdeco.db``), ``study`` (a name; default the script's name), ``seed``,
    ``trial_value`` ("best" or "last" reported value), ``space`` (a tunable function, to
    check its space before the first trial), ``verbose`` (0 quiet, 1 progress bar and a
    closing line saying why the search stopped, 2 also a log line per trial), ``keep_best``
    (default 1: keep the trained weights of the best trial beside the store, for
    :meth:`best_model`; 0 keeps none), ``retries`` (default 0: how many times the
    configuration of a trial whose worker was lost is queued again) and
    ``max_consecutive_failures`` (default 3: stop with :class:`ConsecutiveFailures` when
    this many trials in a row fail with an error; None never stops).

    Failed and interrupted trials: within a run a FAIL counts toward ``max_trials`` like any
    trial. On the next run, trials that failed with an error, were interrupted or lost
    their worker no longer count, and their configurations may be tried again, so fixing
    the code and rerunning the same command carries on; trials whose training diverged
    (NaN) keep counting. A trial interrupted by Ctrl-C or SIGTERM is queued to run first
    next time.
    """

    def __init__(
        self,
        *,
        objective: str | Sequence[str | tuple[str, str]] = "val_loss",
        direction: str | Sequence[str | None] | None = None,
        constraints: Mapping[str, Any] | Callable[..., Any] | None = None,
        max_trials: int | None = 10,
        timeout: float | None = None,
        sampler: str | Sampler | Callable[..., Any] | None = None,
        pruner: str | Pruner | Callable[..., Any] | None = None,
        store: str | os.PathLike[str] | Store | None = None,
        study: str | None = None,
        seed: int | None = None,
        trial_value: str = "best",
        space: StaticSpace | Callable[..., Any] | None = None,
        verbose: int = 1,
        keep_best: int = 1,
        retries: int = 0,
        max_consecutive_failures: int | None = 3,
    ) -> None:
        self.objectives = parse_objectives(objective, direction)
        self.objective, self.direction = self.objectives[0]
        self.constraints = Constraints(constraints)
        if sampler is None and len(self.objectives) > 1:
            sampler = DEFAULT_MULTI_SAMPLER
        where = "hpdeco.search"
        check_int(where, "max_trials", max_trials, minimum=1, optional=True)
        check_number(where, "timeout", timeout, minimum=0, strict=True, optional=True)
        check_int(where, "seed", seed, optional=True)
        check_choice(where, "trial_value", trial_value, TRIAL_VALUES)
        check_choice(where, "verbose", verbose, (0, 1, 2), "0 quiet, 1 a bar, 2 a bar and a log")
        if study is not None and (not isinstance(study, str) or not study):
            raise fail(where, "study", study, "a non-empty name (or None: the script's name)")
        static = getattr(space, "space", space)
        if static is not None and not isinstance(static, StaticSpace):
            raise fail(where, "space", space, "a @hpdeco.tunable function or its .space")
        self.retries = check_int(where, "retries", retries)
        self.max_consecutive_failures = check_int(
            where, "max_consecutive_failures", max_consecutive_failures, minimum=1, optional=True
        )
        self._streak = FailureStreak(max_consecutive_failures)
        self._warned_empty = False
        self._budget = max_trials  # max_trials plus the earlier runs' rerun failures
        self._ran = 0  # trials this search ran
        self._sigterm = SigtermAsInterrupt()
        self.stop_message: str | None = None
        self.max_trials = max_trials
        self.timeout = timeout
        self.seed = seed
        self.verbose = verbose
        self.stopped_because: str | None = None
        self._sampler = resolve_sampler(sampler, seed=seed)
        self._pruner = resolve_pruner(pruner)
        self._store_arg = store
        self._study_name = study or default_study_name()
        self._trial_value = trial_value
        self._static = static
        self._build = space if callable(space) and static is not None else None
        self._built_by: dict[int, functools.partial[Any]] = {}  # trial number -> its build
        self.keep_best = check_keep_best(keep_best)
        self._keeper: WeightKeeper | None = None
        self._study: Study | None = None
        self._active: Trial | None = None
        self._token: Any = None
        self._iterating = False
        self._progress: Progress | None = None
        self._heartbeat: Heartbeat | None = None
        self._started_at = 0.0
        self._memory = KerasMemory()

    # -- opening and closing ------------------------------------------------------------------

    def __enter__(self) -> Search:
        store = open_store(self._store_arg)
        settings = {
            "trial_value": self._trial_value,
            "keep_best": self.keep_best,
            "seed": self.seed,
        }
        if self.constraints:
            settings["constraints"] = self.constraints.describe()
        several = self.objectives if len(self.objectives) > 1 else ()
        row = store.create_study(
            self._study_name, self.objective, self.direction, settings, several
        )
        stored = row.objectives or ((row.objective, row.direction),)
        if tuple(stored) != tuple(tuple(o) for o in self.objectives):
            raise ObjectiveError(
                f"study {row.name!r} in {store.path!r} optimises "
                f"{', '.join(f'{n!r} ({d})' for n, d in stored)}, not objective="
                f"{', '.join(f'{o.name!r} ({o.direction})' for o in self.objectives)}; "
                "pass study= a new name or the stored objective"
            )
        stored_value = row.settings.get("trial_value", self._trial_value)
        if stored_value != self._trial_value:
            raise ConfigError(
                f"trial_value={self._trial_value!r}: study {row.name!r} in {store.path!r} "
                f"scores its trials by their {stored_value!r} value; mixing both would make "
                f"its values incomparable: pass trial_value={stored_value!r} or a new study="
            )
        self._study = Study(store, row, sampler=self._sampler, pruner=self._pruner)
        self._study.constraints = self.constraints
        self._study.settings.update(settings)
        self._recover()
        study = self._study
        study.rerun = frozenset(
            r.number for r in study.finished if r.state is TrialState.FAIL and not r.diverged
        )
        study.run_start = len(study.finished)
        if self.max_trials is not None:
            self._budget = self.max_trials + len(study.rerun)
        if self._static is not None:
            self._study.declare_many(self._static.params.values())
        self._keeper = WeightKeeper(self._study, self.keep_best)
        self._heartbeat = Heartbeat.start(store)
        self._started_at = time.monotonic()
        self._sigterm.install()
        return self

    def _recover(self) -> None:
        """Mark FAIL the trials whose worker is gone, and queue retries of them."""
        study = self.study
        lost = study.store.recover_lost(study.id)
        if not lost:
            return
        retried = []
        for record in lost:
            earlier = sum(
                1
                for r in study.trials
                if r.retryable and r.params == record.params and r.number != record.number
            )
            if earlier < self.retries and record.params:
                retried.append(study.store.enqueue(study.id, record.params))
        warn(
            f"study {study.name!r}: trials {[r.number for r in lost]} were left RUNNING by a "
            "worker that is gone; they are marked FAIL (worker lost)"
            + (f" and retried as trials {retried}" if retried else "")
        )
        study.refresh()

    def enqueue(self, params: dict[str, Any]) -> int:
        """Queue a trial with these parameter values (others drawn as usual); the next trial
        any worker starts takes it. Returns its number.

        Values are checked against the space known so far (given with ``space=`` or stored
        by earlier trials): an unknown name or a value outside its parameter is refused.

        >>> search.enqueue({"lr": 1e-3, "units": 64})
        """
        return self.study.enqueue(params)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        """End the trial in flight: FAIL on an exception (which propagates), else as usual."""
        suppress = False
        if self._active is not None:
            if isinstance(exc, TrialPruned):
                warn(
                    "TrialPruned escaped the loop body, which ends the search; wrap the body in "
                    "`with trial:` to go on with the next trial",
                )
                suppress = True
            self._leave(exc)
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        self._memory.release()
        self._sigterm.restore()
        if self._progress is not None:
            if isinstance(exc, KeyboardInterrupt):
                self._progress.say(
                    f"interrupted after {self._ran} trials this run; run the same command "
                    "again to go on (the interrupted trial runs first)"
                )
            self._progress.close()
        if isinstance(exc, Terminated):
            raise SystemExit(EXIT_STATUS) from None  # exit as SIGTERM asked
        return suppress

    # -- the loop -----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Trial]:
        if self._study is None:
            raise UsageError(
                "iterate over a search inside its block: "
                "`with hpdeco.search(...) as search: for trial in search: ...`"
            )
        if self._iterating:
            raise UsageError("a search can be iterated once; start another search instead")
        self._iterating = True
        return self._trials()

    def _trials(self) -> Iterator[Trial]:
        study = self.study
        self._progress = Progress(study, verbose=self.verbose, total=self.max_trials)
        self._progress.open(self._counted(finished_only=True))
        while True:
            trial = self._next_trial(study)
            if trial is None:
                self.stop_message = stop_line(
                    study,
                    because=self.stopped_because,
                    ran=self._ran,
                    counted=self._counted(),
                    max_trials=self.max_trials,
                    timeout=self.timeout,
                )
                self._progress.say(self.stop_message)
                return
            self._enter(trial)
            yield trial
            self._leave(None)
            self._streak.ended(trial, study.finished_record(trial.number))

    def _counted(self, *, finished_only: bool = False) -> int:
        """Trials that use up max_trials: all but the earlier runs' rerun failures."""
        counts = self.study.store.count(self.study.id)
        counted: tuple[TrialState, ...] = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
        if not finished_only:
            counted += (TrialState.RUNNING,)
        return sum(counts.get(state, 0) for state in counted) - len(self.study.rerun)

    def _next_trial(self, study: Study) -> Trial | None:
        if self.timeout is not None and time.monotonic() - self._started_at >= self.timeout:
            self.stopped_because = "timeout"
            return None
        self._recover()
        study.refresh()
        claim = self._claim(study)
        if claim is None:  # stopped_because says why
            return None
        if self._heartbeat is not None:
            self._heartbeat.trial_id = claim.trial_id
        return Trial(study, claim.trial_id, claim.number, claim.params)

    def _claim(self, study: Study) -> Claim | None:
        """Start a trial in the store; None when the search is over (``stopped_because``
        says why). Waits while other workers hold every configuration left."""
        exhausted = getattr(study.sampler, "exhausted", None)
        planner = getattr(study.sampler, "plan", None)
        plan = None if planner is None else functools.partial(planner, study)
        while True:
            if exhausted is not None and exhausted(study):
                self.stopped_because = "the sampler has no configuration left"
                return None
            try:
                claim = study.store.start_trial(study.id, self._budget, plan)
            except AllTaken:
                if self.timeout is not None and (
                    time.monotonic() - self._started_at >= self.timeout
                ):
                    self.stopped_because = "timeout"
                    return None
                # Every configuration left is held by a running trial; each one either ends
                # or is recovered as lost once its heartbeat is stale, so this wait ends.
                # With none running, nothing is held: the sampler has nothing left.
                if not study.store.running_params(study.id):
                    study.refresh()
                    if planner is not None and planner(study, {}) is None:
                        self.stopped_because = "the sampler has no configuration left"
                        return None
                    continue
                time.sleep(WAIT_FOR_WORKERS_S)
                self._recover()
                study.refresh()
                continue
            if claim is None:
                self.stopped_because = "max_trials"
            return claim

    def _enter(self, trial: Trial) -> None:
        self._active = trial
        self._token = current_trial.set(trial)
        in_flight.append(trial)
        if self._progress is not None:
            self._progress.started(trial)

    def _leave(self, error: BaseException | None) -> None:
        trial = self._active
        assert trial is not None
        self._active = None
        self._ran += 1
        try:
            if trial in in_flight:
                in_flight.remove(trial)
            trial._finish(error)
            if isinstance(error, KeyboardInterrupt) and trial.params:
                # Run it again first next time, rather than never (its configuration says
                # nothing yet).
                self.study.store.enqueue(self.study.id, dict(trial.params))
            if trial.built_by is not None:
                self._built_by[trial.number] = trial.built_by
            if self._keeper is not None:
                self._keeper.trial_finished(trial)
        finally:
            try:
                current_trial.reset(self._token)
            except ValueError:  # reset from another context (e.g. a generator closed late)
                current_trial.set(None)
            if trial.uses_keras:
                self._memory.after_trial()
        if self._progress is not None:
            self._progress.ended(trial)
        self._check_drew_nothing(trial)

    def _check_drew_nothing(self, trial: Trial) -> None:
        """Warn once when a trial ended without drawing any parameter the space lists: the
        search would repeat one configuration (an hp.* call in a default argument, say,
        runs once when the function is defined)."""
        if trial.params or trial.state is TrialState.FAIL or self._warned_empty:
            return
        listed = [n for n, p in self.study.space.items() if p.kind != "fixed"]
        if listed:
            self._warned_empty = True
            warn(
                f"trial {trial.number} drew no hyperparameter, though the space lists "
                f"{', '.join(map(repr, listed))}: is each hp.* call reached while the trial "
                "runs? (one in a default argument runs once, when the function is defined)"
            )

    # -- results ------------------------------------------------------------------------------

    @property
    def study(self) -> Study:
        if self._study is None:
            raise UsageError("the search has not started: use it as `with hpdeco.search(...)`")
        return self._study

    @property
    def best(self) -> TrialRecord | None:
        """The best feasible COMPLETE trial so far (all runs of the study), or None. With
        several objectives: the best on the first objective among :attr:`best_trials`."""
        return self.study.best

    @property
    def best_trials(self) -> list[TrialRecord]:
        """The Pareto front of a study of several objectives: the feasible COMPLETE trials
        that no other one dominates, best first on the first objective (equal values on
        every objective: the lowest-numbered only). With one objective, ``[best]``."""
        return self.study.best_trials

    @property
    def trials(self) -> list[TrialRecord]:
        """Every trial of the study, by number."""
        return self.study.trials

    @property
    def space(self) -> dict[str, Param]:
        """The parameters seen so far, as stored with the study."""
        return dict(self.study.space)

    def best_model(
        self, build: Callable[..., Any] | None = None, *, rank: int = 0, sample: Any = None
    ) -> Any:
        """The best COMPLETE trial's model, trained: rebuilt by ``build`` with the trial's
        parameters, with the weights of its best epoch kept by ``keep_best``. ``rank=1``
        gives the second best (with ``keep_best >= 2``). A model that has no weights until
        it sees data (no ``keras.Input``, or subclassed) is first called on ``sample``, a
        batch of inputs such as ``x[:1]``.

        ``build`` defaults to the tunable function given as ``space=`` (as ``tune()`` does),
        else to the ``@tunable`` function that trial called, with the arguments it passed
        (the first one, when it called several). For a trial of an earlier run, that is the
        function this run's trials called, if they all called the same one."""
        build = build or self._build or self._build_of(rank)
        return best_model(self.study, build, self._keeper, rank=rank, sample=sample)

    def _build_of(self, rank: int) -> functools.partial[Any] | None:
        if not self._built_by:
            return None
        trials = ranked(self.study)
        if isinstance(rank, int) and 0 <= rank < len(trials):
            own = self._built_by.get(trials[rank].number)
            if own is not None:
                return own
        functions = {id(built.func) for built in self._built_by.values()}
        return next(iter(self._built_by.values())) if len(functions) == 1 else None

    def refit(self, x: Any = None, y: Any = None, *, epochs: int = 10, **fit_kwargs: Any) -> Any:
        """Build the best configuration, train it on ``x``, ``y`` (typically all the data,
        folds included) for ``epochs`` and return the model; the refit is recorded in the
        store with the best trial. The model-building function is found as for
        :meth:`best_model` (or pass ``build=``); other arguments go to ``model.fit``.

        >>> model = search.refit(x, y, epochs=20, batch_size=64)
        """
        from hpdeco.refit import refit

        fn = fit_kwargs.pop("build", None) or self._build or self._build_of(0)
        if fn is None:
            raise UsageError(
                "refit() needs the model-building function: pass refit(x, y, build=build_model)"
                ", give the search space=build_model (tune() does), or build the trials' "
                "models with a @hpdeco.tunable function"
            )
        return refit(self.study, fn, x, y, epochs=epochs, **fit_kwargs)

    def summary(self) -> str:
        return self.study.summary()

    def close(self) -> None:
        """Release the store this search opened (a store object passed in stays open).
        The store stays open after the ``with`` block so that ``best``, ``trials`` and
        ``best_model()`` can read it; close it when done, or let it be collected."""
        if self._study is not None and not isinstance(self._store_arg, Store):
            self._study.close()

    def to_records(self, **options: Any) -> list[dict[str, Any]]:
        """Every trial as a plain dict (see :func:`hpdeco.analysis.to_records`)."""
        return self.study.to_records(**options)

    def trials_dataframe(self, **options: Any) -> Any:
        """Every trial as a pandas row (see :func:`hpdeco.analysis.trials_dataframe`)."""
        return self.study.trials_dataframe(**options)

    def __str__(self) -> str:
        return self.summary() if self._study is not None else repr(self)

    def __repr__(self) -> str:
        return f"<Search study={self._study_name!r} objective={self.objective!r}>"


search = Search
"""``hpdeco.search(...)`` starts a search; see :class:`Search` for the options."""
