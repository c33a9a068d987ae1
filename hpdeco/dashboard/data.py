"""The JSON the dashboard's page reads: studies, trials (with their curves) and one trial in
full. Only plain JSON goes out: NaN and infinities become ``null`` (``JSON.parse`` refuses
``NaN``), and every name and value is data for the page to show as text, never markup."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from hpdeco.analysis import IMPORTANCE_METHOD, param_importance
from hpdeco.errors import HpdecoError
from hpdeco.pareto import pareto_front
from hpdeco.records import TrialRecord
from hpdeco.space import param_from_dict
from hpdeco.store import StudyRow, redact
from hpdeco.store.changes import Changes, complete_params
from hpdeco.store.sql import SQLStore
from hpdeco.study import Study


def number(value: Any) -> Any:
    """``value`` as JSON can carry it: a non-finite float becomes None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def curve(points: Mapping[int, float]) -> list[list[Any]]:
    """``{step: value}`` as ``[[step, value], ...]`` by step (compact, ordered)."""
    return [[step, number(points[step])] for step in sorted(points)]


def curves(metrics: Mapping[str, Mapping[int, float]]) -> dict[str, list[list[Any]]]:
    return {name: curve(points) for name, points in metrics.items()}


def trial_json(record: TrialRecord) -> dict[str, Any]:
    """A trial as the study page draws it (no traceback: the trial page has it)."""
    out: dict[str, Any] = {
        "number": record.number,
        "state": record.state.value,
        "value": number(record.value),
        "params": {k: number(v) for k, v in record.params.items()},
        "last_step": record.last_step,
        "reason": record.reason,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "curves": curves(record.metrics),
    }
    if record.values:  # one per objective
        out["values"] = [number(v) for v in record.values]
    if record.violation is not None:  # the study has constraints: 0 when the trial meets them
        out["violation"] = number(record.violation)
    if record.run_metrics:
        # A trial of several runs (executions, folds): each run's own curves.
        out["runs"] = {str(run): curves(m) for run, m in sorted(record.run_metrics.items())}
        out["run_values"] = {str(k): number(v) for k, v in sorted(record.run_values.items())}
    return out


def objectives_of(row: StudyRow) -> list[list[str]]:
    """``[[name, direction], ...]``: the study's objectives (one, until a study has more)."""
    if row.objectives:
        return [[str(name), str(direction)] for name, direction in row.objectives]
    return [[row.objective, row.direction]]


def study_json(row: StudyRow, store: SQLStore) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "objective": row.objective,
        "direction": row.direction,
        "objectives": objectives_of(row),
        "space": row.space,
        "trial_value": row.settings.get("trial_value"),
        "store": redact(str(store.path)),
    }


def changes_json(row: StudyRow, store: SQLStore, changes: Changes) -> dict[str, Any]:
    return {
        "study": study_json(row, store),
        "trials": [trial_json(r) for r in changes.trials],
        "cursor": {"number": changes.cursor.number, "seq": changes.cursor.seq},
    }


class _Given(Study):
    """A study whose trials are the ones given: what :func:`param_importance` reads (its
    name, space and trials) without reading every curve of a big study again."""

    def __init__(self, row: StudyRow, trials: list[TrialRecord]) -> None:
        self.name = row.name
        self.space = {n: param_from_dict(d) for n, d in row.space.items()}
        self._given = trials

    @property
    def trials(self) -> list[TrialRecord]:
        return self._given


def analysis_json(row: StudyRow, store: SQLStore) -> dict[str, Any]:
    """What is derived from every COMPLETE trial: parameter importance and, with several
    objectives, the Pareto front (by :func:`hpdeco.pareto.pareto_front`'s one rule)."""
    trials = complete_params(store, row.id)
    out: dict[str, Any] = {"complete": len(trials), "front": None}
    objectives = objectives_of(row)
    if len(objectives) > 1:
        out["front"] = [r.number for r in pareto_front(trials, [d for _, d in objectives])]
    try:
        out["importance"] = param_importance(_Given(row, trials))
        out["method"] = IMPORTANCE_METHOD
    except HpdecoError as exc:  # fewer than 3 COMPLETE trials: say so on the page
        out["importance"], out["note"] = {}, str(exc)
    return out


def trial_page_json(row: StudyRow, store: SQLStore, record: TrialRecord) -> dict[str, Any]:
    """One trial in full: its curves, traceback and where its kept weights are."""
    from hpdeco.weights import weights_folder  # only the trial page needs it

    located = _Given(row, [])
    located.store, located.id = store, row.id
    folder = weights_folder(located)
    file = None if folder is None else folder / f"trial-{record.number}.npz"
    trial = trial_json(record)
    trial["traceback"] = record.traceback
    trial["value_step"] = record.value_step(row.settings.get("trial_value"))
    return {
        "study": study_json(row, store),
        "trial": trial,
        "weights": str(file) if file is not None and file.is_file() else None,
        "weights_folder": None if folder is None else str(folder),
    }


def dumps(data: Any) -> bytes:
    """Strict JSON (``allow_nan=False`` fails loudly on a NaN that slipped through)."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


__all__ = [
    "changes_json",
    "dumps",
    "analysis_json",
    "study_json",
    "trial_json",
    "trial_page_json",
]
