"""A study: one objective, its space, and every trial, backed by the store.

``hpdeco.search`` runs one; :func:`load_study` opens one read-only for analysis.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from hpdeco.constraints import Constraints
from hpdeco.errors import ConfigError, SpaceError, StudyNotFound, warn
from hpdeco.objective import Objective
from hpdeco.records import TrialRecord, TrialState, best
from hpdeco.space import Param, param_from_dict
from hpdeco.store import Store, StudyRow, open_store

if TYPE_CHECKING:
    from hpdeco.pruners import Pruner
    from hpdeco.samplers import Sampler


class SpaceChangedWarning(UserWarning):
    """The code declares a parameter differently from the stored study (the space changed)."""


class Study:
    """The trials of one objective in one store, and the space they were drawn from."""

    def __init__(
        self,
        store: Store,
        row: StudyRow,
        *,
        sampler: Sampler | None = None,
        pruner: Pruner | None = None,
    ) -> None:
        from hpdeco.pruners import NoPruner

        self.store = store
        self.id = row.id
        self.name = row.name
        self.objective = row.objective
        self.direction = row.direction
        # Every objective (one unless the study has several; the first is ``objective``).
        self.objectives: tuple[Objective, ...] = tuple(
            Objective(n, d) for n, d in row.objectives
        ) or (Objective(row.objective, row.direction),)
        self.constraints = Constraints(None)  # the search that opens the study sets them
        self.settings: dict[str, Any] = dict(row.settings)
        self.space: dict[str, Param] = {n: param_from_dict(d) for n, d in row.space.items()}
        self.sampler = sampler
        self.pruner = pruner if pruner is not None else NoPruner()
        # Trials that failed in an earlier run for a reason that may not recur (not a
        # diverged configuration): samplers may try their configurations again, and they
        # do not use up max_trials. Set by the search that opens the study.
        self.rerun: frozenset[int] = frozenset()
        self.run_start = 0  # trials in ``finished`` before this run: the run's are after it
        self._declared: dict[str, Param] = {}
        self._finished: list[TrialRecord] = []
        self._seq = 0
        self.refresh()

    # -- direction ----------------------------------------------------------------------------

    def is_better(self, a: float, b: float) -> bool:
        """Whether value ``a`` beats value ``b`` in this study's direction."""
        return a > b if self.direction == "max" else a < b

    def best_of(self, values: Iterable[float]) -> float:
        return max(values) if self.direction == "max" else min(values)

    # -- trials -------------------------------------------------------------------------------

    def refresh(self) -> list[TrialRecord]:
        """Pull trials finished since the last refresh (by this or any other process)."""
        new, self._seq = self.store.finished_since(self.id, self.objective, self._seq)
        self._finished.extend(new)
        return new

    @property
    def finished(self) -> list[TrialRecord]:
        """Finished trials (COMPLETE, PRUNED, FAIL) in the order they finished, as of the last
        refresh. Samplers and pruners read this."""
        return self._finished

    def finished_record(self, number: int) -> TrialRecord | None:
        """Trial ``number``'s record if it has finished (as of the last refresh), else None."""
        return next((r for r in reversed(self._finished) if r.number == number), None)

    @property
    def trials(self) -> list[TrialRecord]:
        """Every trial of the study, running ones included, by number (read fresh)."""
        return self.store.trials(self.id, self.objective)

    @property
    def directions(self) -> list[str]:
        return [o.direction for o in self.objectives]

    @property
    def followed(self) -> frozenset[str]:
        """The values a trial keeps besides the first objective (other objectives, and
        those the constraints read)."""
        from hpdeco.multi import followed

        return followed(self)

    @property
    def best(self) -> TrialRecord | None:
        """The feasible COMPLETE trial with the best value (the lower number among equals),
        or None. With several objectives: the first of :attr:`best_trials`, the best on
        the first objective among the Pareto front."""
        if len(self.objectives) > 1:
            front = self.best_trials
            return front[0] if front else None
        self.refresh()
        return best(self._finished, self.direction)

    @property
    def best_trials(self) -> list[TrialRecord]:
        """The Pareto front: the feasible COMPLETE trials no other one dominates, best first
        on the first objective (see :mod:`hpdeco.pareto` for the rule on ties). With one
        objective, the best trial alone."""
        from hpdeco.pareto import pareto_front

        self.refresh()
        return pareto_front(self._finished, self.directions)

    def finish(
        self,
        trial_id: int,
        state: TrialState,
        value: float | None,
        step: int | None,
        reason: str | None,
        traceback: str | None,
        values: tuple[float | None, ...] = (),
        violation: float | None = None,
    ) -> None:
        if not self.store.finish_trial(
            trial_id, self.id, state, value, step, reason, traceback, values, violation
        ):
            warn(
                f"study {self.name!r}: a trial was already ended elsewhere (recovered as lost?);"
                f" its {state.value} result was not written",
            )

    def enqueue(self, params: dict[str, Any]) -> int:
        """Queue a trial with these values, checked against the space known so far; returns
        its number (see :meth:`hpdeco.Search.enqueue`)."""
        if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
            raise ConfigError(f"enqueue(params={params!r}) takes a dict of name -> value")
        space = self.space
        for name, value in params.items():
            param = space.get(name)
            if param is None and space:
                raise ConfigError(
                    f"enqueue(params={{{name!r}: {value!r}}}): no hyperparameter {name!r} in "
                    f"the space ({', '.join(map(repr, space))}); check the spelling"
                )
            if param is not None and not param.contains(value):
                raise ConfigError(
                    f"enqueue(params={{{name!r}: {value!r}}}): not a value of {name!r}, "
                    f"{type(param).__name__} {param.describe()}; pass a value inside it"
                )
            if param is None and not _storable(value):
                raise ConfigError(
                    f"enqueue(params={{{name!r}: {value!r}}}): a value must be an int, a "
                    "finite float, a str or a bool"
                )
        return self.store.enqueue(self.id, params)

    # -- the space ----------------------------------------------------------------------------

    def refresh_space(self) -> None:
        """Learn the parameters other workers declared since this study was opened (this
        run's own declarations stay as they are)."""
        row = self.store.study(self.name)
        if row is not None:
            for name, data in row.space.items():
                if name not in self.space:
                    self.space[name] = param_from_dict(data)

    def declare(self, param: Param) -> None:
        """Check ``param`` against what this run declared and record it in the stored space."""
        self.declare_many([param])

    def declare_many(self, params: Iterable[Param]) -> None:
        changed: list[str] = []
        added = False
        for param in params:
            known = self._declared.get(param.name)
            if known is not None:
                if known != param:
                    raise SpaceError(
                        f"hyperparameter {param.name!r} is declared twice with different "
                        f"specifications: {type(known).__name__} {known.describe()} and "
                        f"{type(param).__name__} {param.describe()} "
                        f"({'; '.join(known.changes(param))}); give each its own name"
                    )
                continue
            self._declared[param.name] = param
            stored = self.space.get(param.name)
            if stored == param:
                continue
            if stored is not None:
                changed.append(f"{param.name!r}: {', '.join(stored.changes(param))}")
            self.space[param.name] = param
            added = True
        if changed:
            warn(
                f"study {self.name!r}: the space changed since it was stored: "
                + "; ".join(changed)
                + ". Earlier trials keep their values; use a new study name to start afresh.",
                SpaceChangedWarning,
            )
        if added and not self.store.read_only:
            self.store.save_space(self.id, {n: p.to_dict() for n, p in self.space.items()})

    # -- reading ------------------------------------------------------------------------------

    def summary(self) -> str:
        """A few lines: the study, its trials by state, and the best trial."""
        counts = self.store.count(self.id)
        total = sum(counts.values())
        states = ", ".join(f"{s.value} {counts[s]}" for s in TrialState if counts.get(s))
        lines = [
            f"study {self.name!r} in {self.store.path}: {self.describe_objectives()}",
            f"trials: {total}" + (f" ({states})" if states else ""),
        ]
        if len(self.objectives) > 1:
            front = self.best_trials
            lines.append(
                f"Pareto front: {len(front)} trials"
                + (
                    f" ({', '.join(f'#{r.number}' for r in front[:10])}"
                    + (", ..." if len(front) > 10 else "")
                    + ")"
                    if front
                    else ""
                )
            )
        best = self.best
        if best is None:
            lines.append("best: none yet (no COMPLETE trial)")
        else:
            step = best.value_step(self.settings.get("trial_value"))
            where = f" at step {step}" if step is not None else ""
            if best.spread is not None:
                std, low, high = best.spread
                where = (
                    f", the mean of {len(best.run_values)} runs (std {std:.3g}, "
                    f"min {low:.6g}, max {high:.6g})"
                )
            lines.append(f"best: trial {best.number}, {self.objective}={best.value:.6g}{where}")
            lines.extend(f"  {name} = {value!r}" for name, value in best.params.items())
        return "\n".join(lines)

    def to_records(self, **options: Any) -> list[dict[str, Any]]:
        """Every trial as a plain dict (see :func:`hpdeco.analysis.to_records`).

        >>> study.to_records(states=["COMPLETE"])[0]["params"]
        """
        from hpdeco.analysis import to_records

        return to_records(self, **options)

    def trials_dataframe(self, **options: Any) -> Any:
        """Every trial as a pandas row (see :func:`hpdeco.analysis.trials_dataframe`).

        >>> study.trials_dataframe().sort_values("value").tail(3)
        """
        from hpdeco.analysis import trials_dataframe

        return trials_dataframe(self, **options)

    def close(self) -> None:
        """Release the study's store (its connection); reading it afterwards is an error.

        >>> with hpdeco.load_study("quickstart") as study:
        ...     print(study.summary())
        """
        self.store.close()

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<Study {self.name!r} {self.describe_objectives()} in {self.store.path}>"

    def describe_objectives(self) -> str:
        """``val_accuracy (max)``, or ``val_accuracy (max), params (min)``."""
        return ", ".join(f"{o.name} ({o.direction})" for o in self.objectives)


def load_study(name: str, *, store: str | os.PathLike[str] | Store | None = None) -> Study:
    """Open a stored study read-only, for analysis.

    >>> study = hpdeco.load_study("quickstart", store="hpdeco.db")
    >>> study.best.params
    """
    opened = open_store(store, read_only=True)
    row = opened.study(name)
    if row is None:
        names = [s.name for s in opened.studies()]
        raise StudyNotFound(
            f"study={name!r} is not in store {opened.path!r}; "
            + (f"it holds {', '.join(map(repr, names))}" if names else "it holds no study yet")
        )
    return Study(opened, row)


def _storable(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (int, str, bool))
