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
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from typing import Any

from hpdeco.records import TrialRecord, TrialState
from hpdeco.store.reading import _chunks, _values
from hpdeco.store.sql import SQLStore


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


def changed_trials(store: SQLStore, study_id: int, objective: str, since: Cursor) -> Changes:
    """Trials of the study numbered above ``since.number``, finished after ``since.seq``, or
    RUNNING now, by number, with their parameters and curves; the first poll
    (``Cursor()``) gets every trial.

    >>> first = changed_trials(store, study.id, study.objective, Cursor())
    >>> later = changed_trials(store, study.id, study.objective, first.cursor)
    """
    found = store._run(
        "SELECT id, number, finish_seq FROM trials WHERE study_id = ?"
        " AND (number > ? OR finish_seq > ? OR state = 'RUNNING') ORDER BY number",
        (study_id, since.number, since.seq),
    ).fetchall()
    # The cursor comes from this one query: a trial that finishes while its record is read
    # below is sent as RUNNING now and again, finished, on the next poll.
    cursor = Cursor(
        number=max([since.number, *(r[1] for r in found)]),
        seq=max([since.seq, *(r[2] for r in found if r[2] is not None)]),
    )
    records: list[TrialRecord] = []
    for chunk in _chunks([r[0] for r in found]):
        marks = ",".join("?" * len(chunk))
        rows = store._run(
            f"SELECT {store._TRIAL_COLUMNS} FROM trials WHERE id IN ({marks}) ORDER BY number",
            chunk,
        ).fetchall()
        records.extend(store._records(rows, objective))
    return Changes(records, cursor)


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


__all__ = ["Changes", "Cursor", "changed_trials", "complete_params", "trial_record"]
