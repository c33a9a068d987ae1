"""Reading a store back: trials with their parameters, per-run curves and values, counts,
the overview of a study, and the values pruners compare. Every reader (the search, the
samplers and pruners, the command, the exports) goes through these queries; none takes a
write lock."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hpdeco.records import TrialRecord, TrialState
from hpdeco.store.schema import SCHEMA_VERSION

_CHUNK = 500  # trial ids per IN (...) list, well under any variable limit


@dataclasses.dataclass(frozen=True)
class StudyOverview:
    """What ``hpdeco studies`` shows of one study, read without loading its trials."""

    counts: dict[TrialState, int]  # trials by state, states present only
    best: tuple[int, float] | None  # (number, value) of the best COMPLETE trial
    last_activity: float | None  # the latest start or finish of any trial


@dataclasses.dataclass(frozen=True)
class TrialExtras:
    """Per trial id: its parameters, each run's value, its value per objective (several
    objectives) and its constraint violation (when it has one)."""

    params: dict[int, dict[str, Any]]
    run_values: dict[int, dict[int, float | None]]
    values: dict[int, dict[int, float | None]]
    violations: dict[int, float | None]


class Reading:
    """The read queries of a store; a backend supplies ``_run`` and ``schema``."""

    # The schema version of the store as opened: a store of an older one opened read-only
    # is read as it is (before version 3, every metric belongs to run 0 and no run table).
    schema = SCHEMA_VERSION
    _run: Any

    def count(self, study_id: int) -> dict[TrialState, int]:
        rows = self._run(
            "SELECT state, COUNT(*) FROM trials WHERE study_id = ? GROUP BY state", (study_id,)
        ).fetchall()
        return {TrialState(state): n for state, n in rows}

    def running_params(self, study_id: int) -> dict[int, dict[str, Any]]:
        """The parameters drawn so far by each RUNNING trial, by trial number."""
        rows = self._run(
            "SELECT t.number, p.name, p.value FROM trials t LEFT JOIN params p"
            " ON p.trial_id = t.id WHERE t.study_id = ? AND t.state = 'RUNNING'"
            " ORDER BY t.number, p.position",
            (study_id,),
        ).fetchall()
        running: dict[int, dict[str, Any]] = {}
        for number, name, value in rows:
            params = running.setdefault(number, {})
            if name is not None:
                params[name] = json.loads(value)
        return running

    # -- reading trials back ------------------------------------------------------------------

    _TRIAL_COLUMNS = (
        "id, number, state, value, last_step, reason, traceback, started_at, finished_at,"
        " finish_seq"
    )

    def finished_since(
        self, study_id: int, objective: str, seq: int
    ) -> tuple[list[TrialRecord], int]:
        """Trials finished after finish sequence ``seq``, in finishing order, and the new seq."""
        rows = self._run(
            f"SELECT {self._TRIAL_COLUMNS} FROM trials WHERE study_id = ? AND finish_seq > ?"
            " ORDER BY finish_seq",
            (study_id, seq),
        ).fetchall()
        if not rows:
            return [], seq
        return self._records(rows, objective), rows[-1][9]

    def overview(self, study_id: int, direction: str) -> StudyOverview:
        """Counts by state, the best COMPLETE trial (the lower number among equals, as
        ``hpdeco.records.ranked``) and the last activity, from three aggregate queries:
        listing the studies of a big store does not read every trial and metric."""
        found = dict(
            self._run(
                "SELECT state, COUNT(*) FROM trials WHERE study_id = ? GROUP BY state",
                (study_id,),
            ).fetchall()
        )
        counts = {s: int(found[s.value]) for s in TrialState if s.value in found}
        order = "DESC" if direction == "max" else "ASC"
        best = self._run(
            "SELECT number, value FROM trials WHERE study_id = ? AND state = ?"
            + (" AND (violation IS NULL OR violation <= 0)" if self.schema >= 4 else "")
            + f" AND value IS NOT NULL ORDER BY value {order}, number LIMIT 1",
            (study_id, TrialState.COMPLETE.value),
        ).fetchone()
        started, finished = self._run(
            "SELECT MAX(started_at), MAX(finished_at) FROM trials WHERE study_id = ?",
            (study_id,),
        ).fetchone()
        times = [t for t in (started, finished) if t is not None]
        return StudyOverview(
            counts=counts,
            best=None if best is None else (int(best[0]), float(best[1])),
            last_activity=max(times) if times else None,
        )

    def trials(self, study_id: int, objective: str) -> list[TrialRecord]:
        """Every trial of the study, by number."""
        rows = self._run(
            f"SELECT {self._TRIAL_COLUMNS} FROM trials WHERE study_id = ? ORDER BY number",
            (study_id,),
        ).fetchall()
        return self._records(rows, objective)

    def _records(self, rows: list[Sequence[Any]], objective: str) -> list[TrialRecord]:
        ids = [r[0] for r in rows]
        extras = self._extras(ids)
        runs: dict[int, dict[int, dict[str, dict[int, float]]]] = {i: {} for i in ids}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            run_column = "run" if self.schema >= 3 else "0"  # every metric was run 0's
            order = "trial_id, run, name, step" if self.schema >= 3 else "trial_id, name, step"
            for trial_id, run, name, step, value in self._run(
                f"SELECT trial_id, {run_column}, name, step, value FROM metrics"
                f" WHERE trial_id IN ({marks}) ORDER BY {order}",
                chunk,
            ).fetchall():
                curves = runs[trial_id].setdefault(run, {})
                curves.setdefault(name, {})[step] = math.nan if value is None else value
        params, run_values = extras.params, extras.run_values
        values, violations = extras.values, extras.violations
        records = []
        for r in rows:
            by_run = runs[r[0]]
            refit = by_run.pop(-1, None)
            metrics = by_run.get(0, {}) if len(by_run) <= 1 else mean_curves(by_run.values())
            records.append(
                TrialRecord(
                    number=r[1],
                    state=TrialState(r[2]),
                    params=params[r[0]],
                    value=r[3],
                    intermediate_values=metrics.get(objective, {}),
                    metrics=metrics,
                    last_step=r[4],
                    reason=r[5],
                    traceback=r[6],
                    started_at=r[7],
                    finished_at=r[8],
                    run_values=run_values[r[0]],
                    # A trial of several runs keeps each run's curves, even if it was
                    # stopped after its first.
                    run_metrics=by_run if len(by_run) > 1 or run_values[r[0]] else {},
                    refit=refit,
                    values=_values(values[r[0]], r[3]),
                    violation=violations.get(r[0]),
                )
            )
        return records

    def _extras(self, ids: list[int]) -> TrialExtras:
        """What a trial's record holds besides its row and curves, for trials ``ids``."""
        extras = TrialExtras(
            params={i: {} for i in ids},
            run_values={i: {} for i in ids},
            values={i: {} for i in ids},
            violations={},
        )
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for trial_id, name, value in self._run(
                f"SELECT trial_id, name, value FROM params WHERE trial_id IN ({marks})"
                " ORDER BY trial_id, position",
                chunk,
            ).fetchall():
                extras.params[trial_id][name] = json.loads(value)
            if self.schema < 3:
                continue
            for trial_id, run, value in self._run(
                f"SELECT trial_id, run, value FROM runs WHERE trial_id IN ({marks}) AND run >= 0"
                " ORDER BY trial_id, run",
                chunk,
            ).fetchall():
                extras.run_values[trial_id][run] = value
            if self.schema < 4:
                continue
            for trial_id, index, value in self._run(
                f"SELECT trial_id, objective, value FROM trial_values WHERE trial_id IN ({marks})",
                chunk,
            ).fetchall():
                extras.values[trial_id][index] = math.nan if value is None else value
            extras.violations.update(
                self._run(
                    f"SELECT id, violation FROM trials WHERE id IN ({marks})"
                    " AND violation IS NOT NULL",
                    chunk,
                ).fetchall()
            )
        return extras

    def values_at(self, study_id: int, name: str, step: int) -> dict[int, float]:
        """Every trial's value of metric ``name`` at ``step``, by trial number (for pruners):
        the mean over its runs (NaN when any run's value was NaN)."""
        rows = self._run(
            "SELECT t.number, CASE WHEN COUNT(m.value) < COUNT(*) THEN NULL ELSE AVG(m.value)"
            " END FROM metrics m JOIN trials t ON t.id = m.trial_id"
            " WHERE m.study_id = ? AND m.name = ? AND m.step = ?"
            + (" AND m.run >= 0" if self.schema >= 3 else "")
            + " GROUP BY t.number",
            (study_id, name, step),
        ).fetchall()
        return {number: (math.nan if value is None else value) for number, value in rows}


def mean_curves(
    runs: Iterable[Mapping[str, Mapping[int, float]]],
) -> dict[str, dict[int, float]]:
    """Each metric's mean over the runs at every step any run reached (NaN if a run's
    value there was NaN)."""
    sums: dict[str, dict[int, list[float]]] = {}
    for curves in runs:
        for name, curve in curves.items():
            for step, value in curve.items():
                sums.setdefault(name, {}).setdefault(step, []).append(value)
    return {
        name: {step: sum(values) / len(values) for step, values in sorted(steps.items())}
        for name, steps in sums.items()
    }


def _values(by_index: Mapping[int, float | None], value: float | None) -> tuple[float | None, ...]:
    """A trial's value per objective: the stored ones for several objectives, else its
    value alone (none when it has none)."""
    if by_index:
        return tuple(by_index.get(i) for i in range(max(by_index) + 1))
    return () if value is None else (value,)


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]
