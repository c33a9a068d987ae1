"""``hpdeco.search``: the context manager and loop that hands out trials."""

from __future__ import annotations

import gc
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from hpdeco.errors import ConfigError, ObjectiveError, TrialPruned, UsageError, warn
from hpdeco.objective import infer_direction
from hpdeco.pruners import Pruner, resolve_pruner
from hpdeco.samplers import Sampler, resolve_sampler
from hpdeco.space import Param, current_trial
from hpdeco.static import StaticSpace
from hpdeco.store import Store, open_store
from hpdeco.study import Study
from hpdeco.trial import Trial, TrialRecord, TrialState

logger = logging.getLogger("hpdeco")

TRIAL_VALUES = ("best", "last")


def _positive(name: str, value: Any, kind: type | tuple[type, ...], what: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        raise ConfigError(f"{name}={value!r} must be a positive {what} (or None)")


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

    Options (keyword only): ``objective`` (default ``"val_loss"``), ``direction`` ("max" or
    "min", inferred from the objective's name), ``max_trials`` (default 10; finished trials
    of earlier runs count), ``timeout`` (seconds), ``sampler``, ``pruner``, ``store`` (a
    path; default ``hpdeco.db``), ``study`` (a name; default the script's name), ``seed``,
    ``trial_value`` ("best" or "last" reported value), ``space`` (a tunable function, to
    check its space before the first trial) and ``verbose`` (0 quiet, 1 progress bar, 2 bar
    and a log line per trial).
    """

    def __init__(
        self,
        *,
        objective: str = "val_loss",
        direction: str | None = None,
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
    ) -> None:
        self.direction = infer_direction(objective, direction)
        self.objective = objective
        _positive("max_trials", max_trials, int, "int")
        _positive("timeout", timeout, (int, float), "number of seconds")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ConfigError(f"seed={seed!r} must be an int >= 0 (or None)")
        if trial_value not in TRIAL_VALUES:
            raise ConfigError(f"trial_value={trial_value!r} must be 'best' or 'last'")
        if verbose not in (0, 1, 2):
            raise ConfigError(f"verbose={verbose!r} must be 0 (quiet), 1 (bar) or 2 (bar + log)")
        if study is not None and (not isinstance(study, str) or not study):
            raise ConfigError(f"study={study!r} must be a non-empty name")
        static = getattr(space, "space", space)
        if static is not None and not isinstance(static, StaticSpace):
            raise ConfigError(f"space={space!r} must be a @hpdeco.tunable function or its .space")
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
        self._study: Study | None = None
        self._active: Trial | None = None
        self._token: Any = None
        self._iterating = False
        self._bar: Any = None
        self._started_at = 0.0

    # -- opening and closing ------------------------------------------------------------------

    def __enter__(self) -> Search:
        store = open_store(self._store_arg)
        settings = {"trial_value": self._trial_value}
        row = store.create_study(self._study_name, self.objective, self.direction, settings)
        if (row.objective, row.direction) != (self.objective, self.direction):
            raise ObjectiveError(
                f"study {row.name!r} in {store.path!r} optimises {row.objective!r} "
                f"({row.direction}), not objective={self.objective!r} ({self.direction}); "
                "pass study= a new name or the stored objective"
            )
        self._study = Study(store, row, sampler=self._sampler, pruner=self._pruner)
        self._study.settings.update(settings)
        lost = store.recover_lost(row.id)
        if lost:
            warn(
                f"study {row.name!r}: trials {lost} were left RUNNING by a process that has "
                "ended; they are marked FAIL (worker lost)",
            )
            self._study.refresh()
        if self._static is not None:
            self._study.declare_many(self._static.params.values())
        self._started_at = time.monotonic()
        return self

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
        if self._bar is not None:
            self._bar.close()
            self._bar = None
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
        self._open_bar()
        while True:
            trial = self._next_trial(study)
            if trial is None:
                return
            self._enter(trial)
            yield trial
            self._leave(None)

    def _next_trial(self, study: Study) -> Trial | None:
        if self.timeout is not None and time.monotonic() - self._started_at >= self.timeout:
            self.stopped_because = "timeout"
            return None
        study.refresh()
        exhausted = getattr(study.sampler, "exhausted", None)
        if exhausted is not None and exhausted(study):
            self.stopped_because = "the sampler has no configuration left"
            return None
        claimed = study.store.start_trial(study.id, self.max_trials)
        if claimed is None:
            self.stopped_because = "max_trials"
            return None
        return Trial(study, *claimed)

    def _enter(self, trial: Trial) -> None:
        self._active = trial
        self._token = current_trial.set(trial)
        if self._bar is not None:
            self._bar.set_postfix_str(self._postfix(trial.number), refresh=False)

    def _leave(self, error: BaseException | None) -> None:
        trial = self._active
        assert trial is not None
        self._active = None
        try:
            trial._finish(error)
        finally:
            try:
                current_trial.reset(self._token)
            except ValueError:  # reset from another context (e.g. a generator closed late)
                current_trial.set(None)
            if trial.uses_keras:
                _free_keras_memory()
        if self._bar is not None:
            self._bar.set_postfix_str(self._postfix(None), refresh=False)
            self._bar.update(1)
        if self.verbose >= 2 or (self.verbose and trial.state is TrialState.FAIL):
            self._log(trial)

    # -- progress -----------------------------------------------------------------------------

    def _open_bar(self) -> None:
        if not self.verbose:
            return
        from tqdm.auto import tqdm

        counts = self.study.store.count(self.study.id)
        done = sum(n for state, n in counts.items() if state.is_finished)
        self._bar = tqdm(
            total=self.max_trials,
            initial=done,
            desc=f"hpdeco {self.study.name}",
            unit="trial",
            dynamic_ncols=True,
            file=sys.stderr,
        )
        self._bar.set_postfix_str(self._postfix(None), refresh=False)

    def _postfix(self, running: int | None) -> str:
        best = self.study.best
        text = "best=-" if best is None else f"best={best.value:.4g} (#{best.number})"
        return text if running is None else f"{text} trial=#{running}"

    def _log(self, trial: Trial) -> None:
        value = trial.value
        shown = "" if value is None else f" {self.objective}={value:.6g}"
        level = logging.WARNING if trial.state is TrialState.FAIL else logging.INFO
        logger.log(
            level, "trial %d %s%s %s", trial.number, trial.state.value, shown, dict(trial.params)
        )

    # -- results ------------------------------------------------------------------------------

    @property
    def study(self) -> Study:
        if self._study is None:
            raise UsageError("the search has not started: use it as `with hpdeco.search(...)`")
        return self._study

    @property
    def best(self) -> TrialRecord | None:
        """The best COMPLETE trial so far (all runs of the study), or None."""
        return self.study.best

    @property
    def trials(self) -> list[TrialRecord]:
        """Every trial of the study, by number."""
        return self.study.trials

    @property
    def space(self) -> dict[str, Param]:
        """The parameters seen so far, as stored with the study."""
        return dict(self.study.space)

    def summary(self) -> str:
        return self.study.summary()

    def __str__(self) -> str:
        return self.summary() if self._study is not None else repr(self)

    def __repr__(self) -> str:
        return f"<Search study={self._study_name!r} objective={self.objective!r}>"


search = Search
"""``hpdeco.search(...)`` starts a search; see :class:`Search` for the options."""


def _free_keras_memory() -> None:
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.backend.clear_session()
    gc.collect()
