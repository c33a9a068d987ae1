"""What changed in a study since a reader last looked, for readers that poll (the dashboard).

A reader keeps a cursor of two numbers: the highest trial number it has seen and the highest
finish sequence (``trials.finish_seq``). Trial numbers and finish sequences are both handed
out under the store's write lock, so they grow in the order their transactions commit; a
trial whose number or finish sequence is above the cursor is new to the reader. Every
RUNNING trial is sent again on each poll (its epochs keep coming), whole: a running trial
holds a few hundred metric rows at most, and re-sending it needs no clock, so workers whose
clocks disagree cannot hide an epoch from the reader.

Every query here is a plain read outside any transaction (the stores run in autocommit), so
nothing is held between polls and a search writing meanwhile never waits on a reader.

:func:`changed_listing` reads the same trials for a page that lists thousands of them at
once: the curves come back as JSON text with values to 6 significant digits, built by
SQLite itself (one string per curve instead of a Python object per epoch), which is what
lets the dashboard's first load of 2,000 trials x 20 epochs answer quickly.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from typing import Any

from hpdeco.records import TrialRecord, TrialState
from hpdeco.store.reading import _chunks, _values, mean_curves
from hpdeco.store.sql import SQLStore
from hpdeco.store.sqlite import SQLiteStore


@dataclasses.dataclass(frozen=True)
class Cursor:
    """What a polling reader has seen: the highest trial number (-1: none) and the highest
    finish sequence (0: none)."""

    number: int = -1
    seq: int = 0


@dataclasses.dataclass(frozen=True)
class Changes:
    """The trials that are new, running, or finished since a cursor, and the next cursor."""

    trials: list[TrialRecord]
    cursor: Cursor


def _changed(
    store: SQLStore, study_id: int, since: Cursor, columns: str
) -> tuple[list[Sequence[Any]], Cursor]:
    """``columns`` (the second ``number``, the last ``finish_seq``) of the trials numbered
    above ``since.number``, finished after ``since.seq`` or RUNNING now, by number, and the
    next cursor. The cursor comes from this one query: a trial that finishes while its
    record is read afterwards is sent as RUNNING now and again, finished, on the next
    poll."""
    found = store._run(
        f"SELECT {columns} FROM trials WHERE study_id = ?"
        " AND (number > ? OR finish_seq > ? OR state = 'RUNNING') ORDER BY number",
        (study_id, since.number, since.seq),
    ).fetchall()
    cursor = Cursor(
        number=max([since.number, *(r[1] for r in found)]),
        seq=max([since.seq, *(r[-1] for r in found if r[-1] is not None)]),
    )
    return found, cursor


def changed_trials(store: SQLStore, study_id: int, objective: str, since: Cursor) -> Changes:
    """Trials of the study numbered above ``since.number``, finished after ``since.seq``, or
    RUNNING now, by number, with their parameters and curves; the first poll
    (``Cursor()``) gets every trial.

    >>> first = changed_trials(store, study.id, study.objective, Cursor())
    >>> later = changed_trials(store, study.id, study.objective, first.cursor)
    """
    found, cursor = _changed(store, study_id, since, "id, number, finish_seq")
    records: list[TrialRecord] = []
    for chunk in _chunks([r[0] for r in found]):
        marks = ",".join("?" * len(chunk))
        rows = store._run(
            f"SELECT {store._TRIAL_COLUMNS} FROM trials WHERE id IN ({marks}) ORDER BY number",
            chunk,
        ).fetchall()
        records.extend(store._records(rows, objective))
    return Changes(records, cursor)


@dataclasses.dataclass(frozen=True)
class Listed:
    """One trial as a page listing many reads it: what :class:`TrialRecord` holds but the
    traceback and the refit, and each curve as JSON text ``[[step, ...], [value, ...]]``
    with values to 6 significant digits (``null`` for NaN and infinities)."""

    number: int
    state: str
    value: float | None
    last_step: int | None
    reason: str | None
    started_at: float | None
    finished_at: float | None
    params: dict[str, Any]
    values: tuple[float | None, ...]  # one per objective (the value alone with one)
    violation: float | None
    run_values: dict[int, float | None]
    curves: dict[str, str]  # metric -> text: run 0's, or the mean over the runs
    runs: dict[int, dict[str, str]]  # run -> metric -> text, for a trial of several runs


@dataclasses.dataclass(frozen=True)
class Listing:
    trials: list[Listed]
    cursor: Cursor


def short(value: float | None) -> str:
    """A value as the listing's JSON writes it: ``%.6g`` (SQLite's printf gives the same),
    ``null`` for NaN (stored as NULL) and infinities."""
    if value is None or not math.isfinite(value):
        return "null"
    return f"{value:.6g}"


def changed_listing(store: SQLStore, study_id: int, since: Cursor) -> Listing:
    """What :func:`changed_trials` reads (the same trials and cursor, by number), with
    compact curves (see :class:`Listed`)."""
    found, cursor = _changed(
        store,
        study_id,
        since,
        "id, number, state, value, last_step, reason, started_at, finished_at, finish_seq",
    )
    ids = [r[0] for r in found]
    extras = store._extras(ids)
    params, run_values = extras.params, extras.run_values
    values, violations = extras.values, extras.violations
    texts: dict[int, dict[int, dict[str, str]]] = {i: {} for i in ids}  # id -> run -> metric
    for chunk in _chunks(ids):
        for trial_id, run, name, text in _curve_texts(store, chunk):
            texts[trial_id].setdefault(run, {})[name] = text
    # A trial of several runs (folds, executions) is drawn run by run, and its curves are
    # the mean over its runs, from the full values (as TrialRecord.metrics): read again,
    # for those trials only.
    several = [i for i in ids if len(texts[i]) > 1]
    means = _mean_texts(store, several) if several else {}
    listed = []
    for trial_id, number, state, value, last_step, reason, started, finished, _ in found:
        by_run = texts[trial_id]
        keep_runs = len(by_run) > 1 or bool(run_values[trial_id])
        listed.append(
            Listed(
                number=number,
                state=state,
                value=value,
                last_step=last_step,
                reason=reason,
                started_at=started,
                finished_at=finished,
                params=params[trial_id],
                values=_values(values[trial_id], value),
                violation=violations.get(trial_id),
                run_values=run_values[trial_id],
                curves=means[trial_id] if trial_id in means else by_run.get(0, {}),
                runs=dict(sorted(by_run.items())) if keep_runs else {},
            )
        )
    return Listing(listed, cursor)


def _curve_texts(store: SQLStore, ids: list[int]) -> list[tuple[int, int, str, str]]:
    """``(trial id, run, metric, "[[steps],[values]]")`` for each curve of these trials (the
    refit's left out). SQLite builds each text itself, from the metrics in key order; other
    stores send rows and Python writes the same text."""
    marks = ",".join("?" * len(ids))
    run = "run" if store.schema >= 3 else "0"  # before schema 3, every metric was run 0's
    where = f"trial_id IN ({marks})" + (" AND run >= 0" if store.schema >= 3 else "")
    order = f"trial_id, {run}, name, step"
    if isinstance(store, SQLiteStore):
        # The GROUP BY follows the primary key (trial_id, run, name, step), so SQLite walks
        # each curve in step order and group_concat joins its values in that order (3.40
        # has no ORDER BY inside an aggregate; a test reports steps out of order to hold
        # this to account). printf's %.6g writes what Python's does.
        group = f"trial_id, {run}, name" if store.schema >= 3 else "trial_id, name"
        rows = store._run(
            f"SELECT trial_id, {run}, name, group_concat(step), group_concat(CASE WHEN"
            " abs(value) <= 1.7976931348623157e308 THEN printf('%.6g', value) ELSE 'null' END)"
            f" FROM metrics WHERE {where} GROUP BY {group}",
            ids,
        ).fetchall()
        return [(t, r, name, f"[[{steps}],[{vals}]]") for t, r, name, steps, vals in rows]
    curves: dict[tuple[int, int, str], tuple[list[str], list[str]]] = {}
    for trial_id, r, name, step, value in store._run(
        f"SELECT trial_id, {run}, name, step, value FROM metrics WHERE {where} ORDER BY {order}",
        ids,
    ).fetchall():
        steps, vals = curves.setdefault((trial_id, r, name), ([], []))
        steps.append(str(step))
        vals.append(short(value))
    return [
        (t, r, name, f"[[{','.join(steps)}],[{','.join(vals)}]]")
        for (t, r, name), (steps, vals) in curves.items()
    ]


def _mean_texts(store: SQLStore, ids: list[int]) -> dict[int, dict[str, str]]:
    """Each trial's curves averaged over its runs (as :func:`mean_curves`), as texts."""
    runs: dict[int, dict[int, dict[str, dict[int, float]]]] = {i: {} for i in ids}
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        for trial_id, run, name, step, value in store._run(
            f"SELECT trial_id, run, name, step, value FROM metrics"
            f" WHERE trial_id IN ({marks}) AND run >= 0",
            chunk,
        ).fetchall():
            curve = runs[trial_id].setdefault(run, {}).setdefault(name, {})
            curve[step] = math.nan if value is None else value
    return {
        trial_id: {
            name: f"[[{','.join(map(str, points))}],[{','.join(map(short, points.values()))}]]"
            for name, points in mean_curves(by_run.values()).items()
        }
        for trial_id, by_run in runs.items()
    }


def complete_params(store: SQLStore, study_id: int) -> list[TrialRecord]:
    """The COMPLETE trials with a value, with their parameters, value per objective and
    constraint violation but no curves (what parameter importance, parallel coordinates
    and the Pareto front need), by number."""
    rows = store._run(
        "SELECT t.id, t.number, t.value, p.name, p.value FROM trials t LEFT JOIN params p"
        " ON p.trial_id = t.id WHERE t.study_id = ? AND t.state = ? AND t.value IS NOT NULL"
        " ORDER BY t.number, p.position",
        (study_id, TrialState.COMPLETE.value),
    ).fetchall()
    trials: dict[int, tuple[int, float]] = {}  # id -> (number, value)
    params: dict[int, dict[str, Any]] = {}
    for trial_id, number, value, name, raw in rows:
        trials[trial_id] = (number, value)
        drawn = params.setdefault(trial_id, {})
        if name is not None:
            drawn[name] = json.loads(raw)
    values: dict[int, dict[int, float | None]] = {i: {} for i in trials}
    violations: dict[int, float | None] = {}
    if store.schema >= 4:  # several objectives and constraints came with schema 4
        for chunk in _chunks(list(trials)):
            marks = ",".join("?" * len(chunk))
            for trial_id, index, value in store._run(
                f"SELECT trial_id, objective, value FROM trial_values WHERE trial_id IN ({marks})",
                chunk,
            ).fetchall():
                values[trial_id][index] = math.nan if value is None else value
            violations.update(
                store._run(
                    f"SELECT id, violation FROM trials WHERE id IN ({marks})"
                    " AND violation IS NOT NULL",
                    chunk,
                ).fetchall()
            )
    return [
        TrialRecord(
            number,
            TrialState.COMPLETE,
            params[i],
            value,
            {},
            {},
            values=_values(values[i], value),
            violation=violations.get(i),
        )
        for i, (number, value) in trials.items()
    ]


def trial_record(store: SQLStore, study_id: int, objective: str, number: int) -> TrialRecord | None:
    """One trial, with its traceback and every run's curves, or None if there is none."""
    rows: Sequence[Any] = store._run(
        f"SELECT {store._TRIAL_COLUMNS} FROM trials WHERE study_id = ? AND number = ?",
        (study_id, number),
    ).fetchall()
    return store._records(list(rows), objective)[0] if rows else None


__all__ = [
    "Changes",
    "Cursor",
    "Listed",
    "Listing",
    "changed_listing",
    "changed_trials",
    "complete_params",
    "short",
    "trial_record",
]
