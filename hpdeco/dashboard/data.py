"""The JSON the dashboard's page reads: studies, trials (with their curves) and one trial in
full. Only plain JSON goes out: NaN and infinities become ``null`` (``JSON.parse`` refuses
``NaN``), and every name and value is data for the page to show as text, never markup."""

from __future__ import annotations

import functools
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
from hpdeco.store.changes import Listed, Listing, complete_params
from hpdeco.store.sql import SQLStore
from hpdeco.study import Study


def number(value: Any) -> Any:
    """``value`` as JSON can carry it: a non-finite float becomes None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def curve(points: Mapping[int, float]) -> list[list[Any]]:
    """``{step: value}`` as ``[[step, ...], [value, ...]]`` by step: two flat arrays, as the
    study's listing sends them (see :func:`listing_json`)."""
    steps = sorted(points)
    return [steps, [number(points[step]) for step in steps]]


def curves(metrics: Mapping[str, Mapping[int, float]]) -> dict[str, list[list[Any]]]:
    return {name: curve(points) for name, points in metrics.items()}


def trial_json(record: TrialRecord) -> dict[str, Any]:
    """A trial in full, as the trial page shows it (with every value as stored)."""
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


def listed_text(trial: Listed) -> str:
    """One trial of the study's listing as JSON text: its fields as :func:`trial_json`
    writes them (no traceback), its curves as the store wrote their text, spliced in
    unparsed (values to 6 significant digits)."""
    head: dict[str, Any] = {
        "number": trial.number,
        "state": trial.state,
        "value": number(trial.value),
        "params": {k: number(v) for k, v in trial.params.items()},
        "last_step": trial.last_step,
        "reason": trial.reason,
        "started_at": trial.started_at,
        "finished_at": trial.finished_at,
    }
    if trial.values:
        head["values"] = [number(v) for v in trial.values]
    if trial.violation is not None:
        head["violation"] = number(trial.violation)
    if trial.runs:
        head["run_values"] = {str(k): number(v) for k, v in sorted(trial.run_values.items())}
    parts = [text(head)[:-1], ',"curves":', _texts(trial.curves)]
    if trial.runs:
        runs = ",".join(f'"{run}":{_texts(c)}' for run, c in trial.runs.items())
        parts.append(f',"runs":{{{runs}}}')
    parts.append("}")
    return "".join(parts)


def _texts(curves: Mapping[str, str]) -> str:
    return "{" + ",".join(f"{_name(name)}:{value}" for name, value in curves.items()) + "}"


@functools.lru_cache(maxsize=1024)
def _name(name: str) -> str:
    """A metric's name as a JSON string (the same few names, thousands of times)."""
    return text(name)


def listing_json(row: StudyRow, store: SQLStore, listing: Listing) -> bytes:
    """``{"study", "trials", "cursor"}``: the trials new, running or finished since a cursor
    (every trial on a first load: 2,000 trials x 20 epochs are about 1 MB)."""
    trials = ",".join(listed_text(t) for t in listing.trials)
    cursor = text({"number": listing.cursor.number, "seq": listing.cursor.seq})
    study = text(study_json(row, store))
    return f'{{"study":{study},"trials":[{trials}],"cursor":{cursor}}}'.encode()


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


# One encoder for every answer (json.dumps with options builds a new one per call, which
# shows when a listing writes thousands of small objects).
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def text(data: Any) -> str:
    """Strict JSON (``allow_nan=False`` fails loudly on a NaN that slipped through)."""
    return _ENCODER.encode(data)


def dumps(data: Any) -> bytes:
    return text(data).encode()


__all__ = [
    "dumps",
    "listed_text",
    "listing_json",
    "analysis_json",
    "study_json",
    "trial_json",
    "trial_page_json",
]
